//! Runs a parsed query over one store snapshot: each operation turns the rows (variable bindings) of
//! the one before into its own, as ArangoDB's execution nodes do one after the other.

use crate::aql::functions::call;
use crate::aql::modify::Rest;
use crate::aql::parse::{BinOp, Expr, Op, Quantifier, Query};
use crate::aql::plan;
use crate::aql::usage::{self, Need};
use crate::aql::value::{
    as_f64, attribute, compare, equal, index, like, num, to_number, to_string, truthy,
};
use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::clock::Clock;
use crate::store::{Snapshot, StreamTrx};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// Collections at least this large are scanned by two threads (see `Context::parallel_scan`).
const PARALLEL_SCAN_MIN: u64 = 50_000;

/// A key between `a` and `b` (`a < b`) that splits their range about in two: after their common
/// prefix, the mean of the next eight bytes of each read as numbers, cut at the first byte outside
/// ASCII (raised to 0x7f: keys are ASCII); else, when that does not fall strictly between them, the
/// middle of the first byte in which they differ.
fn midpoint(a: &str, b: &str) -> Option<String> {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let p = x.iter().zip(y).take_while(|(u, v)| u == v).count();
    let number = |s: &[u8]| {
        (0..8).fold(0u128, |n, i| {
            (n << 8) | u128::from(s.get(p + i).copied().unwrap_or(0))
        })
    };
    let mean = (number(x) + number(y)) / 2;
    let mut out = x[..p].to_vec();
    for i in (0..8).rev() {
        let byte = (mean >> (8 * i)) as u8;
        if byte >= 0x80 {
            out.push(0x7f);
            break;
        }
        out.push(byte);
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    let between = |m: &String| m.as_str() > a && m.as_str() < b;
    if let Some(m) = String::from_utf8(out).ok().filter(between) {
        return Some(m);
    }
    let ca = x.get(p).copied().unwrap_or(0) as u32;
    let cb = *y.get(p)? as u32;
    let mut out = x[..p].to_vec();
    out.push(((ca + cb) / 2) as u8);
    String::from_utf8(out).ok().filter(between)
}

/// Variable bindings of one row.
pub type Row = Vec<(Arc<str>, Value)>;

/// A `FOR` loop with the operations run as each element comes (see `Context::run_ops`).
struct Looped<'q> {
    name: Arc<str>,
    fused: &'q [Op],
    skip: usize,
    take: usize,
    /// Elements that passed the fused filters (`fullCount`).
    passed: u64,
    /// Go on after the `LIMIT` is reached, to count for `fullCount`.
    count_all: bool,
    /// What the loop reads of each document first: what the rest of the query reads of the loop
    /// variable, less `late`.
    need: Need,
    /// The attributes read only after the fused filters: picked for the documents that pass them.
    late: Vec<String>,
    /// The `COLLECT` right after the loop, fed row by row instead of `out`.
    grouper: Option<Grouper<'q>>,
    /// The row being built for the current element.
    scratch: Row,
    out: Vec<Row>,
}

/// What a query runs against.
pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub db: &'a str,
    pub bind: &'a Map<String, Value>,
    /// Documents scanned (for `extra.stats.scannedFull`).
    pub scanned: u64,
    /// Documents read through an index (`extra.stats.scannedIndex`).
    pub scanned_index: u64,
    pub filtered: u64,
    /// Rows before the last `LIMIT` of the outermost query (`fullCount`).
    pub full_count: Option<u64>,
    /// `fullCount` was asked for: a `LIMIT` does not end the outermost loop early.
    pub want_full_count: bool,
    /// How deep in subqueries the current operation runs (1: the query itself).
    pub depth: usize,
    /// The transaction a query that writes (or runs in a stream transaction) reads and writes through.
    pub(crate) writes: Option<Writes<'a>>,
    pub writes_executed: u64,
    pub writes_ignored: u64,
    /// What each `FOR` (by address) needs of its variable, first and after its filters.
    pub(crate) needs: HashMap<usize, (Need, Vec<String>)>,
}

/// A query's transaction and the clock its writes take revisions from.
pub(crate) struct Writes<'a> {
    pub trx: &'a mut StreamTrx,
    pub clock: &'a Clock,
}

/// The id of collection `name` of database `db`, or ArangoDB's 1203 as a query reports it.
pub(crate) fn collection_id(snap: &Snapshot, db: &str, name: &str) -> ArangoResult<u64> {
    snap.catalog()
        .collection(db, name)
        .map(|c| c.id)
        .map_err(|_| {
            ArangoError::with_message(
                codes::ARANGO_DATA_SOURCE_NOT_FOUND,
                format!("collection or view not found: {name}"),
            )
        })
}

/// The collection `@@name` binds: 1551 when nothing is bound to it, 1553 when not a name.
pub(crate) fn bound_collection(bind: &Map<String, Value>, name: &str) -> ArangoResult<String> {
    match bind.get(&format!("@{name}")) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ArangoError::with_message(
            codes::QUERY_BIND_PARAMETER_TYPE,
            format!("bind parameter '@{name}' has an invalid value or type"),
        )),
        None => Err(ArangoError::with_message(
            codes::QUERY_BIND_PARAMETER_MISSING,
            format!("no value specified for declared bind parameter '@{name}'"),
        )),
    }
}

/// The collection `e` names (`c` or `@@c`), if it names one.
pub(crate) fn collection_name(bind: &Map<String, Value>, e: &Expr) -> ArangoResult<Option<String>> {
    match e {
        Expr::Collection(n) => Ok(Some(n.clone())),
        Expr::BindColl(b) => bound_collection(bind, b).map(Some),
        _ => Ok(None),
    }
}

fn lookup<'r>(row: &'r Row, name: &str) -> Option<&'r Value> {
    row.iter().rev().find(|(n, _)| &**n == name).map(|(_, v)| v)
}

/// The value of `v.a.b…` in `row` without copying, when `e` is such a path on a bound variable.
fn path_ref<'r>(e: &Expr, row: &'r Row) -> Option<&'r Value> {
    match e {
        Expr::Var(n) => lookup(row, n),
        Expr::Attr(b, name) => path_ref(b, row).map(|v| attribute(v, name)),
        _ => None,
    }
}

fn unknown_variable(name: &str) -> ArangoError {
    ArangoError::with_message(
        codes::QUERY_VARIABLE_NAME_UNKNOWN,
        format!("unknown variable '{name}'"),
    )
}

impl Context<'_> {
    /// A collection's documents, in key order.
    fn collection(&mut self, name: &str) -> ArangoResult<Vec<Value>> {
        let cid = collection_id(self.snap, self.db, name)?;
        let mut out = Vec::new();
        self.scan(cid, &Need::All, |_, d| {
            out.push(d);
            Ok(true)
        })?;
        self.scanned += out.len() as u64;
        Ok(out)
    }

    fn bind_value(&self, name: &str) -> ArangoResult<Value> {
        self.bind.get(name).cloned().ok_or_else(|| {
            ArangoError::with_message(
                codes::QUERY_BIND_PARAMETER_MISSING,
                format!("no value specified for declared bind parameter '{name}'"),
            )
        })
    }

    /// Evaluates an expression in a row.
    pub fn eval(&mut self, e: &Expr, row: &Row) -> ArangoResult<Value> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Var(n) => lookup(row, n).cloned().ok_or_else(|| unknown_variable(n))?,
            Expr::Bind(n) => self.bind_value(n)?,
            Expr::Collection(n) => Value::Array(self.collection(n)?),
            Expr::BindColl(n) => {
                let name = bound_collection(self.bind, n)?;
                Value::Array(self.collection(&name)?)
            }
            Expr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.eval(i, row))
                    .collect::<ArangoResult<_>>()?,
            ),
            Expr::Object(items) => {
                let mut m = Map::with_capacity(items.len());
                for (k, v) in items {
                    let key = match k {
                        Expr::Lit(Value::String(s)) => s.clone(),
                        _ => to_string(&self.eval(k, row)?),
                    };
                    let value = self.eval(v, row)?;
                    m.insert(key, value);
                }
                Value::Object(m)
            }
            Expr::Attr(base, name) => {
                // a path on a variable reads the row in place instead of copying the document
                if let Some(v) = path_ref(base, row) {
                    return Ok(attribute(v, name).clone());
                }
                let b = self.eval(base, row)?;
                attribute(&b, name).clone()
            }
            Expr::Index(base, i) => {
                let b = self.eval(base, row)?;
                let i = self.eval(i, row)?;
                index(&b, &i)
            }
            Expr::Not(x) => Value::Bool(!truthy(&self.eval(x, row)?)),
            Expr::Neg(x) => num(-to_number(&self.eval(x, row)?)),
            Expr::Plus(x) => num(to_number(&self.eval(x, row)?)),
            Expr::Binary(BinOp::And, a, b) => {
                let l = self.eval(a, row)?;
                if !truthy(&l) { l } else { self.eval(b, row)? }
            }
            Expr::Binary(BinOp::Or, a, b) => {
                let l = self.eval(a, row)?;
                if truthy(&l) { l } else { self.eval(b, row)? }
            }
            Expr::Binary(op, a, b) => {
                let l = self.eval(a, row)?;
                let r = self.eval(b, row)?;
                binary(*op, &l, &r)?
            }
            Expr::Quantified(q, op, a, b) => {
                let l = self.eval(a, row)?;
                let r = self.eval(b, row)?;
                let Value::Array(items) = l else {
                    return Ok(Value::Bool(false));
                };
                let mut hits = 0usize;
                for it in &items {
                    if truthy(&binary(*op, it, &r)?) {
                        hits += 1;
                    }
                }
                Value::Bool(match q {
                    Quantifier::All => hits == items.len(),
                    Quantifier::Any => hits > 0,
                    Quantifier::None => hits == 0,
                })
            }
            Expr::Ternary(c, then, other) => {
                let cv = self.eval(c, row)?;
                if truthy(&cv) {
                    match then {
                        Some(t) => self.eval(t, row)?,
                        None => cv,
                    }
                } else {
                    self.eval(other, row)?
                }
            }
            Expr::Range(a, b) => {
                let lo = to_number(&self.eval(a, row)?) as i64;
                let hi = to_number(&self.eval(b, row)?) as i64;
                let n = (hi - lo).unsigned_abs() + 1;
                if n > 10_000_000 {
                    return Err(ArangoError::with_message(
                        codes::QUERY_NUMBER_OUT_OF_RANGE,
                        "range too large",
                    ));
                }
                if lo <= hi {
                    Value::Array((lo..=hi).map(Value::from).collect())
                } else {
                    Value::Array((hi..=lo).rev().map(Value::from).collect())
                }
            }
            Expr::Call(name, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.eval(a, row))
                    .collect::<ArangoResult<Vec<_>>>()?;
                call(self, name, vals)?
            }
            Expr::Subquery(q) => Value::Array(self.run(q, vec![row.clone()])?),
            Expr::Expand {
                input,
                var,
                filter,
                limit,
                map,
                depth,
            } => {
                let v = self.eval(input, row)?;
                let Value::Array(items) = v else {
                    return Ok(Value::Array(Vec::new()));
                };
                let mut items = items;
                if *depth > 1 {
                    for _ in 1..*depth {
                        items = items
                            .into_iter()
                            .flat_map(|i| match i {
                                Value::Array(a) => a,
                                other => vec![other],
                            })
                            .collect();
                    }
                }
                let name: Arc<str> = Arc::from(var.as_str());
                let mut out = Vec::new();
                let (mut skip, mut take) = (0u64, u64::MAX);
                if let Some((o, c)) = limit {
                    skip = to_number(&self.eval(o, row)?).max(0.0) as u64;
                    take = to_number(&self.eval(c, row)?).max(0.0) as u64;
                }
                for it in items {
                    let mut r = row.clone();
                    r.push((name.clone(), it));
                    if let Some(f) = filter
                        && !truthy(&self.eval(f, &r)?)
                    {
                        continue;
                    }
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    if take == 0 {
                        break;
                    }
                    take -= 1;
                    out.push(match map {
                        Some(m) => self.eval(m, &r)?,
                        None => r.pop().map(|(_, v)| v).unwrap_or(Value::Null),
                    });
                }
                Value::Array(out)
            }
        })
    }

    /// Runs `q` on the rows `rows`; returns what its `RETURN` returns.
    pub fn run(&mut self, q: &Query, rows: Vec<Row>) -> ArangoResult<Vec<Value>> {
        self.depth += 1;
        let r = self.run_ops(q, rows);
        self.depth -= 1;
        r
    }

    fn run_ops(&mut self, q: &Query, mut rows: Vec<Row>) -> ArangoResult<Vec<Value>> {
        let ops = &q.ops;
        // the variables of the enclosing query, which stay visible after a COLLECT
        let outer: Row = if ops.iter().any(|o| matches!(o, Op::Collect { .. })) {
            rows.first().cloned().unwrap_or_default()
        } else {
            Row::new()
        };
        let mut i = 0;
        while i < ops.len() {
            let op = &ops[i];
            i += 1;
            match op {
                Op::For { var, source } => {
                    // the FILTERs and LETs right after the loop run as each element comes, and a
                    // LIMIT after them ends it: a collection is read as a stream, and no more of it
                    // than the LIMIT needs
                    let after = i;
                    let mut j = i;
                    while j < ops.len() && matches!(ops[j], Op::Filter(_) | Op::Let { .. }) {
                        j += 1;
                    }
                    let fused = &ops[i..j];
                    // the index the loop reads, if any; when it yields the order of the SORT after
                    // the filters (one loop, not per outer row), that SORT is done by it
                    let sort = match ops.get(j) {
                        Some(Op::Sort(keys)) => Some(keys.as_slice()),
                        _ => None,
                    };
                    let ordered = rows.len() <= 1 && self.writes.is_none();
                    let access = match self.loop_collection(source)? {
                        Some((_, cid)) => {
                            let snap = self.snap;
                            snap.catalog()
                                .collections
                                .get(&cid)
                                .and_then(|def| plan::access(var, fused, sort, ordered, def))
                        }
                        None => None,
                    };
                    if sort.is_some() && access.as_ref().is_some_and(plan::Access::sorted) {
                        j += 1;
                    }
                    let limit = match ops.get(j) {
                        Some(Op::Limit { offset, count }) => {
                            Some(self.limit_values(offset, count)?)
                        }
                        _ => None,
                    };
                    i = if limit.is_some() { j + 1 } else { j };
                    // a COLLECT right after the loop takes each row as it comes
                    let grouper = match (limit, ops.get(j)) {
                        (
                            None,
                            Some(Op::Collect {
                                groups,
                                aggregates,
                                into,
                                count,
                            }),
                        ) => {
                            i = j + 1;
                            Some(Grouper::new(
                                groups,
                                aggregates,
                                into,
                                count,
                                outer.clone(),
                            )?)
                        }
                        _ => None,
                    };
                    // `FOR d IN c COLLECT WITH COUNT INTO n`: the collection's own count
                    if let (Some(Op::Collect { count: Some(n), .. }), Some((_, cid))) =
                        (ops.get(j), self.loop_collection(source)?)
                        && grouper.as_ref().is_some_and(|g| {
                            g.groups.is_empty() && g.aggregates.is_empty() && g.into.is_none()
                        })
                        && fused.is_empty()
                        && rows.len() == 1
                        && self.writes.is_none()
                    {
                        let total = self.snap.stats(cid)?.count;
                        let mut row = rows.pop().unwrap_or_default();
                        row.push((Arc::from(n.as_str()), Value::from(total)));
                        rows = vec![row];
                        continue;
                    }
                    let (need, late) = self.need_of(op, var, fused, &ops[after..]);
                    let mut looped = Looped {
                        name: Arc::from(var.as_str()),
                        fused,
                        skip: limit.map_or(0, |l| l.0),
                        take: limit.map_or(usize::MAX, |l| l.1),
                        passed: 0,
                        count_all: self.want_full_count && self.depth == 1,
                        need,
                        late,
                        grouper,
                        scratch: Row::new(),
                        out: Vec::new(),
                    };
                    for row in &rows {
                        if !self.for_each_element(source, access.as_ref(), row, &mut looped)? {
                            break;
                        }
                    }
                    if limit.is_some() && self.depth == 1 {
                        self.full_count = Some(looped.passed);
                    }
                    rows = match looped.grouper.take() {
                        Some(g) => self.group_finish(g)?,
                        None => looped.out,
                    };
                }
                Op::Filter(e) => {
                    let before = rows.len();
                    let mut kept = Vec::with_capacity(rows.len());
                    for row in rows {
                        if truthy(&self.eval(e, &row)?) {
                            kept.push(row);
                        }
                    }
                    self.filtered += (before - kept.len()) as u64;
                    rows = kept;
                }
                Op::Let { var, expr } => {
                    let name: Arc<str> = Arc::from(var.as_str());
                    for row in rows.iter_mut() {
                        let v = self.eval(expr, row)?;
                        row.push((name.clone(), v));
                    }
                }
                Op::Sort(keys) => {
                    let mut keyed = Vec::with_capacity(rows.len());
                    for row in rows {
                        let k = keys
                            .iter()
                            .map(|(e, _)| self.eval(e, &row))
                            .collect::<ArangoResult<Vec<_>>>()?;
                        keyed.push((k, row));
                    }
                    keyed.sort_by(|(a, _), (b, _)| {
                        for (i, (_, asc)) in keys.iter().enumerate() {
                            let c = compare(&a[i], &b[i]);
                            let c = if *asc { c } else { c.reverse() };
                            if c != Ordering::Equal {
                                return c;
                            }
                        }
                        Ordering::Equal
                    });
                    rows = keyed.into_iter().map(|(_, r)| r).collect();
                }
                Op::Limit { offset, count } => {
                    let (o, c) = self.limit_values(offset, count)?;
                    if self.depth == 1 {
                        self.full_count = Some(rows.len() as u64);
                    }
                    rows = rows.into_iter().skip(o).take(c).collect();
                }
                Op::Collect {
                    groups,
                    aggregates,
                    into,
                    count,
                } => {
                    let g = Grouper::new(groups, aggregates, into, count, outer.clone())?;
                    rows = self.collect(rows, g)?;
                }
                Op::Modify(m) => {
                    rows = self.modify(m, rows)?;
                }
                Op::Return { distinct, expr } => {
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let v = self.eval(expr, row)?;
                        if *distinct && out.iter().any(|x| equal(x, &v)) {
                            continue;
                        }
                        out.push(v);
                    }
                    return Ok(out);
                }
            }
        }
        Ok(Vec::new())
    }

    /// A `LIMIT`'s offset and count (null: no offset, no limit — python-arango's `all()` sends
    /// `LIMIT 0, null`).
    fn limit_values(&mut self, offset: &Expr, count: &Expr) -> ArangoResult<(usize, usize)> {
        let empty = Row::new();
        let o = self.eval(offset, &empty)?;
        let c = self.eval(count, &empty)?;
        let value = |v: &Value, none: usize| -> ArangoResult<usize> {
            match v {
                Value::Null => Ok(none),
                Value::Number(_) if as_f64(v) >= 0.0 && as_f64(v).fract() == 0.0 => {
                    Ok(as_f64(v).min(usize::MAX as f64) as usize)
                }
                _ => Err(ArangoError::with_message(
                    codes::QUERY_NUMBER_OUT_OF_RANGE,
                    "LIMIT value is not a number or out of range",
                )),
            }
        };
        Ok((value(&o, 0)?, value(&c, usize::MAX)?))
    }

    /// What `ops` read of loop variable `var` of `FOR` operation `op` (worked out once per query): what
    /// each document is read for first, and the attributes only read once it passed the `fused`
    /// filters (which then most documents never need).
    fn need_of(&mut self, op: &Op, var: &str, fused: &[Op], ops: &[Op]) -> (Need, Vec<String>) {
        let at = op as *const Op as usize;
        if let Some(n) = self.needs.get(&at) {
            return n.clone();
        }
        let whole = usage::need(var, ops);
        let n = match (&whole, usage::need(var, fused)) {
            (Need::Attrs(all), Need::Attrs(first))
                if fused.iter().any(|o| matches!(o, Op::Filter(_))) =>
            {
                let late: Vec<String> =
                    all.iter().filter(|a| !first.contains(a)).cloned().collect();
                (Need::Attrs(first), late)
            }
            _ => (whole, Vec::new()),
        };
        self.needs.insert(at, n.clone());
        n
    }

    /// The collection a `FOR` reads (name and id), when its source names one.
    fn loop_collection(&self, source: &Expr) -> ArangoResult<Option<(String, u64)>> {
        let Some(name) = collection_name(self.bind, source)? else {
            return Ok(None);
        };
        let cid = collection_id(self.snap, self.db, &name)?;
        Ok(Some((name, cid)))
    }

    /// One `FOR` over `source` in `row`, each element through the loop's fused operations; false once
    /// the loop needs no more.
    fn for_each_element(
        &mut self,
        source: &Expr,
        access: Option<&plan::Access<'_>>,
        row: &Row,
        looped: &mut Looped<'_>,
    ) -> ArangoResult<bool> {
        if let Some((name, cid)) = self.loop_collection(source)? {
            if let Some(access) = access {
                if let plan::Access::Secondary { .. } = access {
                    if let Some(more) = self.secondary_loop(access, row, cid, looped)? {
                        return Ok(more);
                    }
                } else if let Some(keys) = self.index_keys(access, row, cid, &name)? {
                    for k in keys {
                        if let Some(d) = self.document(cid, &k)? {
                            self.scanned_index += 1;
                            if !self.element(row, d, None, looped)? {
                                return Ok(false);
                            }
                        }
                    }
                    return Ok(true);
                }
            }
            let mut more = true;
            let (need, late) = (looped.need.clone(), looped.late.clone());
            if let Some(more) = self.parallel_scan(cid, &need, &late, row, looped)? {
                return Ok(more);
            }
            self.scan_between(cid, &need, &late, None, None, |this, d, rest| {
                this.scanned += 1;
                more = this.element(row, d, Some(rest), looped)?;
                Ok(more)
            })?;
            return Ok(more);
        }
        let items = match self.eval(source, row)? {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            other => {
                return Err(ArangoError::with_message(
                    codes::QUERY_ARRAY_EXPECTED,
                    format!(
                        "collection or array expected as operand to FOR loop; you provided a value of type '{}'",
                        crate::aql::value::type_name(&other)
                    ),
                ));
            }
        };
        for it in items {
            if !self.element(row, it, None, looped)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The keys of the documents an index finds for `access` in `row` (in key order), or `None` when
    /// it cannot answer here (the query's own writes to a unique index are not in it yet).
    fn index_keys(
        &mut self,
        access: &plan::Access<'_>,
        row: &Row,
        cid: u64,
        coll: &str,
    ) -> ArangoResult<Option<Vec<String>>> {
        let key_of = |v: &Value, id: bool| -> Option<String> {
            let Value::String(s) = v else { return None };
            if !id {
                return Some(s.clone());
            }
            match s.split_once('/') {
                Some((c, k)) if c == coll => Some(k.to_string()),
                _ => None,
            }
        };
        Ok(Some(match access {
            plan::Access::Key { value, id } => {
                let v = self.eval(value, row)?;
                key_of(&v, *id).into_iter().collect()
            }
            plan::Access::Keys { values, id } => match self.eval(values, row)? {
                Value::Array(a) => {
                    let mut keys: Vec<String> = a.iter().filter_map(|v| key_of(v, *id)).collect();
                    keys.sort();
                    keys.dedup();
                    keys
                }
                _ => Vec::new(),
            },
            plan::Access::Secondary { .. } | plan::Access::KeyOrder => return Ok(None),
            plan::Access::Unique {
                iid,
                sparse,
                values,
                ..
            } => {
                if self
                    .writes
                    .as_ref()
                    .is_some_and(|w| !w.trx.overlay(cid).is_empty())
                {
                    return Ok(None);
                }
                let mut vals = Vec::with_capacity(values.len());
                for e in values {
                    vals.push(self.eval(e, row)?);
                }
                if *sparse && vals.iter().any(Value::is_null) {
                    return Ok(None);
                }
                let mut enc = String::from("[");
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        enc.push(',');
                    }
                    crate::store::index::canonical(v, &mut enc);
                }
                enc.push(']');
                self.snap
                    .unique_get(cid, *iid, enc.as_bytes())?
                    .into_iter()
                    .collect()
            }
        }))
    }

    /// A loop through a secondary index: the documents whose entries lie in the range the loop's
    /// filters give, in the index's order; `None` when the index cannot answer here (a null where a
    /// sparse index holds none, or the query's own writes, not in the index yet).
    fn secondary_loop(
        &mut self,
        access: &plan::Access<'_>,
        row: &Row,
        cid: u64,
        looped: &mut Looped<'_>,
    ) -> ArangoResult<Option<bool>> {
        let plan::Access::Secondary {
            index,
            eq,
            lo,
            hi,
            any,
            desc,
            ..
        } = access
        else {
            return Ok(None);
        };
        if self
            .writes
            .as_ref()
            .is_some_and(|w| !w.trx.overlay(cid).is_empty())
        {
            return Ok(None);
        }
        let sparse = index.secondary.sparse;
        let mut prefix = Vec::new();
        for e in eq {
            let v = self.eval(e, row)?;
            if sparse && v.is_null() {
                return Ok(None);
            }
            crate::store::index::sortable(&v, &mut prefix);
        }
        let mut from = prefix.clone();
        if let Some((e, inclusive)) = lo {
            let v = self.eval(e, row)?;
            if sparse && v.is_null() && *inclusive {
                return Ok(None);
            }
            crate::store::index::sortable(&v, &mut from);
            if !inclusive {
                from.push(0xFF);
            }
        }
        let to = match hi {
            Some((e, inclusive)) => {
                let mut to = prefix.clone();
                crate::store::index::sortable(&self.eval(e, row)?, &mut to);
                if *inclusive {
                    to.push(0xFF);
                }
                Some(to)
            }
            None if prefix.is_empty() => None,
            None => {
                let mut to = prefix.clone();
                to.push(0xFF);
                Some(to)
            }
        };
        let ranges = match any {
            None => vec![(from, to)],
            Some(list) => {
                // `x IN y` holds for no document when `y` is not an array
                let Value::Array(values) = self.eval(list, row)? else {
                    return Ok(Some(true));
                };
                if sparse && values.iter().any(Value::is_null) {
                    return Ok(None);
                }
                // each value once, in the index's order: a document has one entry per index, so no
                // document is found twice
                let mut starts: Vec<Vec<u8>> = values
                    .iter()
                    .map(|v| {
                        let mut p = prefix.clone();
                        crate::store::index::sortable(v, &mut p);
                        p
                    })
                    .collect();
                starts.sort();
                starts.dedup();
                starts
                    .into_iter()
                    .map(|p| {
                        let mut to = p.clone();
                        to.push(0xFF);
                        (p, Some(to))
                    })
                    .collect()
            }
        };
        let snap = self.snap;
        let iid = index.secondary.iid;
        let mut more = true;
        let mut failed = None;
        for (from, to) in ranges {
            snap.for_each_index_entry(cid, iid, &from, to.as_deref(), *desc, |key| {
                let r = snap.document(cid, key).and_then(|d| match d {
                    Some(d) => {
                        self.scanned_index += 1;
                        self.element(row, d, None, looped)
                    }
                    None => Ok(true),
                });
                match r {
                    Ok(m) => {
                        more = m;
                        m
                    }
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            if !more || failed.is_some() {
                break;
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(Some(more)),
        }
    }

    /// A whole-collection loop read by two threads, one per half of the key range, when the machine
    /// has the cores, the collection is large, and the loop keeps every row (no `LIMIT`, no
    /// `COLLECT`, no writes): the rows come out in key order as from one thread. `None` when not.
    fn parallel_scan(
        &mut self,
        cid: u64,
        need: &Need,
        late: &[String],
        row: &Row,
        looped: &mut Looped<'_>,
    ) -> ArangoResult<Option<bool>> {
        if self.writes.is_some()
            || looped.take != usize::MAX
            || looped.skip != 0
            || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2
            || self.snap.stats(cid)?.count < PARALLEL_SCAN_MIN
        {
            return Ok(None);
        }
        let Some((first, last)) = self.snap.key_bounds(cid)? else {
            return Ok(None);
        };
        let Some(mid) = midpoint(&first, &last) else {
            return Ok(None);
        };
        let (snap, db, bind, depth) = (self.snap, self.db, self.bind, self.depth);
        // its own copy of the name: the rows take a reference each, and one count shared by two
        // threads would bounce between their cores
        let (name, fused) = (Arc::<str>::from(&*looped.name), looped.fused);
        let grouper = looped.grouper.as_ref().map(Grouper::empty_like);
        let mid = mid.as_str();
        let (mine, theirs) = std::thread::scope(|s| {
            let other = s.spawn(move || -> ArangoResult<_> {
                let mut ctx = Context {
                    snap,
                    db,
                    bind,
                    scanned: 0,
                    scanned_index: 0,
                    filtered: 0,
                    full_count: None,
                    want_full_count: false,
                    depth,
                    writes: None,
                    writes_executed: 0,
                    writes_ignored: 0,
                    needs: HashMap::new(),
                };
                let mut half = Looped {
                    name,
                    fused,
                    skip: 0,
                    take: usize::MAX,
                    passed: 0,
                    count_all: false,
                    need: need.clone(),
                    late: Vec::new(),
                    grouper,
                    scratch: Row::new(),
                    out: Vec::new(),
                };
                ctx.scan_between(cid, need, late, Some(mid), None, |this, d, rest| {
                    this.scanned += 1;
                    this.element(row, d, Some(rest), &mut half)
                })?;
                Ok((
                    half.out,
                    half.grouper,
                    half.passed,
                    ctx.scanned,
                    ctx.filtered,
                ))
            });
            let mine = self.scan_between(cid, need, late, None, Some(mid), |this, d, rest| {
                this.scanned += 1;
                this.element(row, d, Some(rest), looped)
            });
            (mine, other.join())
        });
        mine?;
        let (out, grouped, passed, scanned, filtered) =
            theirs.map_err(|_| ArangoError::internal("a scan thread panicked"))??;
        looped.out.extend(out);
        if let (Some(g), Some(other)) = (looped.grouper.as_mut(), grouped) {
            g.merge(other);
        }
        looped.passed += passed;
        self.scanned += scanned;
        self.filtered += filtered;
        Ok(Some(true))
    }

    /// One element of a `FOR` loop: bound, through the fused `FILTER`s and `LET`s, completed with what
    /// the scan left unread (`rest`), skipped or kept as the `LIMIT` says; false once the loop needs
    /// no more.
    fn element(
        &mut self,
        row: &Row,
        it: Value,
        rest: Option<&Rest<'_>>,
        looped: &mut Looped<'_>,
    ) -> ArangoResult<bool> {
        // the row is built in the loop's scratch row, whose allocation a filtered-out element leaves
        // for the next one
        let mut r = std::mem::take(&mut looped.scratch);
        r.clear();
        r.extend(row.iter().cloned());
        r.push((looped.name.clone(), it));
        for op in looped.fused {
            if let Op::Let { var, expr } = op {
                let v = self.eval(expr, &r)?;
                r.push((Arc::from(var.as_str()), v));
            } else if let Op::Filter(e) = op
                && !truthy(&self.eval(e, &r)?)
            {
                self.filtered += 1;
                looped.scratch = r;
                return Ok(true);
            }
        }
        looped.passed += 1;
        if let Some(rest) = rest {
            rest.complete(&mut r[row.len()].1)?;
        }
        if let Some(g) = looped.grouper.as_mut() {
            self.group_add(g, &r)?;
            looped.scratch = r;
        } else if looped.skip > 0 {
            looped.skip -= 1;
            looped.scratch = r;
        } else if looped.take > 0 {
            looped.take -= 1;
            looped.out.push(r);
        }
        Ok(looped.take > 0 || looped.count_all)
    }

    fn collect(&mut self, rows: Vec<Row>, mut g: Grouper<'_>) -> ArangoResult<Vec<Row>> {
        for row in &rows {
            self.group_add(&mut g, row)?;
        }
        self.group_finish(g)
    }

    /// Adds a row to its group.
    fn group_add(&mut self, g: &mut Grouper<'_>, row: &Row) -> ArangoResult<()> {
        let at = if g.groups.is_empty() {
            if g.keys.is_empty() {
                g.open(Vec::new());
            }
            0
        } else {
            let key = g
                .groups
                .iter()
                .map(|(_, e)| self.eval(e, row))
                .collect::<ArangoResult<Vec<_>>>()?;
            let text =
                serde_json::to_string(&canonical(&Value::Array(key.clone()))).unwrap_or_default();
            match g.index.get(&text) {
                Some(i) => *i,
                None => {
                    let i = g.open(key);
                    g.index.insert(text, i);
                    i
                }
            }
        };
        g.counts[at] += 1;
        for (k, a) in g.aggregates.iter().enumerate() {
            let v = self.eval(&a.expr, row)?;
            g.accs[at][k].add(v);
        }
        if let Some((_, proj)) = g.into {
            let v = match proj {
                Some(p) => self.eval(p, row)?,
                None => {
                    // every variable of the row before the COLLECT
                    let mut o = Map::new();
                    for (n, v) in row {
                        o.insert(n.to_string(), v.clone());
                    }
                    Value::Object(o)
                }
            };
            g.members[at].push(v);
        }
        Ok(())
    }

    /// The groups' rows, sorted by their keys (as ArangoDB's sorted COLLECT).
    fn group_finish(&mut self, mut g: Grouper<'_>) -> ArangoResult<Vec<Row>> {
        if g.keys.is_empty() && g.groups.is_empty() {
            // an aggregation over nothing still has one result
            g.open(Vec::new());
        }
        let mut order: Vec<usize> = (0..g.keys.len()).collect();
        order.sort_by(|a, b| compare_keys(&g.keys[*a], &g.keys[*b]));
        let mut keys: Vec<Option<Vec<Value>>> = g.keys.into_iter().map(Some).collect();
        let mut accs: Vec<Option<Vec<Acc>>> = g.accs.into_iter().map(Some).collect();
        let mut members: Vec<Option<Vec<Value>>> = g.members.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(order.len());
        for i in order {
            let mut row: Row = g.outer.clone();
            let key = keys[i].take().unwrap_or_default();
            for ((name, _), v) in g.groups.iter().zip(key) {
                row.push((Arc::from(name.as_str()), v));
            }
            for (a, acc) in g.aggregates.iter().zip(accs[i].take().unwrap_or_default()) {
                row.push((Arc::from(a.var.as_str()), acc.finish()));
            }
            if let Some(c) = g.count {
                row.push((Arc::from(c.as_str()), Value::from(g.counts[i])));
            }
            if let Some((name, _)) = g.into {
                let list = members[i].take().unwrap_or_default();
                row.push((Arc::from(name.as_str()), Value::Array(list)));
            }
            out.push(row);
        }
        Ok(out)
    }
}

fn compare_keys(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = compare(x, y);
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// A `COLLECT` as rows come: the groups in order of first appearance, with their counts, aggregate
/// accumulators and `INTO` values.
pub(crate) struct Grouper<'q> {
    groups: &'q [(String, Expr)],
    aggregates: &'q [crate::aql::parse::Aggregate],
    into: &'q Option<(String, Option<Expr>)>,
    count: &'q Option<String>,
    /// The enclosing query's variables, the start of each group's row.
    outer: Row,
    keys: Vec<Vec<Value>>,
    index: HashMap<String, usize>,
    counts: Vec<u64>,
    /// Each aggregate's state before any row: what each new group starts with.
    fresh: Vec<Acc>,
    accs: Vec<Vec<Acc>>,
    members: Vec<Vec<Value>>,
}

impl<'q> Grouper<'q> {
    fn new(
        groups: &'q [(String, Expr)],
        aggregates: &'q [crate::aql::parse::Aggregate],
        into: &'q Option<(String, Option<Expr>)>,
        count: &'q Option<String>,
        outer: Row,
    ) -> ArangoResult<Self> {
        // an unknown aggregate function fails before any row is read
        let fresh = aggregates
            .iter()
            .map(|a| Acc::new(&a.func))
            .collect::<ArangoResult<_>>()?;
        Ok(Grouper {
            groups,
            aggregates,
            into,
            count,
            outer,
            keys: Vec::new(),
            index: HashMap::new(),
            counts: Vec::new(),
            fresh,
            accs: Vec::new(),
            members: Vec::new(),
        })
    }

    /// A grouper for the same `COLLECT`, with no rows yet (for a second thread).
    fn empty_like(&self) -> Grouper<'q> {
        Grouper {
            groups: self.groups,
            aggregates: self.aggregates,
            into: self.into,
            count: self.count,
            outer: self.outer.clone(),
            keys: Vec::new(),
            index: HashMap::new(),
            counts: Vec::new(),
            fresh: self.fresh.clone(),
            accs: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Takes in the groups of `other`, which saw rows after this one's.
    fn merge(&mut self, other: Grouper<'q>) {
        let mut texts: Vec<Option<String>> = vec![None; other.keys.len()];
        for (t, i) in other.index {
            texts[i] = Some(t);
        }
        let parts = other
            .keys
            .into_iter()
            .zip(texts)
            .zip(other.counts)
            .zip(other.accs)
            .zip(other.members);
        for ((((key, text), count), accs), members) in parts {
            let at = match text {
                Some(t) => match self.index.get(&t) {
                    Some(i) => *i,
                    None => {
                        let i = self.open(key);
                        self.index.insert(t, i);
                        i
                    }
                },
                // no group keys: the one group
                None => {
                    if self.keys.is_empty() {
                        self.open(key);
                    }
                    0
                }
            };
            self.counts[at] += count;
            for (mine, theirs) in self.accs[at].iter_mut().zip(accs) {
                mine.merge(theirs);
            }
            self.members[at].extend(members);
        }
    }

    fn open(&mut self, key: Vec<Value>) -> usize {
        self.keys.push(key);
        self.counts.push(0);
        self.accs.push(self.fresh.clone());
        self.members.push(Vec::new());
        self.keys.len() - 1
    }
}

/// One aggregate's state within a group.
#[derive(Clone)]
enum Acc {
    Count(u64),
    Sum(f64),
    Average(f64, u64),
    Min(Option<Value>),
    Max(Option<Value>),
    /// The values, for the aggregates that need them all.
    Values(Collected, Vec<Value>),
}

/// What an aggregate over all values makes of them.
#[derive(Clone, Copy)]
enum Collected {
    Push,
    Unique,
    SortedUnique,
    CountDistinct,
}

impl Acc {
    /// The state of aggregate function `func` before any row; 1540 for a function `COLLECT` cannot
    /// aggregate with.
    fn new(func: &str) -> ArangoResult<Acc> {
        let f = func.to_ascii_uppercase();
        Ok(match f.as_str() {
            "LENGTH" | "COUNT" => Acc::Count(0),
            "SUM" => Acc::Sum(0.0),
            "AVERAGE" | "AVG" => Acc::Average(0.0, 0),
            "MIN" => Acc::Min(None),
            "MAX" => Acc::Max(None),
            "PUSH" => Acc::Values(Collected::Push, Vec::new()),
            "UNIQUE" => Acc::Values(Collected::Unique, Vec::new()),
            "SORTED_UNIQUE" => Acc::Values(Collected::SortedUnique, Vec::new()),
            "COUNT_DISTINCT" | "COUNT_UNIQUE" => Acc::Values(Collected::CountDistinct, Vec::new()),
            _ => {
                return Err(ArangoError::with_message(
                    codes::QUERY_FUNCTION_NAME_UNKNOWN,
                    format!("usage of unknown function '{f}()' in an aggregate expression"),
                ));
            }
        })
    }

    fn add(&mut self, v: Value) {
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum(s) => {
                if !v.is_null() {
                    *s += to_number(&v);
                }
            }
            Acc::Average(s, n) => {
                if !v.is_null() {
                    *s += to_number(&v);
                    *n += 1;
                }
            }
            Acc::Min(m) => {
                if !v.is_null() && m.as_ref().is_none_or(|x| compare(&v, x) == Ordering::Less) {
                    *m = Some(v);
                }
            }
            Acc::Max(m) => {
                if m.as_ref()
                    .is_none_or(|x| compare(&v, x) == Ordering::Greater)
                {
                    *m = Some(v);
                }
            }
            Acc::Values(_, list) => list.push(v),
        }
    }

    /// Takes in the same aggregate's state over other rows.
    fn merge(&mut self, other: Acc) {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Sum(a), Acc::Sum(b)) => *a += b,
            (Acc::Average(s, n), Acc::Average(s2, n2)) => {
                *s += s2;
                *n += n2;
            }
            (Acc::Min(a), Acc::Min(Some(b)))
                if a.as_ref().is_none_or(|x| compare(&b, x) == Ordering::Less) =>
            {
                *a = Some(b);
            }
            (Acc::Max(a), Acc::Max(Some(b)))
                if a.as_ref()
                    .is_none_or(|x| compare(&b, x) == Ordering::Greater) =>
            {
                *a = Some(b);
            }
            (Acc::Values(_, a), Acc::Values(_, b)) => a.extend(b),
            _ => {}
        }
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::from(n),
            Acc::Sum(s) => num(s),
            Acc::Average(_, 0) => Value::Null,
            Acc::Average(s, n) => num(s / n as f64),
            Acc::Min(m) | Acc::Max(m) => m.unwrap_or(Value::Null),
            Acc::Values(Collected::Push, list) => Value::Array(list),
            Acc::Values(what, list) => {
                // the distinct values other than null
                let mut out: Vec<Value> = Vec::new();
                for v in list {
                    if !v.is_null() && !out.iter().any(|x| equal(x, &v)) {
                        out.push(v);
                    }
                }
                match what {
                    Collected::CountDistinct => Value::from(out.len()),
                    Collected::SortedUnique => {
                        out.sort_by(compare);
                        Value::Array(out)
                    }
                    _ => Value::Array(out),
                }
            }
        }
    }
}

/// A value with numbers normalized, so that `1` and `1.0` group together.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Number(_) => num(as_f64(v)),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

/// A binary operator on two values (`AND`/`OR` short-circuit in [`Context::eval`]).
pub fn binary(op: BinOp, l: &Value, r: &Value) -> ArangoResult<Value> {
    Ok(match op {
        BinOp::Eq => Value::Bool(equal(l, r)),
        BinOp::Ne => Value::Bool(!equal(l, r)),
        BinOp::Lt => Value::Bool(compare(l, r) == Ordering::Less),
        BinOp::Le => Value::Bool(compare(l, r) != Ordering::Greater),
        BinOp::Gt => Value::Bool(compare(l, r) == Ordering::Greater),
        BinOp::Ge => Value::Bool(compare(l, r) != Ordering::Less),
        BinOp::In | BinOp::NotIn => {
            let found = match r {
                Value::Array(a) => a.iter().any(|x| equal(x, l)),
                _ => false,
            };
            Value::Bool(found == (op == BinOp::In))
        }
        BinOp::Like | BinOp::NotLike => {
            let m = like(&to_string(l), &to_string(r), false);
            Value::Bool(m == (op == BinOp::Like))
        }
        BinOp::Regex | BinOp::NotRegex => {
            let re = crate::aql::functions::regex(&to_string(r), false)?;
            Value::Bool(re.is_match(&to_string(l)) == (op == BinOp::Regex))
        }
        BinOp::Add => num(to_number(l) + to_number(r)),
        BinOp::Sub => num(to_number(l) - to_number(r)),
        BinOp::Mul => num(to_number(l) * to_number(r)),
        BinOp::Div => {
            let d = to_number(r);
            if d == 0.0 {
                Value::Null
            } else {
                num(to_number(l) / d)
            }
        }
        BinOp::Mod => {
            let d = to_number(r);
            if d == 0.0 {
                Value::Null
            } else {
                num(to_number(l) % d)
            }
        }
        BinOp::And | BinOp::Or => unreachable!("short-circuited in eval"),
    })
}

#[cfg(test)]
mod tests {
    use super::midpoint;

    #[test]
    fn midpoint_lies_between() {
        for (a, b) in [
            ("doc00000000", "doc00999999"),
            ("a", "b"),
            ("k09", "k10"),
            ("1", "999"),
            ("abc", "abcd"),
            ("x~", "y"),
        ] {
            if let Some(m) = midpoint(a, b) {
                assert!(a < m.as_str() && m.as_str() < b, "{a} {m} {b}");
            }
        }
        // digits split in the middle: doc000… to doc004… before, doc005… after
        let m = midpoint("doc00000000", "doc00999999").unwrap();
        assert!(
            m.as_str() > "doc00499999" && m.as_str() < "doc00500000",
            "{m:?}"
        );
        let m = midpoint("0", "9999").unwrap();
        assert!(m.as_str() > "0" && m.as_str() < "9999", "{m:?}");
        assert!(midpoint("a", "a").is_none());
    }
}
