//! AQL's date functions over UTC milliseconds since the epoch: ISO 8601 strings and numbers in,
//! ISO 8601 strings (`2024-01-02T03:04:05.678Z`) or numbers out, with proleptic Gregorian calendar
//! arithmetic. Also MD5 and SHA-1, which AQL names beside them and no crate here provides.

use serde_json::Value;

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (month 1..=12).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month 1..=12, day) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The parts of a moment: year, month, day, hour, minute, second, millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub y: i64,
    pub mo: i64,
    pub d: i64,
    pub h: i64,
    pub mi: i64,
    pub s: i64,
    pub ms: i64,
}

pub fn parts(t: i64) -> Parts {
    let days = t.div_euclid(DAY_MS);
    let rest = t.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    Parts {
        y,
        mo,
        d,
        h: rest / 3_600_000,
        mi: rest / 60_000 % 60,
        s: rest / 1000 % 60,
        ms: rest % 1000,
    }
}

pub fn from_parts(p: Parts) -> i64 {
    days_from_civil(p.y, p.mo, p.d) * DAY_MS + p.h * 3_600_000 + p.mi * 60_000 + p.s * 1000 + p.ms
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

/// Parses an ISO 8601 date (`YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]` and `Z` or `±HH:MM`; a space
/// may stand for the `T`) to UTC milliseconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let y = digits(b, 0, 4)?;
    let y = if neg { -y } else { y };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (mo, d) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut p = Parts {
        y,
        mo,
        d,
        h: 0,
        mi: 0,
        s: 0,
        ms: 0,
    };
    let mut i = 10;
    let mut offset = 0i64;
    if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        p.h = digits(b, i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        p.mi = digits(b, i + 4, 2)?;
        i += 6;
        if b.get(i) == Some(&b':') {
            p.s = digits(b, i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                let frac = std::str::from_utf8(&b[start..j.min(start + 3)]).ok()?;
                p.ms = format!("{frac:0<3}").parse().ok()?;
                i = j;
            }
        }
        if p.h > 23 || p.mi > 59 || p.s > 59 {
            return None;
        }
    }
    match b.get(i) {
        None => {}
        Some(b'Z' | b'z') if i + 1 == b.len() => {}
        Some(c @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = match b.get(i + 3) {
                Some(b':') => digits(b, i + 4, 2)?,
                None => 0,
                _ => digits(b, i + 3, 2)?,
            };
            offset = (oh * 60 + om) * 60_000;
            if *c == b'-' {
                offset = -offset;
            }
        }
        _ => return None,
    }
    Some(from_parts(p) - offset)
}

/// A date argument as UTC milliseconds: a number (milliseconds) or an ISO 8601 string.
pub fn date_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64),
        Value::String(s) => parse_iso(s),
        _ => None,
    }
}

/// `2024-01-02T03:04:05.678Z`
pub fn iso(t: i64) -> String {
    let p = parts(t);
    let year = if (0..=9999).contains(&p.y) {
        format!("{:04}", p.y)
    } else {
        format!("{:+07}", p.y)
    };
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// A unit name as AQL takes it: `y`/`year(s)`, `m`/`month(s)`, `w`/`week(s)`, `d`/`day(s)`,
/// `h`/`hour(s)`, `i`/`minute(s)`, `s`/`second(s)`, `f`/`millisecond(s)`.
pub fn unit(s: &str) -> Option<char> {
    Some(match s.to_ascii_lowercase().as_str() {
        "y" | "year" | "years" => 'y',
        "m" | "month" | "months" => 'm',
        "w" | "week" | "weeks" => 'w',
        "d" | "day" | "days" => 'd',
        "h" | "hour" | "hours" => 'h',
        "i" | "minute" | "minutes" => 'i',
        "s" | "second" | "seconds" => 's',
        "f" | "millisecond" | "milliseconds" => 'f',
        _ => return None,
    })
}

/// `t` plus `n` of `unit` (months and years keep the day, or take the month's last one).
pub fn add(t: i64, n: f64, unit: char) -> i64 {
    let fixed = |ms: f64| t + (n * ms).round() as i64;
    match unit {
        'y' | 'm' => {
            let months = if unit == 'y' { n * 12.0 } else { n }.trunc() as i64;
            let mut p = parts(t);
            let total = p.y * 12 + (p.mo - 1) + months;
            p.y = total.div_euclid(12);
            p.mo = total.rem_euclid(12) + 1;
            p.d = p.d.min(days_in_month(p.y, p.mo));
            from_parts(p)
        }
        'w' => fixed(7.0 * DAY_MS as f64),
        'd' => fixed(DAY_MS as f64),
        'h' => fixed(3_600_000.0),
        'i' => fixed(60_000.0),
        's' => fixed(1000.0),
        _ => fixed(1.0),
    }
}

/// An ISO 8601 duration (`P1Y2M3W4DT5H6M7.5S`) as (amount, unit) steps.
pub fn duration(s: &str) -> Option<Vec<(f64, char)>> {
    let rest = s.strip_prefix('P')?;
    let mut out = Vec::new();
    let mut time = false;
    let mut num = String::new();
    for c in rest.chars() {
        match c {
            'T' if !time && num.is_empty() => time = true,
            '0'..='9' | '.' => num.push(c),
            _ => {
                let n: f64 = num.parse().ok()?;
                num.clear();
                match (c, time) {
                    ('Y', false) => out.push((n, 'y')),
                    ('M', false) => out.push((n, 'm')),
                    ('W', false) => out.push((n, 'w')),
                    ('D', false) => out.push((n, 'd')),
                    ('H', true) => out.push((n, 'h')),
                    ('M', true) => out.push((n, 'i')),
                    ('S', true) => {
                        out.push((n.trunc(), 's'));
                        out.push(((n.fract() * 1000.0).round(), 'f'));
                    }
                    _ => return None,
                }
            }
        }
    }
    (num.is_empty() && !out.is_empty()).then_some(out)
}

/// `b - a` in `unit`: whole calendar months and years, fixed lengths otherwise; fractional with
/// `float`, else truncated.
pub fn diff(a: i64, b: i64, unit: char, float: bool) -> f64 {
    let v = match unit {
        'y' | 'm' => {
            let (pa, pb) = (parts(a), parts(b));
            let mut months = (pb.y - pa.y) * 12 + (pb.mo - pa.mo);
            // a month is not complete before the same day and time of the next
            let rest = |p: Parts| {
                from_parts(Parts {
                    y: 2000,
                    mo: 1,
                    ..p
                })
            };
            if months > 0 && rest(pb) < rest(pa) {
                months -= 1;
            } else if months < 0 && rest(pb) > rest(pa) {
                months += 1;
            }
            let frac = if float {
                let anchor = add(a, months as f64, 'm');
                let next = add(a, (months + months.signum().max(1)) as f64, 'm');
                let span = (next - anchor).abs().max(1) as f64;
                (b - anchor) as f64 / span
            } else {
                0.0
            };
            let m = months as f64 + frac;
            if unit == 'y' { m / 12.0 } else { m }
        }
        'w' => (b - a) as f64 / (7 * DAY_MS) as f64,
        'd' => (b - a) as f64 / DAY_MS as f64,
        'h' => (b - a) as f64 / 3_600_000.0,
        'i' => (b - a) as f64 / 60_000.0,
        's' => (b - a) as f64 / 1000.0,
        _ => (b - a) as f64,
    };
    if float { v } else { v.trunc() }
}

/// Day of the week, 0 for Sunday.
pub fn weekday(t: i64) -> i64 {
    (t.div_euclid(DAY_MS) + 4).rem_euclid(7)
}

/// Day of the year, from 1.
pub fn day_of_year(t: i64) -> i64 {
    let p = parts(t);
    days_from_civil(p.y, p.mo, p.d) - days_from_civil(p.y, 1, 1) + 1
}

/// The ISO week number (weeks start on Monday; week 1 holds the year's first Thursday).
pub fn iso_week(t: i64) -> i64 {
    let days = t.div_euclid(DAY_MS);
    let wd = (weekday(t) + 6) % 7; // Monday 0
    let thursday = days - wd + 3;
    let (y, _, _) = civil_from_days(thursday);
    (thursday - days_from_civil(y, 1, 1)) / 7 + 1
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `DATE_FORMAT`'s placeholders (`%yyyy`, `%mm`, `%dd`, `%hh`, `%ii`, `%ss`, `%fff`, `%t`, `%z`,
/// `%w`, `%www`, `%wwww`, `%mmm`, `%mmmm`, `%a`, `%aaa`, `%x`, `%xxx`, `%k`, `%kk`, `%l`, `%q`, …).
pub fn format(t: i64, f: &str) -> String {
    let p = parts(t);
    // longest placeholders first
    let table: Vec<(&str, String)> = vec![
        ("%yyyyyy", format!("{:+07}", p.y)),
        ("%yyyy", format!("{:04}", p.y)),
        ("%yy", format!("{:02}", p.y.rem_euclid(100))),
        ("%y", p.y.to_string()),
        ("%mmmm", MONTHS[(p.mo - 1) as usize].to_string()),
        ("%mmm", MONTHS[(p.mo - 1) as usize][..3].to_string()),
        ("%mm", format!("{:02}", p.mo)),
        ("%m", p.mo.to_string()),
        ("%dd", format!("{:02}", p.d)),
        ("%d", p.d.to_string()),
        ("%hh", format!("{:02}", p.h)),
        ("%h", p.h.to_string()),
        ("%ii", format!("{:02}", p.mi)),
        ("%i", p.mi.to_string()),
        ("%ss", format!("{:02}", p.s)),
        ("%s", p.s.to_string()),
        ("%fff", format!("{:03}", p.ms)),
        ("%f", p.ms.to_string()),
        ("%t", t.to_string()),
        ("%z", iso(t)),
        ("%wwww", DAYS[weekday(t) as usize].to_string()),
        ("%www", DAYS[weekday(t) as usize][..3].to_string()),
        ("%w", weekday(t).to_string()),
        ("%aaa", format!("{:03}", day_of_year(t))),
        ("%a", day_of_year(t).to_string()),
        ("%xxx", format!("{:03}", day_of_year(t))),
        ("%x", day_of_year(t).to_string()),
        ("%kk", format!("{:02}", iso_week(t))),
        ("%k", iso_week(t).to_string()),
        ("%l", u8::from(leap(p.y)).to_string()),
        ("%q", ((p.mo - 1) / 3 + 1).to_string()),
        ("%%", "%".to_string()),
    ];
    let mut out = String::new();
    let mut rest = f;
    'outer: while !rest.is_empty() {
        if rest.starts_with('%') {
            for (k, v) in &table {
                if let Some(r) = rest.strip_prefix(k) {
                    out.push_str(v);
                    rest = r;
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// MD5 of `data`, as lowercase hex.
pub fn md5(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    [a0, b0, c0, d0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-1 of `data`, as lowercase hex.
pub fn sha1(data: &[u8]) -> String {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A82_7999),
                1 => (b ^ c ^ d, 0x6ED9_EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6u32),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter()
        .flat_map(|w| w.to_be_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_published_test_vectors() {
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(sha1(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1(&[b'a'; 1000]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn calendar_arithmetic() {
        for t in [
            0,
            -1,
            951_782_400_000,
            1_709_164_800_000,
            -62_135_596_800_000,
        ] {
            assert_eq!(from_parts(parts(t)), t);
        }
        assert_eq!(parse_iso("2024-02-29T12:30:15.5Z"), Some(1_709_209_815_500));
        assert_eq!(
            parse_iso("2024-02-29 12:30:15.5+01:00"),
            Some(1_709_206_215_500)
        );
        assert_eq!(parse_iso("2023-02-29"), None);
        assert_eq!(parse_iso("2023-13-01"), None);
        assert_eq!(iso(1_709_209_815_500), "2024-02-29T12:30:15.500Z");
        let jan31 = parse_iso("2023-01-31").unwrap();
        assert_eq!(iso(add(jan31, 1.0, 'm')), "2023-02-28T00:00:00.000Z");
        assert_eq!(iso(add(jan31, -1.0, 'y')), "2022-01-31T00:00:00.000Z");
        assert_eq!(
            diff(jan31, parse_iso("2023-03-30").unwrap(), 'm', false),
            1.0
        );
        assert_eq!(
            diff(jan31, parse_iso("2023-03-31").unwrap(), 'm', false),
            2.0
        );
        assert_eq!(
            diff(jan31, parse_iso("2023-02-02").unwrap(), 'd', false),
            2.0
        );
        assert_eq!(weekday(0), 4); // a Thursday
        assert_eq!(iso_week(parse_iso("2021-01-03").unwrap()), 53);
        assert_eq!(iso_week(parse_iso("2021-01-04").unwrap()), 1);
        assert_eq!(
            duration("P1Y2M3DT4H5M6.5S"),
            Some(vec![
                (1.0, 'y'),
                (2.0, 'm'),
                (3.0, 'd'),
                (4.0, 'h'),
                (5.0, 'i'),
                (6.0, 's'),
                (500.0, 'f')
            ])
        );
        assert_eq!(
            format(
                1_709_209_815_500,
                "%yyyy-%mm-%dd %hh:%ii:%ss.%fff %www %mmm %q %%"
            ),
            "2024-02-29 12:30:15.500 Thu Feb 1 %"
        );
    }
}
