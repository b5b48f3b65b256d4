//! Initial synchronisation of one database (spec §6): a batch on the leader pins a snapshot; the inventory
//! decides which collections to create, keep or drop on the follower; each collection is then copied with
//! the dump (full) or reconciled with the keys protocol (incremental: only differing documents travel).
//! The result's `lastLogTick` is where tailing continues.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::config::ApplierConfig;
use crate::replication::filter::excluded;
use crate::replication::follower::{Applied, Documents, Follower, LocalCollection};
use crate::replication::keys::ChunkHash;
use crate::replication::leader_client::LeaderClient;
use crate::replication::wire::{InventoryCollection, KeyRange};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The batch lifetime asked for (seconds), as ArangoDB's followers.
const BATCH_TTL: u64 = 7200;
/// Dump chunks grow by a quarter per request up to this size (ArangoDB: 10 MiB; smaller chunks keep
/// the follower's transactions and memory small at no cost in speed).
const MAX_DUMP_CHUNK: u64 = 4 << 20;
/// Keys per range of the keys protocol (what ArangoDB's followers ask for).
pub const KEYS_CHUNK: usize = 5000;
/// Local keys are read in pages of this many during incremental sync.
const LOCAL_PAGE: usize = 10_000;

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    /// `(leader collection id, name)` of every collection synced.
    pub collections: Vec<(u64, String)>,
    /// The leader's snapshot tick: tailing continues after it.
    pub last_log_tick: u64,
    /// Documents received from the leader (dumped, or fetched by the keys protocol).
    pub documents_fetched: u64,
    /// Document changes on the follower.
    pub applied: Applied,
    pub bytes_fetched: u64,
    /// Time the sync stood still waiting for the leader (dump chunks not yet prefetched).
    pub leader_wait: Duration,
    pub elapsed: Duration,
    /// The collection being copied (counting from 1) and how many there are, for progress messages.
    pub collection_number: usize,
    pub collections_total: usize,
}

impl SyncResult {
    /// `(3 of 7): 12000 documents, 2300000 bytes received` — the figures of a progress message (the
    /// shell's progress bar reads them).
    fn figures(&self) -> String {
        format!(
            "({} of {}): {} documents, {} bytes received",
            self.collection_number,
            self.collections_total,
            self.documents_fetched,
            self.bytes_fetched
        )
    }
}

impl SyncResult {
    /// The progress message of a finished sync of `what` (`database 'x'`, `12 databases`).
    fn finished(&self, what: &str) -> String {
        format!(
            "initial sync of {what} finished: {} collections, {} documents fetched, {} written, {} \
             removed, leader tick {}",
            self.collections.len(),
            self.documents_fetched,
            self.applied.written(),
            self.applied.removed,
            self.last_log_tick
        )
    }

    /// The `sync` response (spec §2.4).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "collections": self.collections.iter()
                .map(|(id, name)| serde_json::json!({"id": id.to_string(), "name": name}))
                .collect::<Vec<_>>(),
            "lastLogTick": self.last_log_tick.to_string(),
        })
    }
}

/// Where progress messages go (the applier state's `progress`, and the log when `verbose`).
pub trait Progress: Send + Sync {
    fn message(&self, text: String);
}

impl<F: Fn(String) + Send + Sync> Progress for F {
    fn message(&self, text: String) {
        self(text)
    }
}

/// Runs the initial sync of `config.database` from the leader into `follower`.
pub async fn initial_sync<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
) -> ArangoResult<SyncResult> {
    let started = Instant::now();
    let db = config.database.clone();
    if !follower.database_exists(&db).await? {
        return Err(ArangoError::with_message(
            codes::ARANGO_DATABASE_NOT_FOUND,
            format!("database not found: '{db}' does not exist on the follower"),
        ));
    }
    let batch = HeldBatch::start(leader, progress).await?;
    let mut result = SyncResult {
        last_log_tick: batch.last_tick,
        ..SyncResult::default()
    };
    let outcome = run(follower, leader, config, progress, &batch.id, &mut result).await;
    batch.end(leader, &outcome).await;
    outcome?;
    follower.flush().await?;
    result.elapsed = started.elapsed();
    progress.message(result.finished(&format!("database '{db}'")));
    Ok(result)
}

/// A leader batch (snapshot) kept alive while a sync reads from it.
struct HeldBatch {
    id: String,
    /// The snapshot's tick: tailing continues after it.
    last_tick: u64,
    keeper: tokio::task::JoinHandle<()>,
}

impl HeldBatch {
    async fn start(leader: &LeaderClient, progress: &dyn Progress) -> ArangoResult<HeldBatch> {
        progress.message(format!(
            "fetching leader state information from {}",
            leader.endpoint()
        ));
        let (batch, _state) = leader.create_batch(BATCH_TTL).await?;
        // keep the batch alive while the sync runs
        let keeper = {
            let (l, id) = (leader.clone(), batch.id.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(BATCH_TTL / 2)).await;
                    let _ = l.extend_batch(&id, BATCH_TTL).await;
                }
            })
        };
        Ok(HeldBatch {
            id: batch.id,
            last_tick: batch.last_tick.0,
            keeper,
        })
    }

    /// Ends the batch, also after a failure (but not when the leader is gone).
    async fn end<T>(self, leader: &LeaderClient, outcome: &ArangoResult<T>) {
        self.keeper.abort();
        let leader_gone =
            matches!(outcome, Err(e) if e.error_num == codes::REPLICATION_NO_RESPONSE);
        if !leader_gone {
            let _ = leader.delete_batch(&self.id).await;
        }
    }
}

/// Runs the initial sync of every database of the leader into `follower` (server-level, `sync` with
/// `global=true`): one snapshot of the leader for all of them, databases the follower lacks created,
/// the follower's databases the leader does not have dropped (never `_system`), and in each database the
/// follower's collections the leader does not have dropped (unless `skipCreateDrop` or
/// `restrictCollections`). `leader` is a client of the leader's `_system` database; the result lists
/// the collections of every database, and `lastLogTick` is the snapshot's tick for all of them.
pub async fn initial_sync_global<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
) -> ArangoResult<SyncResult> {
    let started = Instant::now();
    let batch = HeldBatch::start(leader, progress).await?;
    let mut result = SyncResult {
        last_log_tick: batch.last_tick,
        ..SyncResult::default()
    };
    let outcome = run_global(follower, leader, config, progress, &batch.id, &mut result).await;
    batch.end(leader, &outcome).await;
    let databases = outcome?;
    follower.flush().await?;
    result.elapsed = started.elapsed();
    progress.message(result.finished(&format!("{databases} databases")));
    Ok(result)
}

/// The databases of a server-level sync, one after the other; returns how many there were.
async fn run_global<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
    batch: &str,
    result: &mut SyncResult,
) -> ArangoResult<usize> {
    progress.message("fetching the leader's inventory of all databases".into());
    let names = leader
        .database_names(batch, config.include_system, config.include_foxx_queues)
        .await?;
    for local in follower.database_names().await? {
        if local != "_system" && !names.contains(&local) {
            progress.message(format!(
                "dropping database '{local}', which the leader does not have"
            ));
            follower.drop_database(&local).await?;
        }
    }
    for db in &names {
        if !follower.database_exists(db).await? {
            progress.message(format!("creating database '{db}'"));
            follower.create_database(db).await?;
        }
        let mut c = config.clone();
        c.database = db.clone();
        let mut r = SyncResult::default();
        progress.message(format!("synchronizing database '{db}'"));
        run(
            follower,
            &leader.for_database(db),
            &c,
            progress,
            batch,
            &mut r,
        )
        .await?;
        if !config.skip_create_drop && config.restrict_collections.is_empty() {
            for l in follower.collections(db).await? {
                if !l.is_system && !r.collections.iter().any(|(_, n)| *n == l.name) {
                    progress.message(format!(
                        "dropping collection '{}' of database '{db}', which the leader does not have",
                        l.name
                    ));
                    follower.drop_collection(db, &l.name).await?;
                }
            }
        }
        result.collections.extend(r.collections);
        result.documents_fetched += r.documents_fetched;
        result.bytes_fetched += r.bytes_fetched;
        result.applied.add(r.applied);
        result.leader_wait += r.leader_wait;
    }
    Ok(names.len())
}

fn invalid(what: &str) -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_INVALID_RESPONSE,
        format!("invalid response from leader: {what}"),
    )
}

async fn run<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
    batch: &str,
    result: &mut SyncResult,
) -> ArangoResult<()> {
    let db = &config.database;
    progress.message("fetching the leader's inventory".into());
    let inventory = leader
        .inventory(batch, config.include_system, config.include_foxx_queues)
        .await?;
    // the work list: validated, filtered, `_analyzers` first
    let mut work: Vec<&InventoryCollection> = Vec::new();
    for c in &inventory.database.collections {
        let name = c.name();
        if name.is_empty() {
            return Err(invalid("collection name is missing in response"));
        }
        if c.deleted()
            || excluded(name, config.include_system, config.include_foxx_queues)
            || !config.restriction_allows(name)
        {
            continue;
        }
        if c.id().is_none() {
            return Err(invalid("collection id is missing in response"));
        }
        if !c.parameters.get("type").is_some_and(Value::is_number) {
            return Err(invalid("collection type is missing in response"));
        }
        work.push(c);
    }
    work.sort_by_key(|c| (c.name() != "_analyzers", c.collection_type()));
    for c in &work {
        result
            .collections
            .push((c.id().unwrap_or(0), c.name().to_string()));
    }

    // drop and create
    let local: Vec<LocalCollection> = follower.collections(db).await?;
    let mut keep_local: HashMap<String, bool> = HashMap::new(); // name → has documents to reconcile
    for c in &work {
        let name = c.name();
        let guid = c.globally_unique_id();
        let by_guid = local
            .iter()
            .find(|l| !guid.is_empty() && l.globally_unique_id == guid);
        let by_name = local.iter().find(|l| l.name == name);
        let found = match (by_guid, by_name) {
            (Some(g), _) if g.name == name => Some(g),
            (Some(g), other) => {
                // same collection under another name locally: it goes, and so does a namesake
                if !config.skip_create_drop {
                    follower.drop_collection(db, &g.name).await?;
                    if let Some(n) = other {
                        follower.drop_collection(db, &n.name).await?;
                    }
                }
                None
            }
            (None, Some(n)) if !guid.is_empty() && n.globally_unique_id != guid => {
                // a different collection with that name: replaced (system collections are kept)
                if n.is_system {
                    Some(n)
                } else {
                    if !config.skip_create_drop {
                        follower.drop_collection(db, &n.name).await?;
                    }
                    None
                }
            }
            (None, n) => n,
        };
        let kept = match found {
            Some(l) if config.skip_create_drop => {
                keep_local.insert(name.to_string(), l.count > 0);
                true
            }
            Some(l) if config.incremental => {
                follower.change_collection(db, name, &c.parameters).await?;
                keep_local.insert(name.to_string(), l.count > 0);
                true
            }
            Some(l) if l.is_system => {
                follower.truncate_collection(db, name).await?;
                keep_local.insert(name.to_string(), false);
                true
            }
            Some(l) => {
                follower.drop_collection(db, &l.name).await?;
                false
            }
            None => false,
        };
        if !kept {
            if config.skip_create_drop {
                return Err(ArangoError::with_message(
                    codes::ARANGO_DATA_SOURCE_NOT_FOUND,
                    format!(
                        "collection '{name}' does not exist on the follower and skipCreateDrop is set"
                    ),
                ));
            }
            progress.message(format!("creating collection '{name}'"));
            follower.create_collection(db, &c.parameters).await?;
            if let Some(n) = follower.take_notice() {
                progress.message(n);
            }
            keep_local.insert(name.to_string(), false);
        }
    }

    // copy the data
    result.collections_total = work.len();
    for (i, c) in work.iter().enumerate() {
        result.collection_number = i + 1;
        let name = c.name();
        let ident = match c.globally_unique_id() {
            "" => c.id().unwrap_or(0).to_string(),
            g => g.to_string(),
        };
        let reconcile = config.incremental && keep_local.get(name).copied().unwrap_or(false);
        if reconcile {
            incremental_collection(follower, leader, config, progress, batch, c, &ident, result)
                .await?;
        } else {
            dump_collection(
                follower, leader, config, progress, batch, name, &ident, result,
            )
            .await?;
        }
        if !config.skip_create_drop {
            for idx in &c.indexes {
                follower.ensure_index(db, name, idx).await?;
            }
        }
    }
    Ok(())
}

/// Full copy: dump chunks, the next one requested while the current one is applied.
#[allow(clippy::too_many_arguments)]
async fn dump_collection<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
    batch: &str,
    name: &str,
    ident: &str,
    result: &mut SyncResult,
) -> ArangoResult<()> {
    let db = &config.database;
    progress.message(format!(
        "dumping collection '{name}' from the leader {}",
        result.figures()
    ));
    let mut chunk_size = config.chunk_bytes();
    let to = result.last_log_tick.saturating_add(1);
    let fetch = |size: u64, from: u64| {
        let (l, b, i) = (leader.clone(), batch.to_string(), ident.to_string());
        let inc = config.include_system;
        tokio::spawn(async move { l.dump(&b, &i, size, from, to, inc).await })
    };
    let mut pending = fetch(chunk_size, 0);
    let mut last = 0u64;
    let mut docs = 0u64;
    // up to two chunks are applied at once: one being checked on the follower's side while the other is
    // written (dump chunks never share keys, so their order does not matter)
    let mut applying: Option<tokio::task::JoinHandle<ArangoResult<Applied>>> = None;
    let finish = |h: tokio::task::JoinHandle<ArangoResult<Applied>>| async move {
        h.await
            .map_err(|e| ArangoError::internal(format!("applying a dump chunk failed: {e}")))?
    };
    loop {
        let waiting = Instant::now();
        let chunk = pending
            .await
            .map_err(|e| ArangoError::internal(format!("dump request failed: {e}")))??;
        result.leader_wait += waiting.elapsed();
        let more = chunk.check_more && chunk.last_included > last && chunk.last_included != 0;
        last = chunk.last_included;
        chunk_size = (chunk_size + chunk_size / 4).min(MAX_DUMP_CHUNK);
        // prefetch the next chunk while this one is applied
        if more {
            pending = fetch(chunk_size, last);
        } else {
            pending = tokio::spawn(async {
                Err(ArangoError::internal("no further dump chunk was requested"))
            });
        }
        if !chunk.body.is_empty() {
            let n = chunk.body.iter().filter(|b| **b == b'\n').count() as u64;
            result.bytes_fetched += chunk.body.len() as u64;
            leader.metrics.dump_documents.increment(n);
            let task = {
                let (f, db, name) = (follower.clone(), db.clone(), name.to_string());
                let apply_time = leader.metrics.dump_apply_time.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let r = f
                        .apply_documents(&db, &name, Documents::Lines(chunk.body))
                        .await;
                    apply_time.add(t.elapsed());
                    r
                })
            };
            if let Some(prev) = applying.replace(task) {
                result.applied.add(finish(prev).await?);
            }
            result.documents_fetched += n;
            docs += n;
            progress.message(format!(
                "collection '{name}': {docs} documents dumped {}",
                result.figures()
            ));
        }
        if !more {
            break;
        }
    }
    if let Some(prev) = applying {
        result.applied.add(finish(prev).await?);
    }
    progress.message(format!(
        "collection '{name}': dump finished, {docs} documents"
    ));
    Ok(())
}

type Page = tokio::task::JoinHandle<ArangoResult<Vec<(String, String)>>>;

/// Walks the local keys of a collection in order, a page at a time, reading the next page while the
/// current one is compared.
struct LocalKeys<F: Follower + Clone> {
    follower: F,
    db: String,
    name: String,
    page: std::collections::VecDeque<(String, String)>,
    next: Option<Page>,
}

impl<F: Follower + Clone> LocalKeys<F> {
    fn new(follower: &F, db: &str, name: &str) -> Self {
        let mut k = LocalKeys {
            follower: follower.clone(),
            db: db.to_string(),
            name: name.to_string(),
            page: Default::default(),
            next: None,
        };
        k.next = Some(k.fetch(None));
        k
    }

    fn fetch(&self, after: Option<String>) -> Page {
        let (f, db, name) = (self.follower.clone(), self.db.clone(), self.name.clone());
        tokio::spawn(async move { f.key_revisions(&db, &name, after, LOCAL_PAGE).await })
    }

    async fn fill(&mut self) -> ArangoResult<()> {
        if self.page.is_empty()
            && let Some(h) = self.next.take()
        {
            let page = h
                .await
                .map_err(|e| ArangoError::internal(format!("reading local keys failed: {e}")))??;
            if page.len() == LOCAL_PAGE {
                self.next = Some(self.fetch(page.last().map(|(k, _)| k.clone())));
            }
            self.page = page.into();
        }
        Ok(())
    }

    /// The next local key, if it is at most `high` (byte-wise), or `None` at the end.
    async fn next_upto(&mut self, high: &str) -> ArangoResult<Option<(String, String)>> {
        self.fill().await?;
        match self.page.front() {
            Some((k, _)) if k.as_bytes() <= high.as_bytes() => Ok(self.page.pop_front()),
            _ => Ok(None),
        }
    }

    async fn next(&mut self) -> ArangoResult<Option<(String, String)>> {
        self.fill().await?;
        Ok(self.page.pop_front())
    }
}

/// Removes the collected local keys (if any) and counts what that did.
async fn remove_keys<F: Follower>(
    follower: &F,
    leader: &LeaderClient,
    db: &str,
    name: &str,
    keys: &mut Vec<String>,
    result: &mut SyncResult,
) -> ArangoResult<()> {
    if !keys.is_empty() {
        let t = Instant::now();
        let applied = follower
            .remove_documents(db, name, std::mem::take(keys))
            .await?;
        let m = &leader.metrics;
        m.initial_remove_apply_time.add(t.elapsed());
        m.initial_sync_docs_removed.increment(applied.removed);
        result.applied.add(applied);
    }
    Ok(())
}

/// Incremental reconciliation with the keys protocol (spec §6.2): ranges whose hashes match are skipped,
/// the others are compared key by key and only missing or different documents are fetched.
#[allow(clippy::too_many_arguments)]
async fn incremental_collection<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    progress: &dyn Progress,
    batch: &str,
    c: &InventoryCollection,
    ident: &str,
    result: &mut SyncResult,
) -> ArangoResult<()> {
    let db = &config.database;
    let name = c.name();
    progress.message(format!(
        "incremental sync of collection '{name}': fetching the leader's keys {}",
        result.figures()
    ));
    let t0 = Instant::now();
    let keys = leader
        .create_keys(batch, ident, result.last_log_tick)
        .await?;
    let kid = keys.id.clone().unwrap_or_default();
    let outcome = async {
        // an arangorepl leader sends a fingerprint of the collection: the same count and fingerprint
        // here means the same documents, and nothing needs comparing
        if let Some(theirs) = keys
            .fingerprint
            .as_deref()
            .and_then(|f| f.parse::<u64>().ok())
        {
            let (count, mine) = follower.fingerprint(db, name).await?;
            if count == keys.count && mine == Some(theirs) {
                return Ok((0u64, 0u64, 0u64));
            }
        }
        // the follower cuts its own keys into ranges while the leader computes its ranges: when they
        // are the same, so are the collections
        let mine = {
            let (f, db, name) = (follower.clone(), db.clone(), name.to_string());
            tokio::spawn(async move { f.key_ranges(&db, &name, KEYS_CHUNK).await })
        };
        if keys.count == 0 {
            follower.truncate_collection(db, name).await?;
            return Ok((0u64, 0u64, 0u64));
        }
        let ranges: Vec<KeyRange> = leader.key_ranges(&kid).await?;
        let mine = mine.await.map_err(|e| {
            ArangoError::internal(format!("reading local key ranges failed: {e}"))
        })??;
        if mine == ranges {
            return Ok((ranges.len() as u64, 0, 0));
        }
        let mut local = LocalKeys::new(follower, db, name);
        let mut to_remove: Vec<String> = Vec::new();
        let (mut fetched, mut unequal) = (0u64, 0u64);
        for (i, range) in ranges.iter().enumerate() {
            // local keys before this range do not exist on the leader
            let mut mine: Vec<(String, String)> = Vec::new();
            while let Some(pair) = local.next_upto(&range.high).await? {
                if pair.0.as_bytes() < range.low.as_bytes() {
                    to_remove.push(pair.0);
                } else {
                    mine.push(pair);
                }
            }
            if to_remove.len() >= LOCAL_PAGE {
                remove_keys(follower, leader, db, name, &mut to_remove, result).await?;
            }
            let mut h = ChunkHash::default();
            for (k, r) in &mine {
                h.add(k, r);
            }
            let equal = mine.first().is_some_and(|(k, _)| *k == range.low)
                && mine.last().is_some_and(|(k, _)| *k == range.high)
                && h.value().to_string() == range.hash;
            if equal {
                continue;
            }
            unequal += 1;
            let theirs = leader.chunk_keys(&kid, i, &range.low).await?;
            if theirs.is_empty() {
                return Err(invalid("response contains an empty chunk"));
            }
            let local_revs: HashMap<&str, &str> =
                mine.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
            let leader_keys: std::collections::HashSet<&str> =
                theirs.iter().map(|(k, _)| k.as_str()).collect();
            for (k, _) in &mine {
                if !leader_keys.contains(k.as_str()) {
                    to_remove.push(k.clone());
                }
            }
            let positions: Vec<usize> = theirs
                .iter()
                .enumerate()
                .filter(|(_, (k, r))| local_revs.get(k.as_str()) != Some(&r.as_str()))
                .map(|(p, _)| p)
                .collect();
            // removals first: a removed document may hold a unique value a fetched one needs
            remove_keys(follower, leader, db, name, &mut to_remove, result).await?;
            let mut got: Vec<Value> = Vec::with_capacity(positions.len());
            while got.len() < positions.len() {
                let offset = got.len();
                let docs = leader
                    .chunk_docs(&kid, i, &range.low, &positions, offset)
                    .await?;
                if docs.len() <= offset {
                    return Err(invalid(
                        "the leader returned fewer documents than asked for",
                    ));
                }
                got.extend(docs.into_iter().skip(offset));
            }
            let docs: Vec<Value> = got.into_iter().filter(|d| d.is_object()).collect();
            fetched += docs.len() as u64;
            if !docs.is_empty() {
                let t = Instant::now();
                let applied = follower
                    .apply_documents(db, name, Documents::Parsed(docs))
                    .await?;
                let m = &leader.metrics;
                m.initial_insert_apply_time.add(t.elapsed());
                m.initial_sync_docs_inserted
                    .increment(applied.inserted + applied.replaced);
                result.applied.add(applied);
            }
        }
        // local keys after the last range
        while let Some((k, _)) = local.next().await? {
            to_remove.push(k);
            if to_remove.len() >= LOCAL_PAGE {
                remove_keys(follower, leader, db, name, &mut to_remove, result).await?;
            }
        }
        remove_keys(follower, leader, db, name, &mut to_remove, result).await?;
        Ok((ranges.len() as u64, unequal, fetched))
    }
    .await;
    let _ = leader.delete_keys(&kid).await;
    let (ranges, unequal, fetched) = outcome?;
    result.documents_fetched += fetched;
    progress.message(format!(
        "incremental sync statistics for collection '{name}': {ranges} key ranges, {unequal} differing, \
         {fetched} documents fetched, {:.2} s",
        t0.elapsed().as_secs_f64()
    ));
    Ok(())
}
