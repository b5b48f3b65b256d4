//! AQL, ArangoDB's query language — the part of it that drivers, arangosh and people send to a standby:
//! `FOR` over collections, arrays and ranges (nested), `FILTER`, `LET`, `SORT`, `LIMIT`, `COLLECT`
//! (groups, `INTO`, `WITH COUNT INTO`, `AGGREGATE`), `RETURN [DISTINCT]`, subqueries, bind parameters,
//! ArangoDB's operators and type order, `[*]`/`[**]`, and the common functions. Queries read one store
//! snapshot. Writes (`INSERT` …), graph traversals, views, geo and user-defined functions answer with an
//! error that names them.

pub mod exec;
pub mod functions;
pub mod parse;
pub mod value;

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::Snapshot;
use serde_json::{Map, Value};

/// What a query produced.
#[derive(Debug)]
pub struct Output {
    pub result: Vec<Value>,
    pub scanned_full: u64,
    pub filtered: u64,
    /// Rows before the outermost query's last `LIMIT`, if it has one.
    pub full_count: Option<u64>,
}

/// Checks the bind parameters against those the query declares (ArangoDB's 1551 and 1552).
fn check_bind(parsed: &parse::Parsed, bind: &Map<String, Value>) -> ArangoResult<()> {
    for name in &parsed.bind_vars {
        if !bind.contains_key(name) {
            return Err(ArangoError::with_message(
                codes::QUERY_BIND_PARAMETER_MISSING,
                format!("no value specified for declared bind parameter '{name}'"),
            ));
        }
    }
    for name in bind.keys() {
        if !parsed.bind_vars.contains(name) {
            return Err(ArangoError::with_message(
                codes::QUERY_BIND_PARAMETER_UNDECLARED,
                format!("bind parameter '{name}' was not declared in the query"),
            ));
        }
    }
    Ok(())
}

/// Runs `query` with `bind` on database `db` of `snap`; with `full_count`, the rows before the last
/// `LIMIT` are counted (`Output::full_count`).
pub fn execute(
    snap: &Snapshot,
    db: &str,
    query: &str,
    bind: &Map<String, Value>,
    full_count: bool,
) -> ArangoResult<Output> {
    let parsed = parse::parse(query)?;
    check_bind(&parsed, bind)?;
    let mut ctx = exec::Context {
        snap,
        db,
        bind,
        scanned: 0,
        filtered: 0,
        full_count: None,
        want_full_count: full_count,
        depth: 0,
    };
    let result = ctx.run(&parsed.query, vec![exec::Row::new()])?;
    Ok(Output {
        result,
        scanned_full: ctx.scanned,
        filtered: ctx.filtered,
        full_count: ctx.full_count,
    })
}

/// The plan of `query` as `POST /_api/explain` shows it: one node per operation, after a
/// `SingletonNode`, each with its id and dependency; a `FOR` over a collection is an
/// `EnumerateCollectionNode` (a full scan: this planner uses no index yet).
pub fn explain(
    snap: &Snapshot,
    db: &str,
    query: &str,
    bind: &Map<String, Value>,
) -> ArangoResult<Value> {
    let parsed = parse::parse(query)?;
    check_bind(&parsed, bind)?;
    let mut nodes = vec![serde_json::json!({"type": "SingletonNode", "id": 1, "dependencies": []})];
    let mut collections = Vec::new();
    for op in &parsed.query.ops {
        let id = nodes.len() + 1;
        let deps = serde_json::json!([id - 1]);
        let node = match op {
            parse::Op::For { var, source } => {
                let coll = match source {
                    parse::Expr::Collection(c) => Some(c.clone()),
                    parse::Expr::BindColl(b) => bind
                        .get(&format!("@{b}"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    _ => None,
                };
                match coll {
                    Some(c) => {
                        exec::collection_id(snap, db, &c)?;
                        if !collections.iter().any(|x: &Value| x["name"] == c.as_str()) {
                            collections.push(serde_json::json!({"name": c, "type": "read"}));
                        }
                        serde_json::json!({"type": "EnumerateCollectionNode", "collection": c,
                                           "outVariable": {"name": var}, "random": false})
                    }
                    None => {
                        serde_json::json!({"type": "EnumerateListNode", "outVariable": {"name": var}})
                    }
                }
            }
            parse::Op::Filter(_) => serde_json::json!({"type": "FilterNode"}),
            parse::Op::Let { var, .. } => {
                serde_json::json!({"type": "CalculationNode", "outVariable": {"name": var}})
            }
            parse::Op::Sort(keys) => {
                serde_json::json!({"type": "SortNode", "elements": keys.iter().map(|(_, asc)| serde_json::json!({"ascending": asc})).collect::<Vec<_>>()})
            }
            parse::Op::Limit { .. } => serde_json::json!({"type": "LimitNode"}),
            parse::Op::Collect { .. } => serde_json::json!({"type": "CollectNode"}),
            parse::Op::Return { .. } => serde_json::json!({"type": "ReturnNode"}),
        };
        let mut node = node;
        node["id"] = serde_json::json!(id);
        node["dependencies"] = deps;
        nodes.push(node);
    }
    Ok(serde_json::json!({
        "nodes": nodes, "rules": [], "collections": collections, "variables": [],
        "estimatedCost": nodes.len(), "estimatedNrItems": 0, "isModificationQuery": false,
    }))
}

/// `POST /_api/query`: the collections and bind parameters a query names, without running it.
pub fn parse_only(query: &str) -> ArangoResult<(Vec<String>, Vec<String>)> {
    let parsed = parse::parse(query)?;
    Ok((parsed.collections, parsed.bind_vars))
}
