//! The hybrid logical clock behind ticks, `_rev` values and transaction ids, and ArangoDB's `_rev` string
//! encoding of it.
//!
//! A clock value is `(milliseconds since 1970 << 20) | counter`, as ArangoDB's; ours fills the counter's
//! upper ten bits with the microsecond within the millisecond (`µs << 10`), so a value also tells when,
//! to the microsecond, it was handed out (a follower measures its lag with it), and the lower ten bits
//! keep values unique within a microsecond. Every value handed out is strictly greater than the one
//! before, also across restarts: the store persists the clock with each commit and the clock
//! starts at `max(persisted, now)`. Values observed from elsewhere (a `_rev` kept with `isRestore`) push the
//! clock forward so later values stay above them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 64] = b"-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Revisions at or below this value are written as plain decimals (ArangoDB's `tickLimit`).
pub const TICK_LIMIT: u64 = 1_450_656_000_000;

/// Current wall-clock time in milliseconds since 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The clock value for a wall-clock time.
pub fn physical(ms: u64) -> u64 {
    ms << 20
}

/// Milliseconds since 1970 that a clock value stands for.
pub fn millis_of(value: u64) -> u64 {
    value >> 20
}

/// The clock value for now: milliseconds, and the microsecond within it (see the module's note).
pub fn physical_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let us = u64::from(d.subsec_micros() % 1000);
    ((d.as_millis() as u64) << 20) | (us << 10)
}

/// Encodes a u64 as ArangoDB's HLC string (base 64, most significant digit first, no padding).
pub fn encode_hlc(mut v: u64) -> String {
    let mut buf = [0u8; 11];
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = ALPHABET[(v & 63) as usize];
        v >>= 6;
    }
    buf[i..].iter().map(|&b| b as char).collect()
}

/// Decodes an HLC string; `None` for more than 11 characters or a character outside the alphabet.
pub fn decode_hlc(s: &str) -> Option<u64> {
    if s.len() > 11 {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        let d = match b {
            b'-' => 0,
            b'_' => 1,
            b'A'..=b'Z' => b - b'A' + 2,
            b'a'..=b'z' => b - b'a' + 28,
            b'0'..=b'9' => b - b'0' + 54,
            _ => return None,
        } as u64;
        v = v.checked_mul(64)?.checked_add(d)?;
    }
    Some(v)
}

/// A revision as its `_rev` string: plain decimal up to [`TICK_LIMIT`], HLC string above.
pub fn rev_to_string(rev: u64) -> String {
    if rev <= TICK_LIMIT {
        rev.to_string()
    } else {
        encode_hlc(rev)
    }
}

/// Parses a `_rev` string: a leading digit 1–9 means decimal, anything else HLC.
pub fn rev_from_string(s: &str) -> Option<u64> {
    match s.as_bytes().first() {
        Some(b'1'..=b'9') => s.parse().ok(),
        Some(_) => decode_hlc(s),
        None => None,
    }
}

/// A strictly increasing, wall-clock-anchored source of unique u64 values, shared by all threads.
#[derive(Debug)]
pub struct Clock {
    last: AtomicU64,
}

impl Clock {
    /// Starts above `floor` (the value persisted by the last commit) and above the wall clock.
    pub fn starting_after(floor: u64) -> Self {
        Clock {
            last: AtomicU64::new(floor.max(physical(now_ms()).saturating_sub(1))),
        }
    }

    /// The next value: greater than every value handed out or observed before.
    pub fn next(&self) -> u64 {
        let now = physical_now();
        let mut cur = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(cur + 1);
            match self
                .last
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Pushes the clock to at least `value` (a revision or tick received from elsewhere).
    pub fn observe(&self, value: u64) {
        // Values near u64::MAX would exhaust the clock; such revisions are kept but not tracked.
        if value < u64::MAX / 2 {
            self.last.fetch_max(value, Ordering::AcqRel);
        }
    }

    /// The highest value handed out or observed so far (what a commit persists).
    pub fn current(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hlc_test_vectors() {
        for (v, s) in [
            (0u64, ""),
            (1, "_"),
            (2, "A"),
            (10, "I"),
            (100, "_i"),
            (100_000, "WYe"),
            (1_000_000, "ByH-"),
            (1_000_000_000_000, "MhSnP--"),
            (10_000_000_000_000_000_000, "GpFGuQH4---"),
            (18_446_744_073_709_551_615, "N9999999999"),
        ] {
            assert_eq!(encode_hlc(v), s);
            assert_eq!(decode_hlc(s), Some(v));
        }
        assert_eq!(decode_hlc("_gky3lJC---"), Some(1_776_339_760_534_519_808));
        assert_eq!(millis_of(1_776_339_760_534_519_808), 1_694_049_606_833);
        assert_eq!(decode_hlc("abc def"), None);
        assert_eq!(decode_hlc("AAAAAAAAAAAA"), None);
    }

    #[test]
    fn rev_strings_switch_between_decimal_and_hlc() {
        assert_eq!(rev_to_string(12345), "12345");
        assert_eq!(rev_to_string(1_776_339_760_534_519_808), "_gky3lJC---");
        assert_eq!(rev_from_string("12345"), Some(12345));
        assert_eq!(
            rev_from_string("_gky3lJC---"),
            Some(1_776_339_760_534_519_808)
        );
        assert_eq!(rev_from_string(""), None);
    }

    #[test]
    fn clock_is_strictly_increasing_and_respects_floor_and_observations() {
        let far = physical(now_ms() + 10_000_000);
        let c = Clock::starting_after(far);
        let a = c.next();
        assert!(a > far);
        let b = c.next();
        assert!(b > a);
        c.observe(b + 1000);
        assert!(c.next() > b + 1000);
        let fresh = Clock::starting_after(0);
        assert!(millis_of(fresh.next()) + 5_000 >= now_ms());
    }
}
