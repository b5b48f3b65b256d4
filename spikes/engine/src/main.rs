//! Engine spike: the leader's bulk write path (document + unique index entry + log marker per document,
//! one atomic batch per `BATCH` documents (default 1,000), no fsync per batch) on redb, fjall and RocksDB.
use mimalloc::MiMalloc;
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

use redb::{Durability, ReadableTable, TableDefinition};
use std::time::Instant;

const DOCS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("docs");
const UNIQUE: TableDefinition<&[u8], &str> = TableDefinition::new("unique");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const PAD: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Document `i`: its key, its key in the documents table, its unique index entry, its stored bytes.
fn doc(i: u64) -> (String, Vec<u8>, Vec<u8>, Vec<u8>) {
    let key = format!("k{i}");
    let d = format!(
        r#"{{"_key":"{key}","_id":"docs/{key}","_rev":"_{i:010}","u":{i},"name":"user-{i}","pad":"{}"}}"#,
        &PAD[(i % 62) as usize..(i % 62) as usize + 150]
    );
    let mut k = 7u64.to_be_bytes().to_vec();
    k.extend_from_slice(key.as_bytes());
    let mut u = 7u64.to_be_bytes().to_vec();
    u.extend_from_slice(9u64.to_be_bytes().as_slice());
    u.extend_from_slice(format!("[{i}]").as_bytes());
    (key, k, u, d.into_bytes())
}

fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("")
        .to_string()
}

fn main() {
    let n: u64 = std::env::args()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let engine = std::env::args().nth(1).unwrap_or_default();
    let dir = tempfile_dir();
    let batch: u64 = std::env::var("BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let t = Instant::now();
    match engine.as_str() {
        "redb" => {
            let db = redb::Database::builder()
                .set_cache_size(48 << 20)
                .create(dir.join("data.redb"))
                .unwrap();
            let mut tick = 0u64;
            let mut i = 1;
            while i <= n {
                let mut txn = db.begin_write().unwrap();
                txn.set_durability(Durability::None).unwrap();
                {
                    let mut docs = txn.open_table(DOCS).unwrap();
                    let mut uniq = txn.open_table(UNIQUE).unwrap();
                    let mut log = txn.open_table(LOG).unwrap();
                    for j in i..(i + batch).min(n + 1) {
                        let (key, k, u, d) = doc(j);
                        assert!(docs.get(k.as_slice()).unwrap().is_none());
                        assert!(uniq.get(u.as_slice()).unwrap().is_none());
                        docs.insert(k.as_slice(), d.as_slice()).unwrap();
                        uniq.insert(u.as_slice(), key.as_str()).unwrap();
                        tick += 1;
                        log.insert(tick, d.as_slice()).unwrap();
                    }
                }
                txn.commit().unwrap();
                i += batch;
            }
            let mut txn = db.begin_write().unwrap();
            txn.set_durability(Durability::Immediate).unwrap();
            txn.commit().unwrap();
        }
        "fjall" => {
            let ks = fjall::Config::new(dir.join("fjall")).open().unwrap();
            let docs = ks.open_partition("docs", Default::default()).unwrap();
            let uniq = ks.open_partition("unique", Default::default()).unwrap();
            let log = ks.open_partition("log", Default::default()).unwrap();
            let mut tick = 0u64;
            let mut i = 1;
            while i <= n {
                let mut b = ks.batch();
                for j in i..(i + batch).min(n + 1) {
                    let (key, k, u, d) = doc(j);
                    assert!(docs.get(&k).unwrap().is_none());
                    assert!(uniq.get(&u).unwrap().is_none());
                    b.insert(&docs, k, d.as_slice());
                    b.insert(&uniq, u, key.as_bytes());
                    tick += 1;
                    b.insert(&log, tick.to_be_bytes(), d.as_slice());
                }
                b.commit().unwrap();
                i += batch;
            }
            ks.persist(fjall::PersistMode::SyncAll).unwrap();
        }
        #[cfg(feature = "rocksdb")]
        "rocksdb" => {
            // RocksDB's write-ahead log stands in for the store's journal: written with every batch, not
            // synced per batch; one sync at the end (the store syncs every 100 ms).
            let mut o = rocksdb::Options::default();
            o.create_if_missing(true);
            o.create_missing_column_families(true);
            o.set_write_buffer_size(64 << 20);
            o.set_max_background_jobs(1);
            o.increase_parallelism(2);
            // the unique checks look keys up that are not there: bloom filters answer them without a read
            let mut t = rocksdb::BlockBasedOptions::default();
            t.set_bloom_filter(10.0, false);
            t.set_block_cache(&rocksdb::Cache::new_lru_cache(48 << 20).unwrap());
            o.set_block_based_table_factory(&t);
            o.set_max_write_buffer_number(4);
            o.set_level_zero_slowdown_writes_trigger(40);
            o.set_level_zero_stop_writes_trigger(60);
            o.set_compression_type(rocksdb::DBCompressionType::None);
            if std::env::var("NO_WAL").is_ok() {
                o.set_manual_wal_flush(true);
            }
            let db = rocksdb::DB::open_cf(&o, dir.join("rocksdb"), ["docs", "unique", "log"]).unwrap();
            let (docs, uniq, log) = (
                db.cf_handle("docs").unwrap(),
                db.cf_handle("unique").unwrap(),
                db.cf_handle("log").unwrap(),
            );
            let mut w = rocksdb::WriteOptions::default();
            w.set_sync(false);
            let mut tick = 0u64;
            let mut i = 1;
            while i <= n {
                let mut b = rocksdb::WriteBatch::default();
                for j in i..(i + batch).min(n + 1) {
                    let (key, k, u, d) = doc(j);
                    assert!(db.get_pinned_cf(docs, &k).unwrap().is_none());
                    assert!(db.get_pinned_cf(uniq, &u).unwrap().is_none());
                    b.put_cf(docs, &k, d.as_slice());
                    b.put_cf(uniq, &u, key.as_bytes());
                    tick += 1;
                    b.put_cf(log, tick.to_be_bytes(), d.as_slice());
                }
                db.write_opt(b, &w).unwrap();
                i += batch;
            }
            db.flush_wal(true).unwrap();
        }
        _ => panic!("redb|fjall|rocksdb (with --features rocksdb)"),
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{engine}: {n} docs in {s:.2} s = {:.0} docs/s; {}",
        n as f64 / s,
        rss()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("engine-spike-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
