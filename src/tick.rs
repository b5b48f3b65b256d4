//! The replication tick: a u64 on the inside, a decimal string on the wire.
//!
//! Ticks order every committed change. They must never pass through an f64 (JavaScript numbers lose
//! precision above 2^53), so JSON carries them as strings and comparisons are done as integers or with
//! [`compare_ticks`] on canonical decimal strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A position in the replication log. `Tick(0)` means "none / before everything".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tick(pub u64);

impl Tick {
    /// The tick before every other tick.
    pub const ZERO: Tick = Tick(0);

    /// The underlying integer.
    pub fn get(self) -> u64 {
        self.0
    }

    /// `None` for the zero tick, which ArangoDB renders as JSON `null` in applier state.
    pub fn non_zero(self) -> Option<Tick> {
        (self.0 != 0).then_some(self)
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a string is not a tick.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tick value '{0}': expecting a decimal number between 0 and 18446744073709551615")]
pub struct ParseTickError(pub String);

impl FromStr for Tick {
    type Err = ParseTickError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseTickError(s.to_string()));
        }
        t.parse::<u64>()
            .map(Tick)
            .map_err(|_| ParseTickError(s.to_string()))
    }
}

impl From<u64> for Tick {
    fn from(v: u64) -> Self {
        Tick(v)
    }
}

impl Serialize for Tick {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tick {
    /// Accepts a decimal string (the wire form) or a non-negative integer (older servers sent some
    /// ticks as numbers); `null` is not a tick — use `Option<Tick>`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Tick;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tick as a decimal string or an unsigned integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Tick, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Tick, E> {
                Ok(Tick(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Tick, E> {
                u64::try_from(v)
                    .map(Tick)
                    .map_err(|_| E::custom("a tick cannot be negative"))
            }
        }
        d.deserialize_any(V)
    }
}

/// arangosh's `compareTicks(l, r)`: `null`/missing counts as `"0"`; a shorter canonical decimal string
/// is smaller; otherwise the first differing character decides.
pub fn compare_ticks(l: Option<&str>, r: Option<&str>) -> Ordering {
    let l = l.unwrap_or("0");
    let r = r.unwrap_or("0");
    l.len().cmp(&r.len()).then_with(|| l.cmp(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_travel_as_strings_and_keep_all_64_bits() {
        let t = Tick(18_446_744_073_709_551_615);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, "\"18446744073709551615\"");
        let back: Tick = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
        let from_num: Tick = serde_json::from_str("189495").unwrap();
        assert_eq!(from_num, Tick(189_495));
        assert!(serde_json::from_str::<Tick>("\"-1\"").is_err());
        assert!(serde_json::from_str::<Tick>("\"12a\"").is_err());
        assert!(serde_json::from_str::<Tick>("\"18446744073709551616\"").is_err());
    }

    #[test]
    fn compare_ticks_matches_arangosh() {
        assert_eq!(compare_ticks(Some("9"), Some("10")), Ordering::Less);
        assert_eq!(
            compare_ticks(Some("189505"), Some("189479")),
            Ordering::Greater
        );
        assert_eq!(compare_ticks(None, Some("0")), Ordering::Equal);
        assert_eq!(compare_ticks(Some("5"), None), Ordering::Greater);
    }
}
