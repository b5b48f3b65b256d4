//! AQL text to a query tree: a tokenizer and a recursive-descent parser with ArangoDB's operator
//! precedence. Syntax errors are ArangoDB's 1501 with the offending text and its line and column.

use crate::error::{ArangoError, ArangoResult, codes};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A name in backticks or forward ticks: never a keyword.
    Quoted(String),
    Str(String),
    Num(f64),
    Bind(String),
    BindColl(String),
    Sym(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset in the query.
    at: usize,
}

const SYMBOLS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "..", "=~", "!~", "(", ")", "[", "]", "{", "}", ",", ".",
    ":", "?", "<", ">", "=", "+", "-", "*", "/", "%", "!",
];

fn syntax_error(query: &str, at: usize, what: &str) -> ArangoError {
    let before = &query[..at.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    let near: String = query[at.min(query.len())..].chars().take(30).collect();
    ArangoError::with_message(
        codes::QUERY_PARSE,
        format!("syntax error, {what} near '{near}' at position {line}:{col}"),
    )
}

fn tokenize(q: &str) -> ArangoResult<Vec<Token>> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            match q[i + 2..].find("*/") {
                Some(e) => i = i + 2 + e + 2,
                None => return Err(syntax_error(q, i, "unterminated comment")),
            }
            continue;
        }
        let at = i;
        if c.is_ascii_digit()
            || (c == b'.'
                && b.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !matches!(
                    out.last(),
                    Some(Token {
                        tok: Tok::Ident(_) | Tok::Quoted(_) | Tok::Sym(")" | "]"),
                        ..
                    })
                ))
        {
            let mut j = i;
            if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'b' | b'B')) {
                let radix = if matches!(b[i + 1], b'x' | b'X') {
                    16
                } else {
                    2
                };
                j += 2;
                while j < b.len() && (b[j] as char).is_digit(radix) {
                    j += 1;
                }
                let v = u64::from_str_radix(&q[i + 2..j], radix)
                    .map_err(|_| syntax_error(q, i, "invalid number"))?;
                out.push(Token {
                    tok: Tok::Num(v as f64),
                    at,
                });
                i = j;
                continue;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            // a fraction, unless it is the range operator `..`
            if j < b.len() && b[j] == b'.' && b.get(j + 1) != Some(&b'.') {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
                let mut k = j + 1;
                if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
                    k += 1;
                }
                if k < b.len() && b[k].is_ascii_digit() {
                    j = k;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            let v: f64 = q[i..j]
                .parse()
                .map_err(|_| syntax_error(q, i, "invalid number"))?;
            out.push(Token {
                tok: Tok::Num(v),
                at,
            });
            i = j;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                let Some(ch) = q[j..].chars().next() else {
                    return Err(syntax_error(q, at, "unterminated string"));
                };
                j += ch.len_utf8();
                if ch as u32 == c as u32 {
                    break;
                }
                if ch == '\\' {
                    let Some(e) = q[j..].chars().next() else {
                        return Err(syntax_error(q, at, "unterminated string"));
                    };
                    j += e.len_utf8();
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let hex = q
                                .get(j..j + 4)
                                .ok_or_else(|| syntax_error(q, j, "invalid escape"))?;
                            let cp = u32::from_str_radix(hex, 16)
                                .map_err(|_| syntax_error(q, j, "invalid escape"))?;
                            j += 4;
                            s.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        other => s.push(other),
                    }
                } else {
                    s.push(ch);
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                at,
            });
            i = j;
            continue;
        }
        if c == b'`' || q[i..].starts_with('\u{b4}') {
            let close = if c == b'`' { "`" } else { "\u{b4}" };
            let start = i + close.len();
            match q[start..].find(close) {
                Some(e) => {
                    out.push(Token {
                        tok: Tok::Quoted(q[start..start + e].to_string()),
                        at,
                    });
                    i = start + e + close.len();
                }
                None => return Err(syntax_error(q, at, "unterminated name")),
            }
            continue;
        }
        if c == b'@' {
            let coll = b.get(i + 1) == Some(&b'@');
            let start = if coll { i + 2 } else { i + 1 };
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j == start {
                return Err(syntax_error(q, at, "invalid bind parameter name"));
            }
            let name = q[start..j].to_string();
            out.push(Token {
                tok: if coll {
                    Tok::BindColl(name)
                } else {
                    Tok::Bind(name)
                },
                at,
            });
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Ident(q[i..j].to_string()),
                at,
            });
            i = j;
            continue;
        }
        match SYMBOLS.iter().find(|s| q[i..].starts_with(**s)) {
            Some(s) => {
                out.push(Token {
                    tok: Tok::Sym(s),
                    at,
                });
                i += s.len();
            }
            None => return Err(syntax_error(q, at, "unexpected character")),
        }
    }
    out.push(Token {
        tok: Tok::End,
        at: q.len(),
    });
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Like,
    NotLike,
    Regex,
    NotRegex,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// `ALL`, `ANY` or `NONE` before a comparison (`[1,2] ALL > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    Var(String),
    Bind(String),
    /// A collection named in the query (or by `@@name`).
    Collection(String),
    BindColl(String),
    Array(Vec<Expr>),
    Object(Vec<(Expr, Expr)>),
    Attr(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Plus(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Quantified(Quantifier, BinOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Option<Box<Expr>>, Box<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    Subquery(Box<Query>),
    /// `a[*]…`: each element through `map` (with `CURRENT`), filtered and limited, or `a[**]` flattened.
    Expand {
        input: Box<Expr>,
        var: String,
        filter: Option<Box<Expr>>,
        limit: Option<(Box<Expr>, Box<Expr>)>,
        map: Option<Box<Expr>>,
        depth: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Aggregate {
    pub var: String,
    pub func: String,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub enum Op {
    For {
        var: String,
        source: Expr,
    },
    Filter(Expr),
    Let {
        var: String,
        expr: Expr,
    },
    Sort(Vec<(Expr, bool)>),
    Limit {
        offset: Expr,
        count: Expr,
    },
    Collect {
        groups: Vec<(String, Expr)>,
        aggregates: Vec<Aggregate>,
        into: Option<(String, Option<Expr>)>,
        count: Option<String>,
    },
    Return {
        distinct: bool,
        expr: Expr,
    },
    /// `INSERT`, `UPDATE`, `REPLACE`, `REMOVE` or `UPSERT`.
    Modify(Box<Modify>),
}

/// Which data-modification operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModKind {
    Insert,
    Update,
    Replace,
    Remove,
    /// `UPSERT search INSERT doc UPDATE|REPLACE doc` (`upsert_replace` says which).
    Upsert,
}

/// A data-modification operation.
#[derive(Debug, Clone)]
pub struct Modify {
    pub kind: ModKind,
    /// `UPDATE|REPLACE key WITH …`, `REMOVE key`, `UPSERT search`.
    pub key: Option<Expr>,
    /// The document: `INSERT doc`, `UPDATE doc` / `… WITH doc`, `UPSERT … INSERT doc`.
    pub doc: Option<Expr>,
    /// `UPSERT … UPDATE|REPLACE doc` (`OLD` is the document found).
    pub upsert_doc: Option<Expr>,
    pub upsert_replace: bool,
    /// `Expr::Collection` or `Expr::BindColl`.
    pub collection: Expr,
    pub options: Option<Expr>,
    /// `NEW` / `OLD` appear after the operation: the store hands the documents back.
    pub want_new: bool,
    pub want_old: bool,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub ops: Vec<Op>,
}

/// The parsed query with the bind parameters it declares.
#[derive(Debug)]
pub struct Parsed {
    pub query: Query,
    pub bind_vars: Vec<String>,
    pub collections: Vec<String>,
    /// The collections the query writes (`Expr::Collection` or `Expr::BindColl`).
    pub writes: Vec<Expr>,
}

struct Parser<'q> {
    q: &'q str,
    toks: Vec<Token>,
    pos: usize,
    binds: Vec<String>,
    collections: Vec<String>,
    writes: Vec<Expr>,
    /// Variables in scope, innermost last.
    scopes: Vec<Vec<String>>,
    expansion_depth: usize,
}

const KEYWORDS: &[&str] = &[
    "FOR",
    "RETURN",
    "FILTER",
    "SORT",
    "LIMIT",
    "LET",
    "COLLECT",
    "INSERT",
    "UPDATE",
    "REPLACE",
    "REMOVE",
    "UPSERT",
    "WITH",
    "INTO",
    "IN",
    "DISTINCT",
    "ASC",
    "DESC",
    "NOT",
    "AND",
    "OR",
    "LIKE",
    "NULL",
    "TRUE",
    "FALSE",
    "AGGREGATE",
    "WINDOW",
    "SEARCH",
    "GRAPH",
    "SHORTEST_PATH",
    "OUTBOUND",
    "INBOUND",
    "ANY",
    "ALL",
    "NONE",
    "PRUNE",
    "OPTIONS",
    "K_SHORTEST_PATHS",
    "K_PATHS",
    "ALL_SHORTEST_PATHS",
];

/// The keywords of graph traversals and path searches; the first four may follow `FOR … IN` directly.
const TRAVERSAL: &[&str] = &[
    "OUTBOUND",
    "INBOUND",
    "ANY",
    "SHORTEST_PATH",
    "K_SHORTEST_PATHS",
    "K_PATHS",
    "ALL_SHORTEST_PATHS",
];

const MODIFICATIONS: &[&str] = &["INSERT", "UPDATE", "REPLACE", "REMOVE", "UPSERT"];

fn keyword(t: &Tok) -> Option<String> {
    match t {
        Tok::Ident(s) => {
            let u = s.to_ascii_uppercase();
            KEYWORDS.contains(&u.as_str()).then_some(u)
        }
        _ => None,
    }
}

impl<'q> Parser<'q> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn err(&self, what: &str) -> ArangoError {
        let t = &self.toks[self.pos];
        let found = match &t.tok {
            Tok::End => "unexpected end of query".to_string(),
            Tok::Str(s) => format!("unexpected quoted string \"{s}\""),
            Tok::Num(_) => "unexpected number".to_string(),
            Tok::Ident(s) if keyword(&t.tok).is_some() => {
                format!("unexpected {} keyword", s.to_ascii_uppercase())
            }
            Tok::Ident(s) | Tok::Quoted(s) => format!("unexpected identifier '{s}'"),
            Tok::Bind(s) => format!("unexpected bind parameter @{s}"),
            Tok::BindColl(s) => format!("unexpected bind parameter @@{s}"),
            Tok::Sym(s) => format!("unexpected '{s}'"),
        };
        let msg = if what.is_empty() {
            found
        } else {
            format!("{found}, {what}")
        };
        syntax_error(self.q, t.at, &msg)
    }

    fn is_kw(&self, k: &str) -> bool {
        keyword(self.peek()).is_some_and(|u| u == k)
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        if self.is_kw(k) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, k: &str) -> ArangoResult<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.err(&format!("expecting {k}")))
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> ArangoResult<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.err(&format!("expecting '{s}'")))
        }
    }

    fn declare(&mut self, name: &str) -> ArangoResult<()> {
        if self.scopes.iter().any(|s| s.iter().any(|v| v == name)) {
            return Err(ArangoError::with_message(
                codes::QUERY_VARIABLE_REDECLARED,
                format!("variable '{name}' is assigned multiple times"),
            ));
        }
        self.scopes
            .last_mut()
            .expect("a scope")
            .push(name.to_string());
        Ok(())
    }

    fn known(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.iter().any(|v| v == name))
    }

    fn variable_name(&mut self) -> ArangoResult<String> {
        match self.peek().clone() {
            Tok::Ident(s) if keyword(self.peek()).is_none() => {
                self.next();
                Ok(s)
            }
            Tok::Quoted(s) => {
                self.next();
                Ok(s)
            }
            _ => Err(self.err("expecting a variable name")),
        }
    }

    fn query(&mut self, top: bool) -> ArangoResult<Query> {
        let mut ops = Vec::new();
        loop {
            let Some(k) = keyword(self.peek()) else {
                if ops.is_empty() || !top {
                    return Err(self.err("expecting a query operation (FOR, LET, RETURN …)"));
                }
                return Err(self.err(""));
            };
            match k.as_str() {
                "FOR" => {
                    self.next();
                    let var = self.variable_name()?;
                    if self.is_sym(",") {
                        return Err(ArangoError::with_message(
                            codes::NOT_IMPLEMENTED,
                            "graph traversals (FOR v, e IN … OUTBOUND …) are not supported by arangorepl's AQL",
                        ));
                    }
                    self.expect_kw("IN")?;
                    // a direction right after IN, or a path keyword after the start vertex
                    self.refuse_traversal(&TRAVERSAL[..4])?;
                    let source = self.expr()?;
                    self.refuse_traversal(TRAVERSAL)?;
                    if self.is_kw("SEARCH") {
                        return Err(ArangoError::with_message(
                            codes::NOT_IMPLEMENTED,
                            "views and SEARCH are not supported by arangorepl's AQL",
                        ));
                    }
                    self.declare(&var)?;
                    ops.push(Op::For { var, source });
                }
                "FILTER" => {
                    self.next();
                    ops.push(Op::Filter(self.expr()?));
                }
                "LET" => {
                    self.next();
                    let var = self.variable_name()?;
                    self.expect_sym("=")?;
                    let expr = self.expr()?;
                    self.declare(&var)?;
                    ops.push(Op::Let { var, expr });
                }
                "SORT" => {
                    self.next();
                    let mut keys = Vec::new();
                    loop {
                        let e = self.expr()?;
                        let asc = if self.eat_kw("DESC") {
                            false
                        } else {
                            self.eat_kw("ASC");
                            true
                        };
                        keys.push((e, asc));
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                    ops.push(Op::Sort(keys));
                }
                "LIMIT" => {
                    self.next();
                    let first = self.expr()?;
                    let (offset, count) = if self.eat_sym(",") {
                        (first, self.expr()?)
                    } else {
                        (Expr::Lit(Value::from(0)), first)
                    };
                    ops.push(Op::Limit { offset, count });
                }
                "COLLECT" => {
                    self.next();
                    ops.push(self.collect()?);
                }
                "RETURN" => {
                    self.next();
                    let distinct = self.eat_kw("DISTINCT");
                    let expr = self.expr()?;
                    ops.push(Op::Return { distinct, expr });
                    return Ok(Query { ops });
                }
                "INSERT" | "UPDATE" | "REPLACE" | "REMOVE" | "UPSERT" => {
                    self.next();
                    ops.push(Op::Modify(Box::new(self.modify(&k)?)));
                    // a modification may end a query, or be followed by what uses NEW and OLD
                    if matches!(self.peek(), Tok::End | Tok::Sym(")")) {
                        return Ok(Query { ops });
                    }
                }
                "WINDOW" => {
                    return Err(ArangoError::with_message(
                        codes::NOT_IMPLEMENTED,
                        "WINDOW is not supported by arangorepl's AQL",
                    ));
                }
                "WITH" if ops.is_empty() && top => {
                    // WITH collection, …: declares collections (a cluster concern)
                    self.next();
                    loop {
                        match self.next() {
                            Tok::Ident(_) | Tok::Quoted(_) | Tok::BindColl(_) => {}
                            _ => return Err(self.err("expecting a collection name")),
                        }
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                _ => return Err(self.err("")),
            }
        }
    }

    /// The rest of a data-modification operation, after its keyword `k`.
    fn modify(&mut self, k: &str) -> ArangoResult<Modify> {
        let kind = match k {
            "INSERT" => ModKind::Insert,
            "UPDATE" => ModKind::Update,
            "REPLACE" => ModKind::Replace,
            "REMOVE" => ModKind::Remove,
            _ => ModKind::Upsert,
        };
        let (mut key, mut doc, mut upsert_doc, mut upsert_replace) = (None, None, None, false);
        // the expression before `IN collection` reads `x IN collection` as one comparison: split it
        let mut target = None;
        let mut before_in = |p: &mut Self| -> ArangoResult<Expr> {
            let e = p.expr()?;
            if p.is_kw("IN") || p.is_kw("INTO") {
                return Ok(e);
            }
            match e {
                Expr::Binary(BinOp::In, l, r)
                    if matches!(*r, Expr::Collection(_) | Expr::BindColl(_)) =>
                {
                    target = Some(*r);
                    Ok(*l)
                }
                other => Ok(other),
            }
        };
        match kind {
            ModKind::Insert => doc = Some(self.expr()?),
            ModKind::Remove => key = Some(before_in(self)?),
            ModKind::Update | ModKind::Replace => {
                let first = before_in(self)?;
                if self.eat_kw("WITH") {
                    key = Some(first);
                    doc = Some(before_in(self)?);
                } else {
                    doc = Some(first);
                }
            }
            ModKind::Upsert => {
                key = Some(self.expr()?);
                self.expect_kw("INSERT")?;
                doc = Some(self.expr()?);
                upsert_replace = if self.eat_kw("REPLACE") {
                    true
                } else {
                    self.expect_kw("UPDATE")?;
                    false
                };
                // OLD, the document found, is visible in the update
                self.scopes.push(vec!["OLD".to_string()]);
                let e = before_in(self);
                self.scopes.pop();
                upsert_doc = Some(e?);
            }
        }
        let collection = match target {
            Some(c) => c,
            None => {
                if !self.eat_kw("IN") && !self.eat_kw("INTO") {
                    return Err(self.err("expecting IN or INTO"));
                }
                let t = self.next();
                let is_keyword = keyword(&t).is_some();
                match t {
                    Tok::Ident(n) | Tok::Quoted(n) if !is_keyword => {
                        if !self.collections.contains(&n) {
                            self.collections.push(n.clone());
                        }
                        Expr::Collection(n)
                    }
                    Tok::BindColl(b) => {
                        self.binds.push(format!("@{b}"));
                        Expr::BindColl(b)
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.err("expecting a collection name"));
                    }
                }
            }
        };
        self.writes.push(collection.clone());
        let options = if self.eat_kw("OPTIONS") {
            let o = self.expr()?;
            if !matches!(o, Expr::Object(_) | Expr::Bind(_)) {
                return Err(ArangoError::with_message(
                    codes::QUERY_COMPILE_TIME_OPTIONS,
                    "the OPTIONS of a data-modification operation must be an object",
                ));
            }
            Some(o)
        } else {
            None
        };
        // NEW and OLD are wanted when they are named anywhere after the operation
        let rest = &self.toks[self.pos..];
        let named = |w: &str| {
            rest.iter()
                .any(|t| matches!(&t.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(w)))
        };
        let (want_new, want_old) = (named("NEW"), named("OLD") || kind == ModKind::Upsert);
        let scope = self.scopes.last_mut().expect("a scope");
        for v in ["NEW", "OLD"] {
            if !scope.iter().any(|x| x == v) {
                scope.push(v.to_string());
            }
        }
        Ok(Modify {
            kind,
            key,
            doc,
            upsert_doc,
            upsert_replace,
            collection,
            options,
            want_new,
            want_old,
        })
    }

    /// 501 / 9 when one of `keywords` (see `TRAVERSAL`) is next: a graph traversal.
    fn refuse_traversal(&self, keywords: &[&str]) -> ArangoResult<()> {
        if keywords.iter().any(|k| self.is_kw(k)) {
            return Err(ArangoError::with_message(
                codes::NOT_IMPLEMENTED,
                "graph traversals and shortest paths are not supported by arangorepl's AQL",
            ));
        }
        Ok(())
    }

    fn collect(&mut self) -> ArangoResult<Op> {
        let mut groups = Vec::new();
        let mut aggregates = Vec::new();
        let mut into = None;
        let mut count = None;
        let mut declared = Vec::new();
        if !self.is_kw("WITH") && !self.is_kw("AGGREGATE") && !self.is_kw("INTO") {
            loop {
                let var = self.variable_name()?;
                self.expect_sym("=")?;
                let e = self.expr()?;
                declared.push(var.clone());
                groups.push((var, e));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kw("AGGREGATE") {
            loop {
                let var = self.variable_name()?;
                self.expect_sym("=")?;
                let e = self.expr()?;
                let Expr::Call(func, mut args) = e else {
                    return Err(self.err("expecting an aggregate function call"));
                };
                if args.len() != 1 {
                    return Err(ArangoError::with_message(
                        codes::QUERY_FUNCTION_ARGUMENT_NUMBER_MISMATCH,
                        format!("invalid number of arguments for function '{func}()'"),
                    ));
                }
                declared.push(var.clone());
                aggregates.push(Aggregate {
                    var,
                    func,
                    expr: args.remove(0),
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kw("INTO") {
            let var = self.variable_name()?;
            let proj = if self.eat_sym("=") {
                Some(self.expr()?)
            } else {
                None
            };
            declared.push(var.clone());
            into = Some((var, proj));
        } else if self.eat_kw("WITH") {
            match self.next() {
                Tok::Ident(s) if s.eq_ignore_ascii_case("COUNT") => {}
                _ => return Err(self.err("expecting COUNT")),
            }
            self.expect_kw("INTO")?;
            let var = self.variable_name()?;
            declared.push(var.clone());
            count = Some(var);
        }
        // after COLLECT only its own variables are visible (and those declared before, as ArangoDB)
        for v in declared {
            self.declare(&v)?;
        }
        Ok(Op::Collect {
            groups,
            aggregates,
            into,
            count,
        })
    }

    fn expr(&mut self) -> ArangoResult<Expr> {
        self.ternary()
    }

    fn ternary(&mut self) -> ArangoResult<Expr> {
        let cond = self.binary(0)?;
        if self.eat_sym("?") {
            if self.eat_sym(":") {
                let other = self.ternary()?;
                return Ok(Expr::Ternary(Box::new(cond), None, Box::new(other)));
            }
            let then = self.ternary()?;
            self.expect_sym(":")?;
            let other = self.ternary()?;
            return Ok(Expr::Ternary(
                Box::new(cond),
                Some(Box::new(then)),
                Box::new(other),
            ));
        }
        Ok(cond)
    }

    /// The binary operator at the cursor with its precedence level (higher binds tighter).
    fn bin_op(&self) -> Option<(BinOp, u8, usize)> {
        let t = self.peek();
        let op = match t {
            Tok::Sym("||") => (BinOp::Or, 1, 1),
            Tok::Sym("&&") => (BinOp::And, 2, 1),
            Tok::Sym("==") => (BinOp::Eq, 3, 1),
            Tok::Sym("!=") => (BinOp::Ne, 3, 1),
            Tok::Sym("=~") => (BinOp::Regex, 3, 1),
            Tok::Sym("!~") => (BinOp::NotRegex, 3, 1),
            Tok::Sym("<") => (BinOp::Lt, 4, 1),
            Tok::Sym("<=") => (BinOp::Le, 4, 1),
            Tok::Sym(">") => (BinOp::Gt, 4, 1),
            Tok::Sym(">=") => (BinOp::Ge, 4, 1),
            Tok::Sym("+") => (BinOp::Add, 7, 1),
            Tok::Sym("-") => (BinOp::Sub, 7, 1),
            Tok::Sym("*") => (BinOp::Mul, 8, 1),
            Tok::Sym("/") => (BinOp::Div, 8, 1),
            Tok::Sym("%") => (BinOp::Mod, 8, 1),
            _ => match keyword(t).as_deref() {
                Some("OR") => (BinOp::Or, 1, 1),
                Some("AND") => (BinOp::And, 2, 1),
                Some("IN") => (BinOp::In, 5, 1),
                Some("LIKE") => (BinOp::Like, 3, 1),
                Some("NOT") => match keyword(self.peek_at(1)).as_deref() {
                    Some("IN") => (BinOp::NotIn, 5, 2),
                    Some("LIKE") => (BinOp::NotLike, 3, 2),
                    _ => return None,
                },
                _ => return None,
            },
        };
        Some(op)
    }

    fn binary(&mut self, min: u8) -> ArangoResult<Expr> {
        let mut left = self.range()?;
        loop {
            // ALL/ANY/NONE before a comparison operator
            let quant = match keyword(self.peek()).as_deref() {
                Some("ALL") => Some(Quantifier::All),
                Some("ANY") => Some(Quantifier::Any),
                Some("NONE") => Some(Quantifier::None),
                _ => None,
            };
            if let Some(qf) = quant {
                let save = self.pos;
                self.next();
                match self.bin_op() {
                    Some((op, prec, n))
                        if prec >= min.max(3)
                            && matches!(
                                op,
                                BinOp::Eq
                                    | BinOp::Ne
                                    | BinOp::Lt
                                    | BinOp::Le
                                    | BinOp::Gt
                                    | BinOp::Ge
                                    | BinOp::In
                                    | BinOp::NotIn
                            ) =>
                    {
                        for _ in 0..n {
                            self.next();
                        }
                        let right = self.binary(prec + 1)?;
                        left = Expr::Quantified(qf, op, Box::new(left), Box::new(right));
                        continue;
                    }
                    _ => {
                        self.pos = save;
                        break;
                    }
                }
            }
            let Some((op, prec, n)) = self.bin_op() else {
                break;
            };
            if prec < min {
                break;
            }
            for _ in 0..n {
                self.next();
            }
            let right = self.binary(prec + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn range(&mut self) -> ArangoResult<Expr> {
        let left = self.unary()?;
        if self.eat_sym("..") {
            let right = self.unary()?;
            return Ok(Expr::Range(Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn unary(&mut self) -> ArangoResult<Expr> {
        if self.eat_sym("!") || self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_sym("+") {
            return Ok(Expr::Plus(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> ArangoResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat_sym(".") {
                let name = match self.next() {
                    Tok::Ident(s) | Tok::Quoted(s) | Tok::Str(s) => s,
                    Tok::Bind(b) => {
                        self.binds.push(b.clone());
                        e = Expr::Index(Box::new(e), Box::new(Expr::Bind(b)));
                        continue;
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.err("expecting an attribute name"));
                    }
                };
                e = Expr::Attr(Box::new(e), name);
            } else if self.is_sym("[") {
                // [*] / [**] expansion
                if matches!(self.peek_at(1), Tok::Sym("*")) {
                    let mut depth = 0;
                    self.next();
                    while self.eat_sym("*") {
                        depth += 1;
                    }
                    e = self.expansion(e, depth)?;
                    continue;
                }
                self.next();
                let idx = self.expr()?;
                self.expect_sym("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn expansion(&mut self, input: Expr, depth: usize) -> ArangoResult<Expr> {
        self.expansion_depth += 1;
        let var = "CURRENT".to_string();
        self.scopes.push(vec![var.clone()]);
        let mut filter = None;
        let mut limit = None;
        let mut map = None;
        let r = (|| -> ArangoResult<()> {
            // inline FILTER / LIMIT / RETURN inside the brackets
            if depth == 1 {
                if self.eat_kw("FILTER") {
                    filter = Some(Box::new(self.expr()?));
                }
                if self.eat_kw("LIMIT") {
                    let first = self.expr()?;
                    limit = Some(if self.eat_sym(",") {
                        (Box::new(first), Box::new(self.expr()?))
                    } else {
                        (Box::new(Expr::Lit(Value::from(0))), Box::new(first))
                    });
                }
                if self.eat_kw("RETURN") {
                    map = Some(Box::new(self.expr()?));
                }
            }
            self.expect_sym("]")?;
            if depth == 1 && map.is_none() {
                // a path after [*] applies to each element
                if self.is_sym(".")
                    || (self.is_sym("[") && !matches!(self.peek_at(1), Tok::Sym("*")))
                {
                    // a[*].b.c: the path is applied to each element
                    let mut m = Expr::Var(var.clone());
                    loop {
                        if self.eat_sym(".") {
                            let name = match self.next() {
                                Tok::Ident(s) | Tok::Quoted(s) | Tok::Str(s) => s,
                                _ => return Err(self.err("expecting an attribute name")),
                            };
                            m = Expr::Attr(Box::new(m), name);
                        } else if self.is_sym("[") && !matches!(self.peek_at(1), Tok::Sym("*")) {
                            self.next();
                            let idx = self.expr()?;
                            self.expect_sym("]")?;
                            m = Expr::Index(Box::new(m), Box::new(idx));
                        } else if self.is_sym("[") && matches!(self.peek_at(2), Tok::Sym("*")) {
                            // [**] flattens what the expansion collected, not each element
                            break;
                        } else if self.is_sym("[") {
                            // a nested expansion on each element
                            self.next();
                            let mut d = 0;
                            while self.eat_sym("*") {
                                d += 1;
                            }
                            m = self.expansion(m, d)?;
                        } else {
                            break;
                        }
                    }
                    map = Some(Box::new(m));
                }
            }
            Ok(())
        })();
        self.scopes.pop();
        self.expansion_depth -= 1;
        r?;
        Ok(Expr::Expand {
            input: Box::new(input),
            var,
            filter,
            limit,
            map,
            depth,
        })
    }

    fn primary(&mut self) -> ArangoResult<Expr> {
        let t = self.next();
        match t {
            Tok::Num(n) => Ok(Expr::Lit(crate::aql::value::num(n))),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Bind(b) => {
                self.binds.push(b.clone());
                Ok(Expr::Bind(b))
            }
            Tok::BindColl(b) => {
                self.binds.push(format!("@{b}"));
                Ok(Expr::BindColl(b))
            }
            Tok::Sym("(") => {
                let e = if ["FOR", "LET", "RETURN", "COLLECT"]
                    .iter()
                    .chain(MODIFICATIONS)
                    .any(|k| self.is_kw(k))
                {
                    self.scopes.push(Vec::new());
                    let q = self.query(false);
                    self.scopes.pop();
                    Expr::Subquery(Box::new(q?))
                } else {
                    self.expr()?
                };
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym("[") => {
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.expect_sym(",")?;
                        if self.eat_sym("]") {
                            break;
                        }
                    }
                }
                Ok(Expr::Array(items))
            }
            Tok::Sym("{") => {
                let mut items = Vec::new();
                if !self.eat_sym("}") {
                    loop {
                        let key_tok = self.next();
                        let (key, shorthand) = match key_tok {
                            Tok::Ident(s) | Tok::Quoted(s) => {
                                (Expr::Lit(Value::String(s.clone())), Some(s))
                            }
                            Tok::Str(s) => (Expr::Lit(Value::String(s)), None),
                            Tok::Num(n) => (
                                Expr::Lit(Value::String(crate::aql::value::to_string(
                                    &crate::aql::value::num(n),
                                ))),
                                None,
                            ),
                            Tok::Bind(b) => {
                                self.binds.push(b.clone());
                                (Expr::Bind(b), None)
                            }
                            Tok::Sym("[") => {
                                let k = self.expr()?;
                                self.expect_sym("]")?;
                                (k, None)
                            }
                            _ => {
                                self.pos -= 1;
                                return Err(self.err("expecting an attribute name"));
                            }
                        };
                        let value = if self.eat_sym(":") {
                            self.expr()?
                        } else if let Some(name) = shorthand {
                            // { name } is { name: name }
                            Expr::Var(name)
                        } else {
                            return Err(self.err("expecting ':'"));
                        };
                        items.push((key, value));
                        if self.eat_sym("}") {
                            break;
                        }
                        self.expect_sym(",")?;
                        if self.eat_sym("}") {
                            break;
                        }
                    }
                }
                Ok(Expr::Object(items))
            }
            Tok::Ident(ref s) => {
                match keyword(&t).as_deref() {
                    // LIKE is a function too
                    Some("LIKE") if self.is_sym("(") => {}
                    Some("NULL") => return Ok(Expr::Lit(Value::Null)),
                    Some("TRUE") => return Ok(Expr::Lit(Value::Bool(true))),
                    Some("FALSE") => return Ok(Expr::Lit(Value::Bool(false))),
                    Some(_) => {
                        self.pos -= 1;
                        return Err(self.err(""));
                    }
                    None => {}
                }
                let mut name = s.clone();
                // namespaced function names (NS::FUNC)
                while matches!(self.peek(), Tok::Sym(":"))
                    && matches!(self.peek_at(1), Tok::Sym(":"))
                {
                    self.next();
                    self.next();
                    match self.next() {
                        Tok::Ident(p) => {
                            name.push_str("::");
                            name.push_str(&p);
                        }
                        _ => return Err(self.err("expecting a function name")),
                    }
                }
                if self.eat_sym("(") {
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        loop {
                            // a subquery may stand as an argument without parentheses of its own
                            if self.is_kw("FOR") || self.is_kw("LET") {
                                self.scopes.push(Vec::new());
                                let q = self.query(false);
                                self.scopes.pop();
                                args.push(Expr::Subquery(Box::new(q?)));
                            } else {
                                args.push(self.expr()?);
                            }
                            if self.eat_sym(")") {
                                break;
                            }
                            self.expect_sym(",")?;
                        }
                    }
                    return Ok(Expr::Call(name.to_ascii_uppercase(), args));
                }
                Ok(self.name(name))
            }
            Tok::Quoted(s) => Ok(self.name(s)),
            _ => {
                self.pos -= 1;
                Err(self.err(""))
            }
        }
    }

    /// A bare name: a variable in scope, else a collection.
    fn name(&mut self, name: String) -> Expr {
        if self.known(&name) || (self.expansion_depth > 0 && name == "CURRENT") {
            Expr::Var(name)
        } else {
            if !self.collections.contains(&name) {
                self.collections.push(name.clone());
            }
            Expr::Collection(name)
        }
    }
}

/// Parses a query.
pub fn parse(q: &str) -> ArangoResult<Parsed> {
    if q.trim().is_empty() {
        return Err(ArangoError::with_message(
            codes::QUERY_EMPTY,
            "query is empty",
        ));
    }
    let toks = tokenize(q)?;
    let mut p = Parser {
        q,
        toks,
        pos: 0,
        binds: Vec::new(),
        collections: Vec::new(),
        writes: Vec::new(),
        scopes: vec![Vec::new()],
        expansion_depth: 0,
    };
    let query = p.query(true)?;
    if !matches!(p.peek(), Tok::End) {
        return Err(p.err(""));
    }
    let mut bind_vars = p.binds;
    bind_vars.sort();
    bind_vars.dedup();
    Ok(Parsed {
        query,
        bind_vars,
        collections: p.collections,
        writes: p.writes,
    })
}
