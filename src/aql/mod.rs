//! AQL, ArangoDB's query language — the part of it that drivers, arangosh and people send to a standby:
//! `FOR` over collections, arrays and ranges (nested), `FILTER`, `LET`, `SORT`, `LIMIT`, `COLLECT`
//! (groups, `INTO`, `WITH COUNT INTO`, `AGGREGATE`), `RETURN [DISTINCT]`, subqueries, bind parameters,
//! ArangoDB's operators and type order, `[*]`/`[**]`, and the common functions. Queries read one store
//! snapshot; a query that writes (`INSERT`, `UPDATE`, `REPLACE`, `REMOVE`, `UPSERT`) runs in a
//! transaction of its own, committed as one. Graph traversals, views, geo and user-defined functions
//! answer with an error that names them.

mod dates;
pub mod exec;
pub mod functions;
mod modify;
pub mod parse;
pub mod plan;
mod raw;
mod usage;
pub mod value;

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::{Snapshot, Store};
use serde_json::{Map, Value};

/// What a query produced.
pub struct Output {
    pub result: Vec<Value>,
    pub scanned_full: u64,
    pub scanned_index: u64,
    pub filtered: u64,
    /// Rows before the outermost query's last `LIMIT`, if it has one.
    pub full_count: Option<u64>,
    pub writes_executed: u64,
    pub writes_ignored: u64,
    /// The snapshot the query read.
    pub snapshot: Snapshot,
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

/// A parsed query whose bind parameters were checked, with the names of the collections it reads
/// and writes (bound `@@` names resolved).
pub struct Prepared {
    parsed: parse::Parsed,
    bind: Map<String, Value>,
    pub reads: Vec<String>,
    pub writes: Vec<String>,
}

/// Parses `query` and checks `bind` against it.
pub fn prepare(query: &str, bind: Map<String, Value>) -> ArangoResult<Prepared> {
    let parsed = parse::parse(query)?;
    check_bind(&parsed, &bind)?;
    let mut reads = parsed.collections.clone();
    for name in &parsed.bind_vars {
        if let Some(b) = name.strip_prefix('@') {
            reads.push(exec::bound_collection(&bind, b)?);
        }
    }
    let mut writes = Vec::new();
    for w in &parsed.writes {
        let Some(name) = exec::collection_name(&bind, w)? else {
            continue;
        };
        if !writes.contains(&name) {
            writes.push(name);
        }
    }
    reads.retain(|r| !writes.contains(r));
    reads.dedup();
    Ok(Prepared {
        parsed,
        bind,
        reads,
        writes,
    })
}

/// How many times a query that writes runs again when another write got in between its read and its
/// commit (1200, which it then never reports).
const CONFLICT_RETRIES: usize = 8;

/// Runs a prepared query on database `db`: in stream transaction `trx` if given (its writes stay in
/// it), else on a snapshot, and when the query writes, in a transaction of its own committed at its
/// end — atomic in the store and one transaction in the replication log. With `full_count`, the rows
/// before the last `LIMIT` are counted (`Output::full_count`).
pub fn execute(
    store: &Store,
    db: &str,
    q: &Prepared,
    full_count: bool,
    trx: Option<u64>,
) -> ArangoResult<Output> {
    if let Some(id) = trx {
        return store.with_transaction(id, db, |t, clock| {
            let snap = t.snapshot().clone();
            run(
                q,
                db,
                snap,
                full_count,
                Some(exec::Writes { trx: t, clock }),
            )
        });
    }
    if q.writes.is_empty() {
        return run(q, db, store.snapshot()?, full_count, None);
    }
    let mut attempt = 0;
    loop {
        let mut t = store.begin_query_transaction(db, &q.writes)?;
        let snap = t.snapshot().clone();
        let writes = exec::Writes {
            trx: &mut t,
            clock: store.clock(),
        };
        let out = run(q, db, snap, full_count, Some(writes))?;
        match store.commit_query_transaction(t) {
            Ok(()) => return Ok(out),
            Err(e) if e.error_num == codes::ARANGO_CONFLICT && attempt < CONFLICT_RETRIES => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn run(
    q: &Prepared,
    db: &str,
    snapshot: Snapshot,
    full_count: bool,
    writes: Option<exec::Writes<'_>>,
) -> ArangoResult<Output> {
    let mut ctx = exec::Context {
        snap: &snapshot,
        db,
        bind: &q.bind,
        scanned: 0,
        scanned_index: 0,
        filtered: 0,
        full_count: None,
        want_full_count: full_count,
        depth: 0,
        writes,
        writes_executed: 0,
        writes_ignored: 0,
        needs: Default::default(),
    };
    let result = ctx.run(&q.parsed.query, vec![exec::Row::new()])?;
    let (scanned_full, scanned_index) = (ctx.scanned, ctx.scanned_index);
    let (filtered, full_count) = (ctx.filtered, ctx.full_count);
    let (writes_executed, writes_ignored) = (ctx.writes_executed, ctx.writes_ignored);
    Ok(Output {
        result,
        scanned_full,
        scanned_index,
        filtered,
        full_count,
        writes_executed,
        writes_ignored,
        snapshot,
    })
}

/// The plan of `query` as `POST /_api/explain` shows it: one node per operation, after a
/// `SingletonNode`, each with its id and dependency; a `FOR` over a collection is an `IndexNode`
/// naming the index it reads (see `plan`), or an `EnumerateCollectionNode` (a full scan).
pub fn explain(snap: &Snapshot, db: &str, q: &Prepared) -> ArangoResult<Value> {
    let (parsed, bind) = (&q.parsed, &q.bind);
    let mut nodes = vec![serde_json::json!({"type": "SingletonNode", "id": 1, "dependencies": []})];
    let mut collections = Vec::new();
    let ops = &parsed.query.ops;
    for (at, op) in ops.iter().enumerate() {
        let id = nodes.len() + 1;
        let deps = serde_json::json!([id - 1]);
        let node = match op {
            parse::Op::For { var, source } => {
                match exec::collection_name(bind, source)? {
                    Some(c) => {
                        let cid = exec::collection_id(snap, db, &c)?;
                        if !collections.iter().any(|x: &Value| x["name"] == c.as_str()) {
                            collections.push(serde_json::json!({"name": c, "type": "read"}));
                        }
                        let fused = ops[at + 1..]
                            .iter()
                            .take_while(|o| {
                                matches!(o, parse::Op::Filter(_) | parse::Op::Let { .. })
                            })
                            .count();
                        let sort = match ops.get(at + 1 + fused) {
                            Some(parse::Op::Sort(keys)) => Some(keys.as_slice()),
                            _ => None,
                        };
                        // as run: the index stands in for the SORT in the outermost loop only
                        let ordered = !ops[..at].iter().any(|o| matches!(o, parse::Op::For { .. }))
                            && parsed.writes.is_empty();
                        let def = snap.catalog().collections.get(&cid);
                        match def.and_then(|d| {
                            plan::access(var, &ops[at + 1..at + 1 + fused], sort, ordered, d)
                                .map(|a| (a.to_json(d), a.sorted()))
                        }) {
                            Some((index, sorted)) => serde_json::json!({"type": "IndexNode",
                                "collection": c, "outVariable": {"name": var},
                                "indexes": [index], "sorted": sorted}),
                            None => serde_json::json!({"type": "EnumerateCollectionNode",
                                "collection": c, "outVariable": {"name": var}, "random": false}),
                        }
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
            parse::Op::Modify(m) => {
                let kind = match m.kind {
                    parse::ModKind::Insert => "InsertNode",
                    parse::ModKind::Update => "UpdateNode",
                    parse::ModKind::Replace => "ReplaceNode",
                    parse::ModKind::Remove => "RemoveNode",
                    parse::ModKind::Upsert => "UpsertNode",
                };
                let c = exec::collection_name(bind, &m.collection)?.unwrap_or_default();
                exec::collection_id(snap, db, &c)?;
                collections.retain(|x: &Value| x["name"] != c.as_str());
                collections.push(serde_json::json!({"name": c, "type": "write"}));
                serde_json::json!({"type": kind, "collection": c})
            }
        };
        let mut node = node;
        node["id"] = serde_json::json!(id);
        node["dependencies"] = deps;
        nodes.push(node);
    }
    Ok(serde_json::json!({
        "nodes": nodes, "rules": [], "collections": collections, "variables": [],
        "estimatedCost": nodes.len(), "estimatedNrItems": 0,
        "isModificationQuery": !parsed.writes.is_empty(),
    }))
}

/// `POST /_api/query`: the collections and bind parameters a query names, without running it.
pub fn parse_only(query: &str) -> ArangoResult<(Vec<String>, Vec<String>)> {
    let parsed = parse::parse(query)?;
    Ok((parsed.collections, parsed.bind_vars))
}
