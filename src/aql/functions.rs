//! AQL's functions, by name. An unknown name is ArangoDB's 1540; a wrong number of arguments 1541.

use crate::aql::dates;
use crate::aql::exec::Context;
use crate::aql::value::{compare, equal, merge, num, to_number, to_string, truthy, type_name};
use crate::error::{ArangoError, ArangoResult, codes};
use serde_json::{Map, Value};
use std::cmp::Ordering;

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> ArangoResult<()> {
    if args.len() < min || args.len() > max {
        return Err(ArangoError::with_message(
            codes::QUERY_FUNCTION_ARGUMENT_NUMBER_MISMATCH,
            format!(
                "invalid number of arguments for function '{name}()', expected number of arguments: minimum: {min}, maximum: {max}"
            ),
        ));
    }
    Ok(())
}

fn arg(args: &[Value], i: usize) -> &Value {
    static NULL: Value = Value::Null;
    args.get(i).unwrap_or(&NULL)
}

fn array_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        _ => Vec::new(),
    }
}

fn unique(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.iter().any(|x| equal(x, &v)) {
            out.push(v);
        }
    }
    out
}

/// A compiled regular expression of AQL's `=~`, `REGEX_TEST` and friends.
pub fn regex(pattern: &str, case_insensitive: bool) -> ArangoResult<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            ArangoError::with_message(
                codes::QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH,
                format!("invalid regex value: {e}"),
            )
        })
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn not_supported(name: &str, what: &str) -> ArangoError {
    ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        format!("{what} ({name}()) are not supported by arangorepl's AQL"),
    )
}

/// Calls function `name` (upper case) with evaluated arguments.
pub fn call(ctx: &mut Context<'_>, name: &str, args: Vec<Value>) -> ArangoResult<Value> {
    let a = &args;
    let s0 = || to_string(arg(a, 0));
    Ok(match name {
        // type checks and casts
        "IS_NULL" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_null())
        }
        "IS_BOOL" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_boolean())
        }
        "IS_NUMBER" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_number())
        }
        "IS_STRING" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_string())
        }
        "IS_ARRAY" | "IS_LIST" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_array())
        }
        "IS_OBJECT" | "IS_DOCUMENT" => {
            arity(name, a, 1, 1)?;
            Value::Bool(a[0].is_object())
        }
        "TYPENAME" => {
            arity(name, a, 1, 1)?;
            Value::from(type_name(&a[0]))
        }
        "TO_BOOL" => {
            arity(name, a, 1, 1)?;
            Value::Bool(truthy(&a[0]))
        }
        "TO_NUMBER" => {
            arity(name, a, 1, 1)?;
            num(to_number(&a[0]))
        }
        "TO_STRING" => {
            arity(name, a, 1, 1)?;
            Value::from(to_string(&a[0]))
        }
        "TO_ARRAY" | "TO_LIST" => {
            arity(name, a, 1, 1)?;
            match &a[0] {
                Value::Null => Value::Array(Vec::new()),
                Value::Array(x) => Value::Array(x.clone()),
                Value::Object(m) => Value::Array(m.values().cloned().collect()),
                other => Value::Array(vec![other.clone()]),
            }
        }
        "NOT_NULL" => a
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        "FIRST_LIST" => a
            .iter()
            .find(|v| v.as_array().is_some_and(|x| !x.is_empty()))
            .cloned()
            .unwrap_or(Value::Null),
        "FIRST_DOCUMENT" => a
            .iter()
            .find(|v| v.is_object())
            .cloned()
            .unwrap_or(Value::Null),
        // strings
        "CONCAT" => {
            let mut s = String::new();
            for v in a {
                match v {
                    Value::Array(items) => items
                        .iter()
                        .filter(|x| !x.is_null())
                        .for_each(|x| s.push_str(&to_string(x))),
                    Value::Null => {}
                    other => s.push_str(&to_string(other)),
                }
            }
            Value::from(s)
        }
        "CONCAT_SEPARATOR" => {
            arity(name, a, 2, usize::MAX)?;
            let sep = to_string(&a[0]);
            let mut parts = Vec::new();
            for v in &a[1..] {
                match v {
                    Value::Array(items) => items
                        .iter()
                        .filter(|x| !x.is_null())
                        .for_each(|x| parts.push(to_string(x))),
                    Value::Null => {}
                    other => parts.push(to_string(other)),
                }
            }
            Value::from(parts.join(&sep))
        }
        "LOWER" => {
            arity(name, a, 1, 1)?;
            Value::from(s0().to_lowercase())
        }
        "UPPER" => {
            arity(name, a, 1, 1)?;
            Value::from(s0().to_uppercase())
        }
        "TRIM" | "LTRIM" | "RTRIM" => {
            arity(name, a, 1, 2)?;
            let s = s0();
            let (left, right) = match (name, a.get(1)) {
                ("LTRIM", _) => (true, false),
                ("RTRIM", _) => (false, true),
                (_, Some(Value::Number(n))) => match n.as_u64() {
                    Some(1) => (true, false),
                    Some(2) => (false, true),
                    _ => (true, true),
                },
                _ => (true, true),
            };
            let set: Option<Vec<char>> = match (name, a.get(1)) {
                ("TRIM", Some(Value::String(c))) | ("LTRIM" | "RTRIM", Some(Value::String(c))) => {
                    Some(c.chars().collect())
                }
                _ => None,
            };
            let is_trim = |c: char| match &set {
                Some(cs) => cs.contains(&c),
                None => c.is_whitespace(),
            };
            let mut t: &str = &s;
            if left {
                t = t.trim_start_matches(is_trim);
            }
            if right {
                t = t.trim_end_matches(is_trim);
            }
            Value::from(t)
        }
        "SUBSTRING" => {
            arity(name, a, 2, 3)?;
            let c = chars(&s0());
            let len = c.len() as i64;
            let mut start = to_number(&a[1]) as i64;
            if start < 0 {
                start = (len + start).max(0);
            }
            let start = start.min(len) as usize;
            let n = match a.get(2) {
                Some(v) if !v.is_null() => {
                    let n = to_number(v) as i64;
                    if n < 0 {
                        (len - start as i64 + n).max(0) as usize
                    } else {
                        n as usize
                    }
                }
                _ => c.len() - start,
            };
            Value::from(
                c[start..(start + n).min(c.len())]
                    .iter()
                    .collect::<String>(),
            )
        }
        "LEFT" => {
            arity(name, a, 2, 2)?;
            let n = to_number(&a[1]).max(0.0) as usize;
            Value::from(s0().chars().take(n).collect::<String>())
        }
        "RIGHT" => {
            arity(name, a, 2, 2)?;
            let c = chars(&s0());
            let n = (to_number(&a[1]).max(0.0) as usize).min(c.len());
            Value::from(c[c.len() - n..].iter().collect::<String>())
        }
        "CONTAINS" => {
            arity(name, a, 2, 3)?;
            let (h, n) = (s0(), to_string(&a[1]));
            let pos = h.find(&n).map(|b| h[..b].chars().count() as i64);
            if a.get(2).is_some_and(truthy) {
                Value::from(pos.unwrap_or(-1))
            } else {
                Value::Bool(pos.is_some())
            }
        }
        "FIND_FIRST" => {
            arity(name, a, 2, 4)?;
            let (h, n) = (s0(), to_string(&a[1]));
            Value::from(h.find(&n).map_or(-1, |b| h[..b].chars().count() as i64))
        }
        "LIKE" => {
            arity(name, a, 2, 3)?;
            Value::Bool(crate::aql::value::like(
                &s0(),
                &to_string(&a[1]),
                a.get(2).is_some_and(truthy),
            ))
        }
        "REGEX_TEST" => {
            arity(name, a, 2, 3)?;
            Value::Bool(regex(&to_string(&a[1]), a.get(2).is_some_and(truthy))?.is_match(&s0()))
        }
        "REGEX_REPLACE" => {
            arity(name, a, 3, 4)?;
            let re = regex(&to_string(&a[1]), a.get(3).is_some_and(truthy))?;
            Value::from(
                re.replace_all(&s0(), to_string(&a[2]).as_str())
                    .into_owned(),
            )
        }
        "SPLIT" => {
            arity(name, a, 1, 3)?;
            let s = s0();
            let limit = a
                .get(2)
                .filter(|v| !v.is_null())
                .map(|v| to_number(v) as usize);
            let mut parts: Vec<Value> = match a.get(1) {
                None | Some(Value::Null) => vec![Value::from(s.clone())],
                Some(sep) => {
                    let sep = to_string(sep);
                    if sep.is_empty() {
                        s.chars().map(|c| Value::from(c.to_string())).collect()
                    } else {
                        s.split(sep.as_str()).map(Value::from).collect()
                    }
                }
            };
            if let Some(l) = limit {
                parts.truncate(l);
            }
            Value::Array(parts)
        }
        "SUBSTITUTE" => {
            arity(name, a, 2, 4)?;
            let mut s = s0();
            match (&a[1], a.get(2)) {
                (Value::Object(m), _) => {
                    for (k, v) in m {
                        s = s.replace(k.as_str(), &to_string(v));
                    }
                }
                (Value::Array(from), to) => {
                    let to = to.map(array_of).unwrap_or_default();
                    for (i, f) in from.iter().enumerate() {
                        s = s.replace(&to_string(f), &to.get(i).map(to_string).unwrap_or_default());
                    }
                }
                (f, to) => s = s.replace(&to_string(f), &to.map(to_string).unwrap_or_default()),
            }
            Value::from(s)
        }
        "REVERSE" => {
            arity(name, a, 1, 1)?;
            match &a[0] {
                Value::Array(x) => Value::Array(x.iter().rev().cloned().collect()),
                other => Value::from(to_string(other).chars().rev().collect::<String>()),
            }
        }
        "CHAR_LENGTH" => {
            arity(name, a, 1, 1)?;
            Value::from(s0().chars().count())
        }
        "MD5" => {
            arity(name, a, 1, 1)?;
            Value::from(dates::md5(s0().as_bytes()))
        }
        "SHA1" => {
            arity(name, a, 1, 1)?;
            Value::from(dates::sha1(s0().as_bytes()))
        }
        "SHA256" => {
            arity(name, a, 1, 1)?;
            use sha2::Digest;
            Value::from(hex(&sha2::Sha256::digest(s0().as_bytes())))
        }
        "SHA512" => {
            arity(name, a, 1, 1)?;
            use sha2::Digest;
            Value::from(hex(&sha2::Sha512::digest(s0().as_bytes())))
        }
        "UUID" => {
            arity(name, a, 0, 0)?;
            Value::from(crate::store::keygen::uuid_v4())
        }
        // numbers
        "ABS" => {
            arity(name, a, 1, 1)?;
            num(to_number(&a[0]).abs())
        }
        "FLOOR" => {
            arity(name, a, 1, 1)?;
            num(to_number(&a[0]).floor())
        }
        "CEIL" => {
            arity(name, a, 1, 1)?;
            num(to_number(&a[0]).ceil())
        }
        "ROUND" => {
            arity(name, a, 1, 1)?;
            num((to_number(&a[0]) + 0.5).floor())
        }
        "SQRT" => {
            arity(name, a, 1, 1)?;
            num(to_number(&a[0]).sqrt())
        }
        "POW" => {
            arity(name, a, 2, 2)?;
            num(to_number(&a[0]).powf(to_number(&a[1])))
        }
        "RAND" => {
            arity(name, a, 0, 0)?;
            num((crate::store::keygen::random_u64() >> 11) as f64 / (1u64 << 53) as f64)
        }
        // arrays
        "LENGTH" | "COUNT" => {
            arity(name, a, 1, 1)?;
            Value::from(match &a[0] {
                Value::Null => 0,
                Value::Bool(b) => usize::from(*b),
                Value::Number(_) => to_string(&a[0]).chars().count(),
                Value::String(s) => s.chars().count(),
                Value::Array(x) => x.len(),
                Value::Object(m) => m.len(),
            })
        }
        "FIRST" => {
            arity(name, a, 1, 1)?;
            array_of(&a[0]).into_iter().next().unwrap_or(Value::Null)
        }
        "LAST" => {
            arity(name, a, 1, 1)?;
            array_of(&a[0]).pop().unwrap_or(Value::Null)
        }
        "NTH" => {
            arity(name, a, 2, 2)?;
            let i = to_number(&a[1]);
            if i < 0.0 {
                Value::Null
            } else {
                array_of(&a[0])
                    .into_iter()
                    .nth(i as usize)
                    .unwrap_or(Value::Null)
            }
        }
        "POSITION" | "CONTAINS_ARRAY" => {
            arity(name, a, 2, 3)?;
            let items = array_of(&a[0]);
            let pos = items.iter().position(|x| equal(x, &a[1]));
            if a.get(2).is_some_and(truthy) {
                Value::from(pos.map_or(-1, |p| p as i64))
            } else {
                Value::Bool(pos.is_some())
            }
        }
        "PUSH" => {
            arity(name, a, 2, 3)?;
            let mut items = array_of(&a[0]);
            if !(a.get(2).is_some_and(truthy) && items.iter().any(|x| equal(x, &a[1]))) {
                items.push(a[1].clone());
            }
            Value::Array(items)
        }
        "APPEND" => {
            arity(name, a, 2, 3)?;
            let mut items = array_of(&a[0]);
            let more = match &a[1] {
                Value::Array(x) => x.clone(),
                other => vec![other.clone()],
            };
            let uniq = a.get(2).is_some_and(truthy);
            for m in more {
                if !(uniq && items.iter().any(|x| equal(x, &m))) {
                    items.push(m);
                }
            }
            if uniq {
                Value::Array(unique(items))
            } else {
                Value::Array(items)
            }
        }
        "UNSHIFT" => {
            arity(name, a, 2, 3)?;
            let mut items = array_of(&a[0]);
            if !(a.get(2).is_some_and(truthy) && items.iter().any(|x| equal(x, &a[1]))) {
                items.insert(0, a[1].clone());
            }
            Value::Array(items)
        }
        "POP" => {
            arity(name, a, 1, 1)?;
            let mut x = array_of(&a[0]);
            x.pop();
            Value::Array(x)
        }
        "SHIFT" => {
            arity(name, a, 1, 1)?;
            let x = array_of(&a[0]);
            Value::Array(x.into_iter().skip(1).collect())
        }
        "UNIQUE" => {
            arity(name, a, 1, 1)?;
            Value::Array(unique(array_of(&a[0])))
        }
        "SORTED" => {
            arity(name, a, 1, 1)?;
            let mut x = array_of(&a[0]);
            x.sort_by(compare);
            Value::Array(x)
        }
        "SORTED_UNIQUE" => {
            arity(name, a, 1, 1)?;
            let mut x = unique(array_of(&a[0]));
            x.sort_by(compare);
            Value::Array(x)
        }
        "UNION" => {
            arity(name, a, 1, usize::MAX)?;
            Value::Array(a.iter().flat_map(array_of).collect())
        }
        "UNION_DISTINCT" => {
            arity(name, a, 1, usize::MAX)?;
            Value::Array(unique(a.iter().flat_map(array_of).collect()))
        }
        "INTERSECTION" => {
            arity(name, a, 1, usize::MAX)?;
            let mut out = unique(array_of(&a[0]));
            for other in &a[1..] {
                let o = array_of(other);
                out.retain(|x| o.iter().any(|y| equal(x, y)));
            }
            Value::Array(out)
        }
        "MINUS" => {
            arity(name, a, 1, usize::MAX)?;
            let mut out = unique(array_of(&a[0]));
            for other in &a[1..] {
                let o = array_of(other);
                out.retain(|x| !o.iter().any(|y| equal(x, y)));
            }
            Value::Array(out)
        }
        "OUTERSECTION" => {
            arity(name, a, 1, usize::MAX)?;
            let all: Vec<Value> = a.iter().flat_map(|v| unique(array_of(v))).collect();
            let out: Vec<Value> = all
                .iter()
                .filter(|x| all.iter().filter(|y| equal(x, y)).count() == 1)
                .cloned()
                .collect();
            Value::Array(out)
        }
        "FLATTEN" => {
            arity(name, a, 1, 2)?;
            let depth = a.get(1).map_or(1, |d| to_number(d).max(0.0) as usize);
            fn flat(v: Vec<Value>, depth: usize, out: &mut Vec<Value>) {
                for x in v {
                    match x {
                        Value::Array(inner) if depth > 0 => flat(inner, depth - 1, out),
                        other => out.push(other),
                    }
                }
            }
            let mut out = Vec::new();
            flat(array_of(&a[0]), depth, &mut out);
            Value::Array(out)
        }
        "SLICE" => {
            arity(name, a, 2, 3)?;
            let items = array_of(&a[0]);
            let len = items.len() as i64;
            let mut start = to_number(&a[1]) as i64;
            if start < 0 {
                start = (len + start).max(0);
            }
            let start = start.min(len);
            let end = match a.get(2) {
                Some(v) if !v.is_null() => {
                    let n = to_number(v) as i64;
                    if n < 0 { len + n } else { start + n }
                }
                _ => len,
            }
            .clamp(start, len);
            Value::Array(items[start as usize..end as usize].to_vec())
        }
        "RANGE" => {
            arity(name, a, 2, 3)?;
            let (lo, hi) = (to_number(&a[0]), to_number(&a[1]));
            let step = a
                .get(2)
                .map_or(if lo <= hi { 1.0 } else { -1.0 }, to_number);
            if step == 0.0 || (hi - lo) / step < 0.0 || (hi - lo) / step > 10_000_000.0 {
                return Err(ArangoError::with_message(
                    codes::QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH,
                    "invalid argument type in call to function 'RANGE()'",
                ));
            }
            let mut out = Vec::new();
            let mut x = lo;
            while (step > 0.0 && x <= hi) || (step < 0.0 && x >= hi) {
                out.push(num(x));
                x += step;
            }
            Value::Array(out)
        }
        "SUM" => {
            arity(name, a, 1, 1)?;
            num(array_of(&a[0])
                .iter()
                .filter(|v| !v.is_null())
                .map(to_number)
                .sum())
        }
        "MIN" => {
            arity(name, a, 1, 1)?;
            array_of(&a[0])
                .into_iter()
                .filter(|v| !v.is_null())
                .min_by(compare)
                .unwrap_or(Value::Null)
        }
        "MAX" => {
            arity(name, a, 1, 1)?;
            array_of(&a[0])
                .into_iter()
                .max_by(compare)
                .filter(|v| !v.is_null())
                .unwrap_or(Value::Null)
        }
        "AVERAGE" | "AVG" => {
            arity(name, a, 1, 1)?;
            let n: Vec<f64> = array_of(&a[0])
                .iter()
                .filter(|v| !v.is_null())
                .map(to_number)
                .collect();
            if n.is_empty() {
                Value::Null
            } else {
                num(n.iter().sum::<f64>() / n.len() as f64)
            }
        }
        "MEDIAN" => {
            arity(name, a, 1, 1)?;
            let mut n: Vec<f64> = array_of(&a[0])
                .iter()
                .filter(|v| !v.is_null())
                .map(to_number)
                .collect();
            n.sort_by(|x, y| x.partial_cmp(y).unwrap_or(Ordering::Equal));
            match n.len() {
                0 => Value::Null,
                l if l % 2 == 1 => num(n[l / 2]),
                l => num((n[l / 2 - 1] + n[l / 2]) / 2.0),
            }
        }
        // objects
        "HAS" => {
            arity(name, a, 2, 2)?;
            Value::Bool(
                a[0].as_object()
                    .is_some_and(|m| m.contains_key(&to_string(&a[1]))),
            )
        }
        "ATTRIBUTES" | "KEYS" => {
            arity(name, a, 1, 3)?;
            let no_internal = a.get(1).is_some_and(truthy);
            let mut keys: Vec<String> = a[0]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            if no_internal {
                keys.retain(|k| !k.starts_with('_'));
            }
            if a.get(2).is_some_and(truthy) {
                keys.sort();
            }
            Value::Array(keys.into_iter().map(Value::from).collect())
        }
        "VALUES" => {
            arity(name, a, 1, 2)?;
            let no_internal = a.get(1).is_some_and(truthy);
            Value::Array(
                a[0].as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| !(no_internal && k.starts_with('_')))
                            .map(|(_, v)| v.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        "KEEP" | "UNSET" => {
            arity(name, a, 1, usize::MAX)?;
            let names: Vec<String> = a[1..]
                .iter()
                .flat_map(|v| match v {
                    Value::Array(x) => x.iter().map(to_string).collect::<Vec<_>>(),
                    other => vec![to_string(other)],
                })
                .collect();
            let keep = name == "KEEP";
            let m: Map<String, Value> = a[0]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| names.contains(k) == keep)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            Value::Object(m)
        }
        "MERGE" | "MERGE_RECURSIVE" => {
            arity(name, a, 1, usize::MAX)?;
            let parts: Vec<Value> = if a.len() == 1 {
                array_of(&a[0])
            } else {
                a.clone()
            };
            let mut out = Map::new();
            for p in &parts {
                match p {
                    Value::Object(m) => merge(&mut out, m, name == "MERGE_RECURSIVE"),
                    _ => {
                        return Err(ArangoError::with_message(
                            codes::QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH,
                            format!("invalid argument type in call to function '{name}()'"),
                        ));
                    }
                }
            }
            Value::Object(out)
        }
        "ZIP" => {
            arity(name, a, 2, 2)?;
            let (k, v) = (array_of(&a[0]), array_of(&a[1]));
            Value::Object(k.iter().zip(v).map(|(k, v)| (to_string(k), v)).collect())
        }
        "MATCHES" => {
            arity(name, a, 2, 3)?;
            let examples = match &a[1] {
                Value::Array(x) => x.clone(),
                other => vec![other.clone()],
            };
            let pos = examples.iter().position(|ex| {
                ex.as_object().is_some_and(|e| {
                    e.iter()
                        .all(|(k, v)| a[0].get(k).is_some_and(|x| equal(x, v)))
                })
            });
            if a.get(2).is_some_and(truthy) {
                Value::from(pos.map_or(-1, |p| p as i64))
            } else {
                Value::Bool(pos.is_some())
            }
        }
        // documents and the database
        "DOCUMENT" => {
            arity(name, a, 1, 2)?;
            let (coll, ids) = if a.len() == 2 {
                (Some(to_string(&a[0])), a[1].clone())
            } else {
                (None, a[0].clone())
            };
            let fetch = |ctx: &mut Context<'_>, id: &Value| -> ArangoResult<Value> {
                let s = to_string(id);
                let (c, k) = match (&coll, s.split_once('/')) {
                    (_, Some((c, k))) => (c.to_string(), k.to_string()),
                    (Some(c), None) => (c.clone(), s.clone()),
                    (None, None) => return Ok(Value::Null),
                };
                let Ok(def) = ctx.snap.catalog().collection(ctx.db, &c) else {
                    return Ok(Value::Null);
                };
                let cid = def.id;
                Ok(ctx.document(cid, &k)?.unwrap_or(Value::Null))
            };
            match &ids {
                Value::Array(list) => {
                    let mut out = Vec::new();
                    for id in list {
                        let d = fetch(ctx, id)?;
                        if !d.is_null() {
                            out.push(d);
                        }
                    }
                    Value::Array(out)
                }
                id => fetch(ctx, id)?,
            }
        }
        "CURRENT_DATABASE" => {
            arity(name, a, 0, 0)?;
            Value::from(ctx.db)
        }
        "COLLECTIONS" => {
            arity(name, a, 0, 0)?;
            let mut list: Vec<Value> = ctx
                .snap
                .catalog()
                .collections_of(ctx.db)?
                .iter()
                .map(|c| serde_json::json!({"_id": c.id.to_string(), "name": c.name}))
                .collect();
            list.sort_by(|x, y| compare(&x["name"], &y["name"]));
            Value::Array(list)
        }
        "COLLECTION_COUNT" | "LENGTH_OF_COLLECTION" => {
            arity(name, a, 1, 1)?;
            let cid = ctx.snap.catalog().collection(ctx.db, &s0())?.id;
            Value::from(ctx.snap.stats(cid)?.count)
        }
        "PARSE_IDENTIFIER" => {
            arity(name, a, 1, 1)?;
            let s = match &a[0] {
                Value::Object(m) => m.get("_id").map(to_string).unwrap_or_default(),
                v => to_string(v),
            };
            match s.split_once('/') {
                Some((c, k)) => serde_json::json!({"collection": c, "key": k}),
                None => {
                    return Err(ArangoError::with_message(
                        codes::QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH,
                        "invalid argument type in call to function 'PARSE_IDENTIFIER()'",
                    ));
                }
            }
        }
        "FAIL" => {
            return Err(ArangoError::with_message(
                codes::QUERY_FAIL_CALLED,
                a.first()
                    .map(to_string)
                    .unwrap_or_else(|| "FAIL(...) called".into()),
            ));
        }
        "NOOPT" | "PASSTHRU" => {
            arity(name, a, 1, 1)?;
            a[0].clone()
        }
        "DATE_NOW" => {
            arity(name, a, 0, 0)?;
            num(crate::time::unix_millis().floor())
        }
        "DATE_ISO8601" | "DATE_TIMESTAMP" => {
            arity(name, a, 1, 7)?;
            let t = if a.len() == 1 {
                dates::date_of(&a[0])
            } else {
                let n = |i: usize| a.get(i).map_or(0, |v| to_number(v) as i64);
                let (y, mo, d) = (n(0), n(1), n(2));
                ((1..=12).contains(&mo) && d >= 1 && d <= dates::days_in_month(y, mo)).then(|| {
                    dates::from_parts(dates::Parts {
                        y,
                        mo,
                        d,
                        h: n(3),
                        mi: n(4),
                        s: n(5),
                        ms: n(6),
                    })
                })
            };
            match t {
                Some(t) if name == "DATE_ISO8601" => Value::from(dates::iso(t)),
                Some(t) => Value::from(t),
                None => Value::Null,
            }
        }
        "DATE_ADD" | "DATE_SUBTRACT" => {
            arity(name, a, 2, 3)?;
            let sign = if name == "DATE_ADD" { 1.0 } else { -1.0 };
            let steps = if a.len() == 3 {
                dates::unit(&to_string(&a[2])).map(|u| vec![(to_number(&a[1]), u)])
            } else {
                dates::duration(&to_string(&a[1]))
            };
            match (dates::date_of(&a[0]), steps) {
                (Some(mut t), Some(steps)) => {
                    for (n, u) in steps {
                        t = dates::add(t, sign * n, u);
                    }
                    Value::from(dates::iso(t))
                }
                _ => Value::Null,
            }
        }
        "DATE_DIFF" => {
            arity(name, a, 3, 4)?;
            let float = a.get(3).is_some_and(truthy);
            match (
                dates::date_of(&a[0]),
                dates::date_of(&a[1]),
                dates::unit(&to_string(&a[2])),
            ) {
                (Some(x), Some(y), Some(u)) => num(dates::diff(x, y, u, float)),
                _ => Value::Null,
            }
        }
        "DATE_FORMAT" => {
            arity(name, a, 2, 2)?;
            match dates::date_of(&a[0]) {
                Some(t) => Value::from(dates::format(t, &to_string(&a[1]))),
                None => Value::Null,
            }
        }
        "DATE_TRUNC" => {
            arity(name, a, 2, 2)?;
            match (dates::date_of(&a[0]), dates::unit(&to_string(&a[1]))) {
                (Some(t), Some(u)) => {
                    let mut p = dates::parts(t);
                    let order = ['y', 'm', 'd', 'h', 'i', 's', 'f'];
                    let keep = order.iter().position(|c| *c == u).unwrap_or(6);
                    if keep < 1 {
                        p.mo = 1;
                    }
                    if keep < 2 {
                        p.d = 1;
                    }
                    if keep < 3 {
                        p.h = 0;
                    }
                    if keep < 4 {
                        p.mi = 0;
                    }
                    if keep < 5 {
                        p.s = 0;
                    }
                    if keep < 6 {
                        p.ms = 0;
                    }
                    Value::from(dates::iso(dates::from_parts(p)))
                }
                _ => Value::Null,
            }
        }
        "DATE_YEAR" | "DATE_MONTH" | "DATE_DAY" | "DATE_HOUR" | "DATE_MINUTE" | "DATE_SECOND"
        | "DATE_MILLISECOND" | "DATE_DAYOFWEEK" | "DATE_DAYOFYEAR" | "DATE_ISOWEEK"
        | "DATE_LEAPYEAR" | "DATE_QUARTER" | "DATE_DAYS_IN_MONTH" => {
            arity(name, a, 1, 1)?;
            match dates::date_of(&a[0]) {
                Some(t) => {
                    let p = dates::parts(t);
                    match name {
                        "DATE_YEAR" => Value::from(p.y),
                        "DATE_MONTH" => Value::from(p.mo),
                        "DATE_DAY" => Value::from(p.d),
                        "DATE_HOUR" => Value::from(p.h),
                        "DATE_MINUTE" => Value::from(p.mi),
                        "DATE_SECOND" => Value::from(p.s),
                        "DATE_MILLISECOND" => Value::from(p.ms),
                        "DATE_DAYOFWEEK" => Value::from(dates::weekday(t)),
                        "DATE_DAYOFYEAR" => Value::from(dates::day_of_year(t)),
                        "DATE_ISOWEEK" => Value::from(dates::iso_week(t)),
                        "DATE_LEAPYEAR" => Value::from(dates::leap(p.y)),
                        "DATE_QUARTER" => Value::from((p.mo - 1) / 3 + 1),
                        _ => Value::from(dates::days_in_month(p.y, p.mo)),
                    }
                }
                None => Value::Null,
            }
        }
        "SLEEP" => {
            arity(name, a, 1, 1)?;
            std::thread::sleep(std::time::Duration::from_secs_f64(
                to_number(&a[0]).clamp(0.0, 60.0),
            ));
            Value::Null
        }
        "GEO_DISTANCE" | "GEO_CONTAINS" | "GEO_INTERSECTS" | "NEAR" | "WITHIN"
        | "WITHIN_RECTANGLE" | "DISTANCE" | "IS_IN_POLYGON" | "GEO_POINT" | "GEO_POLYGON" => {
            return Err(not_supported(name, "geo functions"));
        }
        "FULLTEXT" => return Err(not_supported(name, "fulltext functions")),
        n if n.contains("::") => return Err(not_supported(n, "user-defined functions")),
        _ => {
            return Err(ArangoError::with_message(
                codes::QUERY_FUNCTION_NAME_UNKNOWN,
                format!("usage of unknown function '{name}()'"),
            ));
        }
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
