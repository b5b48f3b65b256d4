//! The chunk hash of incremental sync by keys (spec §1.8, §7.2): both sides hash a key range the same
//! way, so a follower can tell which chunks differ without fetching them.

use crate::replication::wire::KeyRange;
use xxhash_rust::xxh64::xxh64;

/// The seed of VelocyPack's string hash.
const SEED: u64 = 0xdead_beef;
/// The hash of an empty range: ArangoDB's literal `0x012345678` (= 305,419,896; the spec's note "=
/// 19088743" is wrong, its test vectors below only hold with this value).
pub const EMPTY: u64 = 0x1234_5678;

/// XXH64 over the VelocyPack encoding of a string, header included.
pub fn vpack_string_hash(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut buf = [0u8; 136];
    if b.len() <= 126 {
        buf[0] = 0x40 + b.len() as u8;
        buf[1..=b.len()].copy_from_slice(b);
        xxh64(&buf[..=b.len()], SEED)
    } else {
        let mut v = Vec::with_capacity(9 + b.len());
        v.push(0xbf);
        v.extend_from_slice(&(b.len() as u64).to_le_bytes());
        v.extend_from_slice(b);
        xxh64(&v, SEED)
    }
}

/// Accumulates the hash of one key range.
#[derive(Debug, Clone, Copy)]
pub struct ChunkHash(u64);

impl Default for ChunkHash {
    fn default() -> Self {
        ChunkHash(EMPTY)
    }
}

impl ChunkHash {
    /// Adds one document (order does not matter).
    pub fn add(&mut self, key: &str, rev: &str) {
        self.0 ^= vpack_string_hash(key) ^ vpack_string_hash(rev);
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

/// Cuts a key-ordered stream of `(key, rev)` pairs into ranges of `size` keys with their hashes, as a
/// leader answers `GET /_api/replication/keys/<id>` (and as a follower checks its own copy).
#[derive(Debug)]
pub struct RangeBuilder {
    size: usize,
    ranges: Vec<KeyRange>,
    low: String,
    high: String,
    n: usize,
    h: ChunkHash,
}

impl RangeBuilder {
    pub fn new(size: usize) -> Self {
        RangeBuilder {
            size: size.max(1),
            ranges: Vec::new(),
            low: String::new(),
            high: String::new(),
            n: 0,
            h: ChunkHash::default(),
        }
    }

    /// Adds the next document (keys must come in ascending byte order).
    pub fn add(&mut self, key: &str, rev: &str) {
        if self.n == 0 {
            self.low = key.to_string();
        }
        self.h.add(key, rev);
        self.n += 1;
        if self.n == self.size {
            self.ranges.push(KeyRange {
                low: std::mem::take(&mut self.low),
                high: key.to_string(),
                hash: self.h.value().to_string(),
            });
            self.n = 0;
            self.h = ChunkHash::default();
        } else {
            self.high.clear();
            self.high.push_str(key);
        }
    }

    pub fn finish(mut self) -> Vec<KeyRange> {
        if self.n > 0 {
            self.ranges.push(KeyRange {
                low: self.low,
                high: self.high,
                hash: self.h.value().to_string(),
            });
        }
        self.ranges
    }
}

/// The hash of a whole range of `(key, rev)` pairs.
pub fn chunk_hash<'a>(docs: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = ChunkHash::default();
    for (k, r) in docs {
        h.add(k, r);
    }
    h.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_spec_vectors() {
        assert_eq!(xxh64(b"abc", 0), 0x44bc_2cf5_ad77_0999);
        assert_eq!(EMPTY, 305_419_896);
        assert_eq!(
            chunk_hash([("abc", "_XUJFD3C---")]),
            16_825_784_083_997_463_482
        );
        assert_eq!(
            chunk_hash([("1", "_gky3lJC---"), ("2", "_gky3lJG--C")]),
            4_456_567_171_705_816_812
        );
        // order within a range does not matter
        assert_eq!(
            chunk_hash([("2", "_gky3lJG--C"), ("1", "_gky3lJC---")]),
            4_456_567_171_705_816_812
        );
    }

    #[test]
    fn ranges_have_size_keys_each_but_the_last() {
        let keys: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut b = RangeBuilder::new(3);
        for k in &keys {
            b.add(k, "_r");
        }
        let r = b.finish();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].low.as_str(), r[0].high.as_str()), ("k0", "k2"));
        assert_eq!((r[2].low.as_str(), r[2].high.as_str()), ("k6", "k6"));
        assert_eq!(
            r[1].hash,
            chunk_hash(keys[3..6].iter().map(|k| (k.as_str(), "_r"))).to_string()
        );
        assert!(RangeBuilder::new(3).finish().is_empty());
    }

    #[test]
    fn long_strings_use_the_long_header() {
        let long = "k".repeat(200);
        let mut v = vec![0xbf];
        v.extend_from_slice(&200u64.to_le_bytes());
        v.extend_from_slice(long.as_bytes());
        assert_eq!(vpack_string_hash(&long), xxh64(&v, SEED));
        let edge = "x".repeat(126);
        let mut v = vec![0x40 + 126];
        v.extend_from_slice(edge.as_bytes());
        assert_eq!(vpack_string_hash(&edge), xxh64(&v, SEED));
    }
}
