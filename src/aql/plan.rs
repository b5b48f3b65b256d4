//! Index use: which index a `FOR` over a collection reads instead of scanning it. The `FILTER`s right
//! after the loop are split at `AND`; a part `v._key == x`, `v._id == x` or `v._key IN x` uses the
//! primary index, equality on every field of a unique persistent index uses that index, and a
//! non-unique persistent (or edge) index serves equality on its first fields, then a range or an `IN`
//! list on the next one — where `x` does not depend on the loop. The filters still run on each
//! document found, so an index only narrows what is read.

use crate::aql::parse::{BinOp, Expr, Op};
use crate::store::CollectionDef;
use crate::store::index::{EDGE_FROM_IID, EDGE_TO_IID, Secondary, secondary_indexes};

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
    /// A secondary index (non-unique persistent, or an edge collection's `_from`/`_to`): equality on
    /// its first fields, then at most a range on the next one, or a list of values (`IN`) for it; read
    /// in the index's order (descending with `desc`), which is the `SORT` after the loop when `sorted`.
    Secondary {
        index: Index,
        eq: Vec<&'q Expr>,
        lo: Option<(&'q Expr, bool)>,
        hi: Option<(&'q Expr, bool)>,
        any: Option<&'q Expr>,
        sorted: bool,
        desc: bool,
    },
    /// No filter an index serves, but the `SORT` after the loop is by `_key` ascending: the
    /// collection's own order.
    KeyOrder,
}

/// A secondary index as the planner sees it.
#[derive(Debug, Clone)]
pub struct Index {
    pub secondary: Secondary,
    pub name: String,
    pub itype: &'static str,
}

impl Access<'_> {
    /// Whether the loop produces its documents in the order of the `SORT` after it.
    pub fn sorted(&self) -> bool {
        matches!(
            self,
            Access::KeyOrder | Access::Secondary { sorted: true, .. }
        )
    }
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
            Access::Secondary { index, .. } => serde_json::json!({
                "id": if index.itype == "edge" { "1".to_string() } else { index.secondary.iid.to_string() },
                "type": index.itype, "name": index.name, "fields": index.secondary.fields,
                "unique": false, "sparse": index.secondary.sparse, "collection": def.name,
            }),
            Access::KeyOrder => serde_json::json!({
                "id": "0", "type": "primary", "name": "primary", "fields": ["_key"],
                "unique": true, "sparse": false, "selectivityEstimate": 1,
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

/// Flips a comparison whose attribute stands on the right (`5 < v.a` is `v.a > 5`).
fn flipped(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        other => other,
    }
}

/// The index loop `var` over `def` uses, given the operations fused into it and the `SORT` right
/// after them (`sort`; `ordered`: the index may stand in for it).
pub fn access<'q>(
    var: &str,
    fused: &'q [Op],
    sort: Option<&'q [(Expr, bool)]>,
    ordered: bool,
    def: &CollectionDef,
) -> Option<Access<'q>> {
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
        let Expr::Binary(
            op @ (BinOp::Eq | BinOp::In | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge),
            a,
            b,
        ) = p
        else {
            continue;
        };
        if let Some(path) = path_on(a, var)
            && independent(b, &vars)
        {
            conds.push((path, *op, b));
        } else if *op != BinOp::In
            && let Some(path) = path_on(b, var)
            && independent(a, &vars)
        {
            conds.push((path, flipped(*op), a));
        }
    }
    for (path, op, value) in &conds {
        let id = match path.as_str() {
            "_key" => false,
            "_id" => true,
            _ => continue,
        };
        match op {
            BinOp::Eq => return Some(Access::Key { value, id }),
            BinOp::In => return Some(Access::Keys { values: value, id }),
            _ => {}
        }
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
    // the sort keys as attribute paths of the loop variable, all in one direction
    let sort_paths: Option<(Vec<String>, bool)> = sort.and_then(|keys| {
        let desc = !keys.first()?.1;
        let paths: Option<Vec<String>> = keys
            .iter()
            .map(|(e, asc)| (*asc != desc).then(|| path_on(e, var)).flatten())
            .collect();
        paths.map(|p| (p, desc))
    });
    let mut best: Option<(usize, Access<'q>)> = None;
    for sec in secondary_indexes(def) {
        let mut eq = Vec::new();
        for f in &sec.fields {
            match conds.iter().find(|(p, op, _)| p == f && *op == BinOp::Eq) {
                Some((_, _, v)) => eq.push(*v),
                None => break,
            }
        }
        let (mut lo, mut hi) = (None, None);
        if let Some(f) = sec.fields.get(eq.len()) {
            for (p, op, v) in &conds {
                if p != f {
                    continue;
                }
                match op {
                    BinOp::Gt | BinOp::Ge if lo.is_none() => lo = Some((*v, *op == BinOp::Ge)),
                    BinOp::Lt | BinOp::Le if hi.is_none() => hi = Some((*v, *op == BinOp::Le)),
                    _ => {}
                }
            }
        }
        // a sparse index holds no nulls: a range must start above null (a value, checked when run)
        if sec.sparse && hi.is_some() && lo.is_none() {
            hi = None;
        }
        // without a range, `IN` a list on that field: one look-up per value
        let any = match sec.fields.get(eq.len()) {
            Some(f) if lo.is_none() && hi.is_none() => conds
                .iter()
                .find(|(p, op, _)| p == f && *op == BinOp::In)
                .map(|(_, _, v)| *v),
            _ => None,
        };
        // the index's order is the SORT's when the sort keys are the fields after the equal ones
        let sorted = ordered
            && !sec.sparse
            && any.is_none()
            && sort_paths.as_ref().is_some_and(|(paths, _)| {
                !paths.is_empty()
                    && paths.len() <= sec.fields.len() - eq.len().min(sec.fields.len())
                    && paths
                        .iter()
                        .zip(&sec.fields[eq.len()..])
                        .all(|(p, f)| p == f)
            });
        let score = eq.len() * 4
            + usize::from(lo.is_some() || hi.is_some() || any.is_some()) * 2
            + usize::from(sorted);
        if score == 0 || best.as_ref().is_some_and(|(b, _)| *b >= score) {
            continue;
        }
        let (name, itype) = match sec.iid {
            EDGE_FROM_IID | EDGE_TO_IID => ("edge".to_string(), "edge"),
            iid => (
                def.indexes
                    .iter()
                    .find(|i| i.id == iid)
                    .map(|i| i.name.clone())
                    .unwrap_or_default(),
                "persistent",
            ),
        };
        let desc = sorted && sort_paths.as_ref().is_some_and(|(_, d)| *d);
        best = Some((
            score,
            Access::Secondary {
                index: Index {
                    secondary: sec,
                    name,
                    itype,
                },
                eq,
                lo,
                hi,
                any,
                sorted,
                desc,
            },
        ));
    }
    if let Some((_, a)) = best {
        return Some(a);
    }
    // SORT v._key: the collection is read in key order anyway
    if ordered
        && let Some((paths, false)) = &sort_paths
        && paths.len() == 1
        && paths[0] == "_key"
    {
        return Some(Access::KeyOrder);
    }
    None
}
