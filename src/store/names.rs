//! Name rules: database names, collection names and document keys, as ArangoDB allows them.

use crate::error::{ArangoError, ArangoResult, codes};
use unicode_normalization::is_nfc;

/// The database that always exists.
pub const SYSTEM_DATABASE: &str = "_system";

/// Longest document key ArangoDB accepts, in bytes.
pub const MAX_KEY_LEN: usize = 254;

fn traditional(name: &str, first_underscore: bool, max: usize) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && (b[0].is_ascii_alphabetic() || (first_underscore && b[0] == b'_'))
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

fn extended(name: &str, first_underscore: bool, max: usize) -> bool {
    let Some(first) = name.chars().next() else {
        return false;
    };
    name.len() <= max
        && !first.is_ascii_digit()
        && first != ' '
        && (first_underscore || first != '_')
        && !name.ends_with(' ')
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_control())
        && is_nfc(name)
}

/// Checks a database name for creation: traditional (`[A-Za-z][A-Za-z0-9_-]*`, ≤ 64 bytes) or extended
/// (Unicode in NFC, ≤ 128 bytes, no `/`, `:`, control characters, no leading digit, underscore or space).
pub fn validate_database_name(name: &str) -> ArangoResult<()> {
    if traditional(name, false, 64) || extended(name, false, 128) {
        Ok(())
    } else {
        Err(ArangoError::with_message(
            codes::ARANGO_DATABASE_NAME_INVALID,
            format!(
                "database name invalid: '{}' (names start with a letter, or are Unicode in NFC without '/', ':' or a leading digit, underscore or space; at most 64 bytes traditional / 128 bytes extended)",
                printable(name)
            ),
        ))
    }
}

/// Checks a collection name: traditional (`[A-Za-z_][A-Za-z0-9_-]*`) or extended (as for databases, but a
/// leading underscore marks a system collection), at most 256 bytes.
pub fn validate_collection_name(name: &str) -> ArangoResult<()> {
    if traditional(name, true, 256) || extended(name, true, 256) {
        Ok(())
    } else {
        Err(ArangoError::with_message(
            codes::ARANGO_ILLEGAL_NAME,
            format!(
                "illegal name: collection name '{}' is invalid",
                printable(name)
            ),
        ))
    }
}

/// Whether a collection name denotes a system collection.
pub fn is_system_name(name: &str) -> bool {
    name.starts_with('_')
}

/// Whether a byte may appear in a document key.
pub fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-:.@()+,=;$!*'%".contains(&c)
}

/// Checks a user-supplied `_key`: 1–254 bytes of `[A-Za-z0-9_-:.@()+,=;$!*'%]`.
pub fn validate_key(key: &str) -> ArangoResult<()> {
    if !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(is_key_char) {
        Ok(())
    } else {
        Err(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_KEY_BAD,
            format!(
                "illegal document key: '{}' (keys are 1 to 254 characters of A-Z a-z 0-9 _ - : . @ ( ) + , = ; $ ! * ' %)",
                printable(key)
            ),
        ))
    }
}

/// Checks a document handle `<collection>/<key>` (as used in `_from`/`_to`).
pub fn valid_handle(handle: &str) -> bool {
    match handle.split_once('/') {
        Some((c, k)) => validate_collection_name(c).is_ok() && validate_key(k).is_ok(),
        None => false,
    }
}

/// Names quoted in messages are cut short and stripped of control characters.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names() {
        for ok in ["a", "test", "my-db_2", "Ünïcödé", "数据库", &"x".repeat(64)] {
            assert!(validate_database_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "_system2",
            "1abc",
            " a",
            "a ",
            "a/b",
            "a:b",
            "tab\there",
            &"x".repeat(129),
            "e\u{301}", // not NFC
        ] {
            let e = validate_database_name(bad).unwrap_err();
            assert_eq!(e.error_num, 1229, "{bad:?}");
        }
        // 65..128 bytes are fine as an extended name
        assert!(validate_database_name(&"x".repeat(100)).is_ok());
    }

    #[test]
    fn collection_names() {
        for ok in ["c", "_users", "my_coll-1", "Ölkännchen"] {
            assert!(validate_collection_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1c", "a/b", "a:b", &"c".repeat(257)] {
            assert_eq!(validate_collection_name(bad).unwrap_err().error_num, 1208);
        }
        assert!(is_system_name("_graphs"));
        assert!(!is_system_name("graphs"));
    }

    #[test]
    fn keys() {
        for ok in [
            "a",
            "123",
            "a:b.c@d(e)+f,g=h;i$j!k*l'm%n_o-p",
            &"k".repeat(254),
        ] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a/b",
            "a b",
            "ä",
            "a\"b",
            "a#b",
            "a?b",
            &"k".repeat(255),
        ] {
            assert_eq!(validate_key(bad).unwrap_err().error_num, 1221, "{bad:?}");
        }
        assert!(valid_handle("users/123"));
        assert!(!valid_handle("users"));
        assert!(!valid_handle("users/"));
        assert!(!valid_handle("/123"));
        assert!(!valid_handle("us:ers/1"));
    }
}
