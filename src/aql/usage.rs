//! What of a loop variable the rest of a query reads: nothing (`COLLECT WITH COUNT INTO n`), some
//! top-level attributes (`FILTER d.age == 3 RETURN d._key`), or the whole document. A loop over a
//! collection then parses from each stored document only what is read.

use crate::aql::parse::{Expr, Op, Query};

/// What the rest of a query reads of a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// These top-level attributes only.
    Attrs(Vec<String>),
    All,
}

impl Need {
    fn attr(&mut self, name: &str) {
        match self {
            Need::Nothing => *self = Need::Attrs(vec![name.to_string()]),
            Need::Attrs(a) => {
                if !a.iter().any(|x| x == name) {
                    a.push(name.to_string());
                }
            }
            Need::All => {}
        }
    }
}

/// What `ops` (and the subqueries in them) read of variable `var`.
pub fn need(var: &str, ops: &[Op]) -> Need {
    let mut n = Need::Nothing;
    for op in ops {
        op_need(var, op, &mut n);
        if n == Need::All {
            break;
        }
    }
    n
}

fn query_need(var: &str, q: &Query, n: &mut Need) {
    for op in &q.ops {
        op_need(var, op, n);
    }
}

fn op_need(var: &str, op: &Op, n: &mut Need) {
    match op {
        Op::For { source, .. } => expr_need(var, source, n),
        Op::Filter(e) => expr_need(var, e, n),
        Op::Let { expr, .. } => expr_need(var, expr, n),
        Op::Sort(keys) => keys.iter().for_each(|(e, _)| expr_need(var, e, n)),
        Op::Limit { offset, count } => {
            expr_need(var, offset, n);
            expr_need(var, count, n);
        }
        Op::Collect {
            groups,
            aggregates,
            into,
            ..
        } => {
            groups.iter().for_each(|(_, e)| expr_need(var, e, n));
            aggregates.iter().for_each(|a| expr_need(var, &a.expr, n));
            match into {
                // INTO without a projection keeps every variable of each row
                Some((_, None)) => *n = Need::All,
                Some((_, Some(e))) => expr_need(var, e, n),
                None => {}
            }
        }
        Op::Return { expr, .. } => expr_need(var, expr, n),
        Op::Modify(m) => {
            for e in [&m.key, &m.doc, &m.upsert_doc, &m.options]
                .into_iter()
                .flatten()
            {
                expr_need(var, e, n);
            }
        }
    }
}

fn expr_need(var: &str, e: &Expr, n: &mut Need) {
    match e {
        Expr::Var(v) => {
            if v == var {
                *n = Need::All;
            }
        }
        Expr::Attr(base, name) if matches!(&**base, Expr::Var(v) if v == var) => n.attr(name),
        Expr::Index(base, i)
            if matches!(&**base, Expr::Var(v) if v == var)
                && matches!(&**i, Expr::Lit(serde_json::Value::String(_))) =>
        {
            if let Expr::Lit(serde_json::Value::String(s)) = &**i {
                n.attr(s);
            }
        }
        Expr::Lit(_) | Expr::Bind(_) | Expr::Collection(_) | Expr::BindColl(_) => {}
        Expr::Array(xs) | Expr::Call(_, xs) => xs.iter().for_each(|x| expr_need(var, x, n)),
        Expr::Object(kv) => kv.iter().for_each(|(k, v)| {
            expr_need(var, k, n);
            expr_need(var, v, n);
        }),
        Expr::Attr(b, _) | Expr::Not(b) | Expr::Neg(b) | Expr::Plus(b) => expr_need(var, b, n),
        Expr::Index(a, b)
        | Expr::Binary(_, a, b)
        | Expr::Quantified(_, _, a, b)
        | Expr::Range(a, b) => {
            expr_need(var, a, n);
            expr_need(var, b, n);
        }
        Expr::Ternary(c, t, o) => {
            expr_need(var, c, n);
            if let Some(t) = t {
                expr_need(var, t, n);
            }
            expr_need(var, o, n);
        }
        Expr::Subquery(q) => query_need(var, q, n),
        Expr::Expand {
            input,
            filter,
            limit,
            map,
            ..
        } => {
            expr_need(var, input, n);
            for x in [filter, map].into_iter().flatten() {
                expr_need(var, x, n);
            }
            if let Some((a, b)) = limit {
                expr_need(var, a, n);
                expr_need(var, b, n);
            }
        }
    }
}
