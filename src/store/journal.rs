//! The redo journal: what makes a write acknowledged without `waitForSync` survive a process crash.
//!
//! redb's commits without fsync (`Durability::None`) are lost when the process dies: redb reopens at its
//! last durable commit. So before such a commit is made (and before anyone can see it or is answered),
//! the writer appends every table change of the group — puts, deletes, range deletes, in order — to this
//! file with one `write`: the operating system has it even if the process is killed a moment later. A
//! durable commit covers everything before it and empties the file. Opening the store replays the file
//! onto redb's last durable state in one durable transaction. Replaying is idempotent (each key ends with
//! Every write group, journaled or not, stores its sequence number (`META_JOURNAL_SEQ`) with its
//! changes, and each journal record carries it: replaying applies exactly the records after the last group
//! the store holds. (redb may hold more than its last durable commit after a process crash — its pages and
//! header reach the operating system without fsync — and a durable group commits before the journal is
//! emptied: replaying an older record onto such a state would take keys back.)
//! Only a power loss (or an OS crash) can take the file's unsynced tail: that is what the periodic
//! durable commit bounds.
//!
//! Record: `len: u32 LE` `xxh64(payload): u64 LE` `payload`, the payload starting with the group's
//! sequence number (`u64 LE`). A record cut short or with a wrong checksum ends the replay (its write never
//! finished, so its group was never committed nor acknowledged).

use crate::error::{ArangoError, ArangoResult};
use crate::store::storage;
use crate::store::tables::*;
use redb::{Durability, ReadableDatabase, WriteTransaction};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The journal's file name in the store directory.
pub const JOURNAL_FILE: &str = "arangorepl.journal";

/// Which table an operation is on (one byte in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum T {
    Docs = 0,
    Unique = 1,
    Log = 2,
    Collections = 3,
    Databases = 4,
    Meta = 5,
    Applier = 6,
    Index = 7,
}

impl T {
    fn from_u8(b: u8) -> Option<T> {
        Some(match b {
            0 => T::Docs,
            1 => T::Unique,
            2 => T::Log,
            3 => T::Collections,
            4 => T::Databases,
            5 => T::Meta,
            6 => T::Applier,
            7 => T::Index,
            _ => return None,
        })
    }
}

const PUT: u8 = 1;
const DEL: u8 = 2;
/// Deletes keys in `start..end` (byte keys) or `start..=end` (u64 keys of the log).
const DEL_RANGE: u8 = 3;

/// The table changes of one write group, in order — recorded only for groups that go to the journal
/// (copying every document costs a bulk load about a tenth of its time).
#[derive(Default)]
pub(crate) struct Redo {
    buf: Vec<u8>,
    on: bool,
    /// Some change was made (recorded or not).
    wrote: bool,
}

fn push_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
    buf.extend_from_slice(b);
}

/// The bytes before a record's changes: `len`, checksum and sequence number (see the module's comment).
pub(crate) const RECORD_HEAD: usize = 4 + 8 + 8;

impl Redo {
    /// A recorder writing into `buf` (emptied; a buffer kept from an earlier group saves growing a new
    /// one); `on: false` records nothing.
    pub fn new(on: bool, mut buf: Vec<u8>) -> Redo {
        buf.clear();
        buf.resize(RECORD_HEAD, 0);
        Redo {
            buf,
            on,
            wrote: false,
        }
    }
    /// Whether the group changed anything.
    pub fn wrote(&self) -> bool {
        self.wrote
    }
    pub fn put(&mut self, t: T, key: &[u8], value: &[u8]) {
        self.wrote = true;
        if !self.on {
            return;
        }
        self.buf.push(PUT);
        self.buf.push(t as u8);
        push_bytes(&mut self.buf, key);
        push_bytes(&mut self.buf, value);
    }
    pub fn del(&mut self, t: T, key: &[u8]) {
        self.wrote = true;
        if !self.on {
            return;
        }
        self.buf.push(DEL);
        self.buf.push(t as u8);
        push_bytes(&mut self.buf, key);
    }
    pub fn del_range(&mut self, t: T, start: &[u8], end: &[u8]) {
        self.wrote = true;
        if !self.on {
            return;
        }
        self.buf.push(DEL_RANGE);
        self.buf.push(t as u8);
        push_bytes(&mut self.buf, start);
        push_bytes(&mut self.buf, end);
    }
    /// The record so far: room for its head, then the changes (see [`Journal::append`]).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

fn corrupt(what: &str) -> ArangoError {
    ArangoError::internal(format!("the store's journal is damaged: {what}"))
}

/// Reads `len:u32 ++ bytes` at `*pos`.
fn take<'a>(p: &'a [u8], pos: &mut usize) -> ArangoResult<&'a [u8]> {
    let n = p
        .get(*pos..*pos + 4)
        .ok_or_else(|| corrupt("a length runs past its record"))?;
    let n = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
    let b = p
        .get(*pos + 4..*pos + 4 + n)
        .ok_or_else(|| corrupt("a value runs past its record"))?;
    *pos += 4 + n;
    Ok(b)
}

fn u64_key(b: &[u8]) -> ArangoResult<u64> {
    let a: [u8; 8] = b.try_into().map_err(|_| corrupt("a u64 key"))?;
    Ok(u64::from_be_bytes(a))
}

fn text(b: &[u8]) -> ArangoResult<&str> {
    std::str::from_utf8(b).map_err(|_| corrupt("a text key or value"))
}

/// Applies one group's changes to `txn`.
fn apply(txn: &WriteTransaction, payload: &[u8]) -> ArangoResult<()> {
    let mut pos = 0;
    while pos < payload.len() {
        let (op, t) = (payload[pos], payload.get(pos + 1).copied());
        pos += 2;
        let t = t
            .and_then(T::from_u8)
            .ok_or_else(|| corrupt("a table id"))?;
        let a = take(payload, &mut pos)?;
        let b = if op == DEL {
            None
        } else {
            Some(take(payload, &mut pos)?)
        };
        match (op, t, b) {
            (PUT, T::Docs, Some(v)) => {
                txn.open_table(DOCS)
                    .map_err(storage)?
                    .insert(a, v)
                    .map_err(storage)?;
            }
            (PUT, T::Unique, Some(v)) => {
                txn.open_table(UNIQUE)
                    .map_err(storage)?
                    .insert(a, text(v)?)
                    .map_err(storage)?;
            }
            (PUT, T::Log, Some(v)) => {
                txn.open_table(LOG)
                    .map_err(storage)?
                    .insert(u64_key(a)?, v)
                    .map_err(storage)?;
            }
            (PUT, T::Collections, Some(v)) => {
                txn.open_table(COLLECTIONS)
                    .map_err(storage)?
                    .insert(u64_key(a)?, v)
                    .map_err(storage)?;
            }
            (PUT, T::Databases, Some(v)) => {
                txn.open_table(DATABASES)
                    .map_err(storage)?
                    .insert(text(a)?, v)
                    .map_err(storage)?;
            }
            (PUT, T::Meta, Some(v)) => {
                txn.open_table(META)
                    .map_err(storage)?
                    .insert(text(a)?, u64_key(v)?)
                    .map_err(storage)?;
            }
            (PUT, T::Applier, Some(v)) => {
                txn.open_table(APPLIER)
                    .map_err(storage)?
                    .insert(text(a)?, v)
                    .map_err(storage)?;
            }
            (PUT, T::Index, Some(v)) => {
                txn.open_table(INDEX)
                    .map_err(storage)?
                    .insert(a, v)
                    .map_err(storage)?;
            }
            (DEL, T::Index, _) => {
                txn.open_table(INDEX)
                    .map_err(storage)?
                    .remove(a)
                    .map_err(storage)?;
            }
            (DEL_RANGE, T::Index, Some(end)) => {
                txn.open_table(INDEX)
                    .map_err(storage)?
                    .retain_in(a..end, |_, _| false)
                    .map_err(storage)?;
            }
            (DEL, T::Docs, _) => {
                txn.open_table(DOCS)
                    .map_err(storage)?
                    .remove(a)
                    .map_err(storage)?;
            }
            (DEL, T::Unique, _) => {
                txn.open_table(UNIQUE)
                    .map_err(storage)?
                    .remove(a)
                    .map_err(storage)?;
            }
            (DEL, T::Log, _) => {
                txn.open_table(LOG)
                    .map_err(storage)?
                    .remove(u64_key(a)?)
                    .map_err(storage)?;
            }
            (DEL, T::Collections, _) => {
                txn.open_table(COLLECTIONS)
                    .map_err(storage)?
                    .remove(u64_key(a)?)
                    .map_err(storage)?;
            }
            (DEL, T::Databases, _) => {
                txn.open_table(DATABASES)
                    .map_err(storage)?
                    .remove(text(a)?)
                    .map_err(storage)?;
            }
            (DEL, T::Meta, _) => {
                txn.open_table(META)
                    .map_err(storage)?
                    .remove(text(a)?)
                    .map_err(storage)?;
            }
            (DEL, T::Applier, _) => {
                txn.open_table(APPLIER)
                    .map_err(storage)?
                    .remove(text(a)?)
                    .map_err(storage)?;
            }
            (DEL_RANGE, T::Docs, Some(end)) => {
                txn.open_table(DOCS)
                    .map_err(storage)?
                    .retain_in(a..end, |_, _| false)
                    .map_err(storage)?;
            }
            (DEL_RANGE, T::Unique, Some(end)) => {
                txn.open_table(UNIQUE)
                    .map_err(storage)?
                    .retain_in(a..end, |_, _| false)
                    .map_err(storage)?;
            }
            (DEL_RANGE, T::Log, Some(end)) => {
                txn.open_table(LOG)
                    .map_err(storage)?
                    .retain_in(u64_key(a)?..=u64_key(end)?, |_, _| false)
                    .map_err(storage)?;
            }
            _ => return Err(corrupt("an unknown operation")),
        }
    }
    Ok(())
}

/// The complete records at the start of `data` (a cut or damaged one ends them).
fn records(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(head) = data.get(pos..pos + 12) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let sum = u64::from_le_bytes(head[4..12].try_into().unwrap_or_default());
        let Some(payload) = data.get(pos + 12..pos + 12 + len) else {
            break;
        };
        if xxhash_rust::xxh64::xxh64(payload, 0) != sum {
            break;
        }
        out.push(payload);
        pos += 12 + len;
    }
    out
}

/// The sequence number of the last group `db` holds.
fn stored_seq(db: &redb::Database) -> ArangoResult<u64> {
    let read = db.begin_read().map_err(storage)?;
    let meta = match read.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(storage(e)),
    };
    Ok(meta
        .get(META_JOURNAL_SEQ)
        .map_err(storage)?
        .map_or(0, |g| g.value()))
}

/// Replays the journal in `dir` onto `db` (one durable transaction) — the records after the last group
/// the store holds — and empties it. Returns how many write groups it replayed.
pub(crate) fn replay(dir: &Path, db: &redb::Database) -> ArangoResult<usize> {
    let path = dir.join(JOURNAL_FILE);
    let mut data = Vec::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut data).map_err(|e| {
                ArangoError::internal(format!("cannot read '{}': {e}", path.display()))
            })?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(ArangoError::internal(format!(
                "cannot open '{}': {e}",
                path.display()
            )));
        }
    }
    let held = stored_seq(db)?;
    let groups: Vec<&[u8]> = records(&data)
        .into_iter()
        .filter(|g| {
            g.len() >= 8 && u64::from_le_bytes(g[..8].try_into().unwrap_or_default()) > held
        })
        .collect();
    if !groups.is_empty() {
        let mut txn = db.begin_write().map_err(storage)?;
        let _ = txn.set_durability(Durability::Immediate);
        for g in &groups {
            apply(&txn, &g[8..])?;
        }
        txn.commit().map_err(storage)?;
        // a read shows the replayed state from here on
        drop(db.begin_read().map_err(storage)?);
    }
    if !data.is_empty() {
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| ArangoError::internal(format!("cannot open '{}': {e}", path.display())))?;
        f.set_len(0).and_then(|_| f.sync_all()).map_err(|e| {
            ArangoError::internal(format!("cannot empty '{}': {e}", path.display()))
        })?;
    }
    Ok(groups.len())
}

/// The open journal, owned by the writer thread.
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Journal {
    /// Opens (creating) the journal in `dir`; it must have been replayed.
    pub fn open(dir: &Path) -> ArangoResult<Journal> {
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| ArangoError::internal(format!("cannot open '{}': {e}", path.display())))?;
        // it holds documents (and password hashes of `_users`): readable by its owner only
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Journal { file, path, len })
    }

    /// Appends group `seq`'s changes with one `write` (the operating system has them when it returns).
    /// Appends a group's record: `rec` is a [`Redo`]'s buffer, whose head is filled in here. A record
    /// without changes is not written.
    pub fn append(&mut self, seq: u64, rec: &mut [u8]) -> ArangoResult<()> {
        if rec.len() <= RECORD_HEAD {
            return Ok(());
        }
        rec[12..20].copy_from_slice(&seq.to_le_bytes());
        let payload_len = (rec.len() - 12) as u32;
        let sum = xxhash_rust::xxh64::xxh64(&rec[12..], 0);
        rec[0..4].copy_from_slice(&payload_len.to_le_bytes());
        rec[4..12].copy_from_slice(&sum.to_le_bytes());
        match self.file.write_all(rec) {
            Ok(()) => {
                self.len += rec.len() as u64;
                Ok(())
            }
            Err(e) => {
                // a partial record must not stay: the group is not committed
                let _ = self.file.set_len(self.len);
                Err(ArangoError::internal(format!(
                    "cannot write the journal '{}': {e}",
                    self.path.display()
                )))
            }
        }
    }

    /// Takes back the last append (its commit failed).
    pub fn undo(&mut self, len_before: u64) {
        if self.file.set_len(len_before).is_ok() {
            self.len = len_before;
        }
    }

    /// The length now (to undo an append).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Empties the journal: a durable commit covers everything in it.
    pub fn clear(&mut self) {
        if self.len > 0 && self.file.set_len(0).is_ok() {
            self.len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stop_at_a_cut_or_damaged_one() {
        let mut data = Vec::new();
        for p in [&b"one"[..], b"two"] {
            data.extend_from_slice(&(p.len() as u32).to_le_bytes());
            data.extend_from_slice(&xxhash_rust::xxh64::xxh64(p, 0).to_le_bytes());
            data.extend_from_slice(p);
        }
        assert_eq!(records(&data), vec![&b"one"[..], b"two"]);
        assert_eq!(records(&data[..data.len() - 1]), vec![&b"one"[..]]);
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(records(&bad), vec![&b"one"[..]]);
    }
}
