//! Picks top-level attributes out of a stored document without parsing the rest: a byte scan over
//! the object finds each attribute's value, and only the wanted values are parsed. Stored documents
//! are JSON the store wrote; anything the scan does not expect (an escaped attribute name, a broken
//! structure) sends the document to the full parser instead.

use serde_json::{Map, Value};

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// The end of the string whose opening quote is at `i` (the index after its closing quote).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The end of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The value of the JSON text `v`: the common scalars (literals, small integers, strings without
/// escapes) directly, anything else through the parser.
fn value(v: &[u8]) -> Option<Value> {
    match v {
        b"true" => return Some(Value::Bool(true)),
        b"false" => return Some(Value::Bool(false)),
        b"null" => return Some(Value::Null),
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
            return std::str::from_utf8(inner)
                .ok()
                .map(|s| Value::String(s.to_owned()));
        }
        _ => {}
    }
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    if !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
        && v != b"-0"
    {
        let n: i64 = digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        return Some(Value::from(if digits.len() < v.len() { -n } else { n }));
    }
    serde_json::from_slice(v).ok()
}

/// The attributes of `wanted` found at the top level of the JSON object `b`; `None` when the scan meets
/// something it leaves to the full parser. Stored documents never repeat a top-level name (the store
/// normalizes a line that does, `check_stored_layout`), so the scan stops once it has every wanted one.
pub fn pick(wanted: &[&str], b: &[u8]) -> Option<Map<String, Value>> {
    let mut out = Map::with_capacity(wanted.len());
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = skip_string(b, i)?;
        let name = &b[i + 1..end - 1];
        if name.contains(&b'\\') {
            return None;
        }
        i = skip_ws(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let vend = skip_value(b, i)?;
        if let Some(w) = wanted.iter().find(|w| w.as_bytes() == name) {
            out.insert((*w).to_string(), value(&b[i..vend])?);
            if out.len() == wanted.len() {
                return Some(out);
            }
        }
        i = skip_ws(b, vend);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_what_a_full_parse_finds() {
        let doc = br#"{"_key":"a","q":"x\"y}","n":-1.5e3,"o":{"a":[1,{"b":"]"}]},"t":true,"z":null,"s":"last"}"#;
        let got = pick(&["s", "n", "o", "z", "missing"], doc).unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"s": "last", "n": -1500.0, "o": {"a": [1, {"b": "]"}]}, "z": null})
        );
        // once every wanted attribute is there, the rest is not read
        let got = pick(&["_key", "n"], br#"{"_key":"a","n":1,"rest":[oops"#).unwrap();
        assert_eq!(Value::Object(got), json!({"_key": "a", "n": 1}));
        assert_eq!(pick(&["a"], b" { } ").unwrap(), Map::new());
        assert!(pick(&["a"], br#"{"a\"b":1}"#).is_none());
        assert!(pick(&["a", "b"], br#"{"a":1"#).is_none());
        assert!(pick(&["a"], br#"[1]"#).is_none());
    }

    #[test]
    fn scalars_read_directly_equal_the_parsers() {
        for t in [
            "true",
            "false",
            "null",
            "0",
            "-0",
            "7",
            "-7",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "99999999999999999999",
            "1.5",
            "-2e3",
            r#""""#,
            r#""plain""#,
            r#""K\u00f6ln""#,
            r#""Köln""#,
            r#""a\"b""#,
            "[1,2]",
            r#"{"a":1}"#,
        ] {
            let want: Value = serde_json::from_str(t).unwrap();
            let got = value(t.as_bytes()).unwrap();
            assert_eq!(got, want, "{t}");
            assert_eq!(got.to_string(), want.to_string(), "{t}");
        }
    }
}
