//! AQL's values are JSON values; this is AQL's view of them: the type order and comparison, the casts
//! (`TO_BOOL`, `TO_NUMBER`, `TO_STRING`), and numbers printed as ArangoDB prints them.

use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A number as AQL returns it: integral values as integers, non-finite ones as `null`.
pub fn num(n: f64) -> Value {
    if !n.is_finite() {
        return Value::Null;
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        if n == 0.0 {
            return Value::from(0);
        }
        return Value::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

pub fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// ArangoDB's comparison: null < bool < number < string < array < object; arrays element-wise (a
/// missing element is null), objects by their sorted attribute names and values.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(_), Value::Number(_)) => {
            as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            let n = x.len().max(y.len());
            for i in 0..n {
                let c = compare(
                    x.get(i).unwrap_or(&Value::Null),
                    y.get(i).unwrap_or(&Value::Null),
                );
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let c = compare(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        _ => Ordering::Equal,
    }
}

pub fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b) == Ordering::Equal
}

/// `TO_BOOL`.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(_) => as_f64(v) != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `TO_NUMBER`.
pub fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(_) => as_f64(v),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return 0.0;
            }
            t.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .unwrap_or(0.0)
        }
        Value::Array(a) => match a.as_slice() {
            [] => 0.0,
            [one] => to_number(one),
            _ => 0.0,
        },
        Value::Object(_) => 0.0,
    }
}

/// `TO_STRING`.
pub fn to_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    format!("{f:.0}")
                } else {
                    f.to_string()
                }
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The type name `TYPENAME` returns.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `a.b` of a value: an object's attribute, else null.
pub fn attribute<'v>(v: &'v Value, name: &str) -> &'v Value {
    static NULL: Value = Value::Null;
    match v {
        Value::Object(m) => m.get(name).unwrap_or(&NULL),
        _ => &NULL,
    }
}

/// `a[i]` of a value: an array's element (negative from the end), an object's attribute, else null.
pub fn index(v: &Value, i: &Value) -> Value {
    match (v, i) {
        (Value::Array(a), Value::Number(_)) => {
            let n = as_f64(i);
            if n.fract() != 0.0 {
                return Value::Null;
            }
            let idx = n as i64;
            let idx = if idx < 0 { a.len() as i64 + idx } else { idx };
            if idx < 0 {
                return Value::Null;
            }
            a.get(idx as usize).cloned().unwrap_or(Value::Null)
        }
        (Value::Array(a), Value::String(s)) => s
            .parse::<i64>()
            .ok()
            .and_then(|idx| {
                let idx = if idx < 0 { a.len() as i64 + idx } else { idx };
                (idx >= 0).then(|| a.get(idx as usize).cloned()).flatten()
            })
            .unwrap_or(Value::Null),
        (Value::Object(m), key) => m.get(&to_string(key)).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// `LIKE` with `%` and `_` wildcards and `\` escapes.
pub fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    // tokens: Some(c) literal, None = '%', Some('\0') with flag for '_'
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Lit(char),
        One,
        Any,
    }
    let mut toks = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                toks.push(P::Lit(p[i + 1]));
                i += 2;
                continue;
            }
            '%' => toks.push(P::Any),
            '_' => toks.push(P::One),
            c => toks.push(P::Lit(c)),
        }
        i += 1;
    }
    // iterative wildcard matching
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < toks.len() && (toks[pi] == P::One || toks[pi] == P::Lit(t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < toks.len() && toks[pi] == P::Any {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < toks.len() && toks[pi] == P::Any {
        pi += 1;
    }
    pi == toks.len()
}

/// `MERGE` of two objects (the second's attributes win); with `recursive`, nested objects merge too.
pub fn merge(a: &mut Map<String, Value>, b: &Map<String, Value>, recursive: bool) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(x)), Value::Object(y)) if recursive => merge(x, y, true),
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_order_and_comparison() {
        let ordered = [
            json!(null),
            json!(false),
            json!(true),
            json!(-1),
            json!(0),
            json!(2.5),
            json!(""),
            json!("a"),
            json!([]),
            json!([0]),
            json!({}),
        ];
        for w in ordered.windows(2) {
            assert_eq!(compare(&w[0], &w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert!(equal(&json!(1), &json!(1.0)));
        assert_eq!(compare(&json!([1]), &json!([1, null])), Ordering::Equal);
    }

    #[test]
    fn like_wildcards() {
        assert!(like("cart", "ca_t", false));
        assert!(like("carrot", "ca%", false));
        assert!(!like("carrot", "ca_", false));
        assert!(like("100%", "100\\%", false));
        assert!(like("FOO", "f%", true));
        assert!(like("", "%", false));
    }

    #[test]
    fn casts() {
        assert_eq!(to_number(&json!(" 12 ")), 12.0);
        assert_eq!(to_number(&json!("x")), 0.0);
        assert_eq!(to_number(&json!([3])), 3.0);
        assert_eq!(to_string(&json!(1.5)), "1.5");
        assert_eq!(to_string(&json!([1, 2])), "[1,2]");
        assert_eq!(num(3.0), json!(3));
        assert!(truthy(&json!([])) && !truthy(&json!("")));
    }
}
