//! Index use: which index a `FOR` over a collection reads instead of scanning it. The `FILTER`s right
//! after the loop are split at `AND`; a part `v._key == x`, `v._id == x` or `v._key IN x` uses the
//! primary index, and equality on every field of a unique persistent index uses that index, where `x`
//! does not depend on the loop. The filters still run on each document found, so an index only
//! narrows what is read.

use crate::aql::parse::{BinOp, Expr, Op};
use crate::store::CollectionDef;

/// How a loop reads its collection.
#[derive(Debug)]
pub enum Access<'q> {
    /// `_key == x` (or `_id == x`, with `id` set).
    Key { value: &'q Expr, id: bool },
    /// `_key IN x` (or `_id IN x`).
    Keys { values: &'q Expr, id: bool },
    /// Equality on each field of unique index `iid`, in the index's field order.
    Unique {
        iid: u64,
        name: String,
        fields: Vec<String>,
        sparse: bool,
        values: Vec<&'q Expr>,
    },
}

impl Access<'_> {
    /// The index as `POST /_api/explain` lists it.
    pub fn to_json(&self, def: &CollectionDef) -> serde_json::Value {
        match self {
            Access::Key { .. } | Access::Keys { .. } => serde_json::json!({
                "id": "0", "type": "primary", "name": "primary", "fields": ["_key"],
                "unique": true, "sparse": false, "selectivityEstimate": 1,
            }),
            Access::Unique {
                iid,
                name,
                fields,
                sparse,
                ..
            } => serde_json::json!({
                "id": iid.to_string(), "type": "persistent", "name": name, "fields": fields,
                "unique": true, "sparse": sparse, "selectivityEstimate": 1,
                "collection": def.name,
            }),
        }
    }
}

/// The dotted attribute path `a.b` of `v.a.b`, when `e` is one on variable `var`.
fn path_on(e: &Expr, var: &str) -> Option<String> {
    match e {
        Expr::Attr(base, name) => match &**base {
            Expr::Var(v) if v == var => Some(name.clone()),
            inner => path_on(inner, var).map(|p| format!("{p}.{name}")),
        },
        _ => None,
    }
}

/// Whether `e` can be computed before the loop: it names none of `vars` and holds no subquery.
fn independent(e: &Expr, vars: &[&str]) -> bool {
    let all = |xs: &[Expr]| xs.iter().all(|x| independent(x, vars));
    match e {
        Expr::Lit(_) | Expr::Bind(_) | Expr::BindColl(_) => true,
        Expr::Collection(_) | Expr::Subquery(_) | Expr::Expand { .. } => false,
        Expr::Var(v) => !vars.contains(&v.as_str()),
        Expr::Array(xs) => all(xs),
        Expr::Object(kv) => kv
            .iter()
            .all(|(k, v)| independent(k, vars) && independent(v, vars)),
        Expr::Attr(b, _) | Expr::Not(b) | Expr::Neg(b) | Expr::Plus(b) => independent(b, vars),
        Expr::Index(a, b)
        | Expr::Binary(_, a, b)
        | Expr::Quantified(_, _, a, b)
        | Expr::Range(a, b) => independent(a, vars) && independent(b, vars),
        Expr::Ternary(c, t, o) => {
            independent(c, vars)
                && t.as_ref().is_none_or(|t| independent(t, vars))
                && independent(o, vars)
        }
        Expr::Call(name, args) => {
            // functions whose answer changes from call to call must run per document
            !matches!(
                name.as_str(),
                "RAND" | "RANDOM" | "UUID" | "DATE_NOW" | "FAIL" | "SLEEP"
            ) && all(args)
        }
    }
}

fn conjuncts<'q>(e: &'q Expr, out: &mut Vec<&'q Expr>) {
    match e {
        Expr::Binary(BinOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// The index loop `var` over `def` uses, given the operations fused into it.
pub fn access<'q>(var: &str, fused: &'q [Op], def: &CollectionDef) -> Option<Access<'q>> {
    let mut vars = vec![var];
    let mut parts = Vec::new();
    for op in fused {
        match op {
            Op::Filter(e) => conjuncts(e, &mut parts),
            Op::Let { var, .. } => vars.push(var.as_str()),
            _ => {}
        }
    }
    // (attribute path, operator, the other side)
    let mut conds: Vec<(String, BinOp, &Expr)> = Vec::new();
    for p in parts {
        let Expr::Binary(op @ (BinOp::Eq | BinOp::In), a, b) = p else {
            continue;
        };
        if let Some(path) = path_on(a, var)
            && independent(b, &vars)
        {
            conds.push((path, *op, b));
        } else if *op == BinOp::Eq
            && let Some(path) = path_on(b, var)
            && independent(a, &vars)
        {
            conds.push((path, *op, a));
        }
    }
    for (path, op, value) in &conds {
        let id = match path.as_str() {
            "_key" => false,
            "_id" => true,
            _ => continue,
        };
        return Some(match op {
            BinOp::Eq => Access::Key { value, id },
            _ => Access::Keys { values: value, id },
        });
    }
    for idx in def.indexes.iter().filter(|i| i.unique) {
        let values: Option<Vec<&Expr>> = idx
            .fields
            .iter()
            .map(|f| {
                conds
                    .iter()
                    .find(|(p, op, _)| p == f && *op == BinOp::Eq)
                    .map(|(_, _, v)| *v)
            })
            .collect();
        if let Some(values) = values {
            return Some(Access::Unique {
                iid: idx.id,
                name: idx.name.clone(),
                fields: idx.fields.clone(),
                sparse: idx.sparse,
                values,
            });
        }
    }
    None
}
