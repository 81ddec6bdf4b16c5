//! RFC 3339 instants: parsing what users write and printing what GraphQL returns.
//!
//! Accepted: `2021-05-24T10:30:00Z`, with an offset (`+02:00`), fractional seconds (up to
//! nanoseconds), lowercase `t`/`z`, and as Dgraph does, a date alone (`2021-05-24`, midnight UTC)
//! or a time without zone (taken as UTC). Printed: always UTC with `Z`, fraction only when
//! non-zero, without trailing zeros.

use quiver_engine::DateTime;

/// Parses an instant; `None` when the text is not one.
///
/// ```
/// use quiver_query::datetime::{format, parse};
/// let t = parse("2021-05-24T02:00:00+02:00").unwrap();
/// assert_eq!(format(t), "2021-05-24T00:00:00Z");
/// assert_eq!(format(parse("2021-05-24T00:00:00.250Z").unwrap()), "2021-05-24T00:00:00.25Z");
/// ```
pub fn parse(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if b.len() == 10 {
        return Some(DateTime { secs: days * 86_400, nanos: 0 });
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec.min(59) - offset;
    Some(DateTime { secs, nanos })
}

/// Formats an instant in UTC.
pub fn format(t: DateTime) -> String {
    let mut s = String::with_capacity(24);
    format_into(&mut s, t);
    s
}

/// Appends an instant in UTC.
pub fn format_into(out: &mut String, t: DateTime) {
    let days = t.secs.div_euclid(86_400);
    let rem = t.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut buf = [0u8; 19];
    let put = |buf: &mut [u8], at: usize, v: i64, width: usize| {
        let mut v = v;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    if (0..=9999).contains(&y) {
        put(&mut buf, 0, y, 4);
        buf[4] = b'-';
        put(&mut buf, 5, m, 2);
        buf[7] = b'-';
        put(&mut buf, 8, d, 2);
        buf[10] = b'T';
        put(&mut buf, 11, rem / 3600, 2);
        buf[13] = b':';
        put(&mut buf, 14, rem / 60 % 60, 2);
        buf[16] = b':';
        put(&mut buf, 17, rem % 60, 2);
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    } else {
        out.push_str(&format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60));
    }
    if t.nanos > 0 {
        let frac = format!("{:09}", t.nanos);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2021-05-24T00:00:00Z",
            "2000-02-29T23:59:59.000000001Z",
            "1969-12-31T23:59:59.5Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
        assert_eq!(parse("1970-01-02").unwrap(), DateTime { secs: 86_400, nanos: 0 });
        assert_eq!(parse("1970-01-01t00:00:01z").unwrap(), DateTime { secs: 1, nanos: 0 });
        assert_eq!(parse("1970-01-01T00:00:00-01:30").unwrap(), DateTime { secs: 5400, nanos: 0 });
        assert_eq!(parse("1970-01-01T00:00:00.1234567891Z").unwrap().nanos, 123_456_789);
    }

    #[test]
    fn refuses_what_is_not_an_instant() {
        for s in [
            "",
            "2021",
            "2021-13-01",
            "2021-02-29",
            "2021-05-24T24:00:00Z",
            "2021-05-24T00:00:00+2",
            "2021-05-24T00:00:00.Z",
            "2021-05-24T00:00:00Zx",
            "２０２１-05-24",
            "2021-05-24T00:00",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
