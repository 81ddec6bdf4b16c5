//! JSON output written straight into a `String`: escaping, numbers, uids and instants. The
//! executor calls these per value; nothing here allocates beyond growing the buffer.

use quiver_engine::DateTime;

/// Appends `s` as a JSON string literal.
///
/// ```
/// let mut out = String::new();
/// quiver_query::json::write_str(&mut out, "a\"b\n");
/// assert_eq!(out, r#""a\"b\n""#);
/// ```
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a uid as a JSON string: lowercase hex with `0x`, no leading zeros.
///
/// ```
/// let mut out = String::new();
/// quiver_query::json::write_uid(&mut out, 0x28caba09);
/// assert_eq!(out, r#""0x28caba09""#);
/// ```
pub fn write_uid(out: &mut String, uid: u64) {
    out.push_str("\"0x");
    let digits = (64 - uid.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(char::from(b"0123456789abcdef"[((uid >> (i * 4)) & 15) as usize]));
    }
    out.push('"');
}

/// Formats a uid as `0x..` text.
pub fn uid_string(uid: u64) -> String {
    format!("{uid:#x}")
}

/// Appends an integer.
pub fn write_int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends a float (`null` for the non-finite values JSON cannot carry; none are ever stored).
pub fn write_float(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

/// Appends an instant as an RFC 3339 JSON string in UTC (`2021-05-24T00:00:00Z`), with
/// fractional seconds only when there are any.
pub fn write_datetime(out: &mut String, t: DateTime) {
    out.push('"');
    crate::datetime::format_into(out, t);
    out.push('"');
}
