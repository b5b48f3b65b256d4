//! Key generators (`traditional`, `autoincrement`, `uuid`, `padded`) and the tracking of user keys, so
//! that generated keys never collide with numeric keys a user chose.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::catalog::{KeyGenerator, KeyOptions};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A random u64 from the process's hash seeds and a counter. Not for cryptography: used for server ids,
/// `globallyUniqueId` prefixes and UUID keys, which must only be unlikely to collide.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A random (version 4) UUID in its text form (the `uuid` key generator's, AQL's `UUID()`).
pub fn uuid_v4() -> String {
    let hi = random_u64();
    let lo = random_u64();
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Generates the next key and advances `last_value`.
pub fn generate(opts: &KeyOptions, last_value: &mut u64) -> ArangoResult<String> {
    let exhausted = || {
        ArangoError::with_message(
            codes::ARANGO_DOCUMENT_KEY_BAD,
            "out of keys: the key generator reached its maximum value",
        )
    };
    match opts.generator {
        KeyGenerator::Traditional => {
            *last_value = last_value.checked_add(1).ok_or_else(exhausted)?;
            Ok(last_value.to_string())
        }
        KeyGenerator::Padded => {
            *last_value = last_value.checked_add(1).ok_or_else(exhausted)?;
            Ok(format!("{:016x}", *last_value))
        }
        KeyGenerator::Autoincrement => {
            let next = if *last_value < opts.offset {
                opts.offset.max(1)
            } else {
                let step = opts.increment - (*last_value - opts.offset) % opts.increment;
                last_value.checked_add(step).ok_or_else(exhausted)?
            };
            *last_value = next;
            Ok(next.to_string())
        }
        KeyGenerator::Uuid => Ok(uuid_v4()),
    }
}

/// Notes a user-supplied key so later generated keys stay above numeric ones.
pub fn track(opts: &KeyOptions, last_value: &mut u64, key: &str) {
    let value = match opts.generator {
        KeyGenerator::Traditional | KeyGenerator::Autoincrement => {
            if key.bytes().all(|b| b.is_ascii_digit()) {
                key.parse::<u64>().ok()
            } else {
                None
            }
        }
        KeyGenerator::Padded => {
            if key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
                u64::from_str_radix(key, 16).ok()
            } else {
                None
            }
        }
        KeyGenerator::Uuid => None,
    };
    if let Some(v) = value {
        *last_value = (*last_value).max(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(generator: KeyGenerator, increment: u64, offset: u64) -> KeyOptions {
        KeyOptions {
            generator,
            allow_user_keys: true,
            increment,
            offset,
        }
    }

    #[test]
    fn traditional_and_padded_count_up_past_user_keys() {
        let o = opts(KeyGenerator::Traditional, 1, 0);
        let mut last = 0;
        assert_eq!(generate(&o, &mut last).unwrap(), "1");
        track(&o, &mut last, "500");
        track(&o, &mut last, "abc");
        track(&o, &mut last, "20");
        assert_eq!(generate(&o, &mut last).unwrap(), "501");

        let p = opts(KeyGenerator::Padded, 1, 0);
        let mut last = 0;
        assert_eq!(generate(&p, &mut last).unwrap(), "0000000000000001");
        track(&p, &mut last, "00000000000000ff");
        assert_eq!(generate(&p, &mut last).unwrap(), "0000000000000100");
        let mut max = u64::MAX;
        assert_eq!(generate(&p, &mut max).unwrap_err().error_num, 1221);
    }

    #[test]
    fn autoincrement_follows_offset_and_increment() {
        let o = opts(KeyGenerator::Autoincrement, 10, 5);
        let mut last = 0;
        let keys: Vec<String> = (0..3).map(|_| generate(&o, &mut last).unwrap()).collect();
        assert_eq!(keys, ["5", "15", "25"]);
        track(&o, &mut last, "31");
        assert_eq!(generate(&o, &mut last).unwrap(), "35");
        let d = opts(KeyGenerator::Autoincrement, 1, 0);
        let mut last = 0;
        assert_eq!(generate(&d, &mut last).unwrap(), "1");
        assert_eq!(generate(&d, &mut last).unwrap(), "2");
    }

    #[test]
    fn uuid_keys_are_valid_distinct_v4() {
        let o = opts(KeyGenerator::Uuid, 1, 0);
        let mut last = 0;
        let a = generate(&o, &mut last).unwrap();
        let b = generate(&o, &mut last).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(crate::store::names::validate_key(&a).is_ok());
        assert_eq!(last, 0);
    }
}
