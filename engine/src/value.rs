//! Property values and their byte encoding.
//!
//! A value is stored once, in the log record that set it, and read back from the memory-mapped
//! segment through a [`ValueRef`](crate::ValueRef). The encoding is hand-written so that strings
//! can be borrowed straight from the map ([`ValueView`]):
//!
//! ```text
//! tag u8 | body
//!   1 String    UTF-8 bytes (length = the value's length - 1)
//!   2 Int       i64 little-endian
//!   3 Float     f64 bits little-endian
//!   4 Boolean   u8 (0 or 1)
//!   5 DateTime  i64 seconds since 1970-01-01T00:00:00Z LE, u32 nanoseconds LE
//!   6 List      u32 count LE, then per item: u32 length LE, item encoding
//! ```

use std::cmp::Ordering;
use std::fmt;

/// A scalar type a property can hold (a list property holds a list of them).
///
/// ```
/// use quiver_engine::ScalarType;
/// assert_eq!(ScalarType::Int.to_string(), "Int");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, bincode::Encode, bincode::Decode)]
pub enum ScalarType {
    /// UTF-8 text.
    String,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// true or false.
    Boolean,
    /// An instant, UTC, nanosecond precision.
    DateTime,
    /// An external identifier, stored as text.
    Id,
    /// A member of the named enum, stored as text.
    Enum(String),
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalarType::String => f.write_str("String"),
            ScalarType::Int => f.write_str("Int"),
            ScalarType::Float => f.write_str("Float"),
            ScalarType::Boolean => f.write_str("Boolean"),
            ScalarType::DateTime => f.write_str("DateTime"),
            ScalarType::Id => f.write_str("ID"),
            ScalarType::Enum(name) => f.write_str(name),
        }
    }
}

/// An instant: seconds since the Unix epoch and nanoseconds within the second (always UTC).
///
/// ```
/// use quiver_engine::DateTime;
/// let t = DateTime { secs: 1_621_814_400, nanos: 0 };
/// assert!(t < DateTime { secs: 1_621_814_400, nanos: 1 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nanos: u32,
}

/// An owned property value.
///
/// ```
/// use quiver_engine::Value;
/// let v = Value::List(vec![Value::String("a".into()), Value::Int(2)]);
/// assert_eq!(Value::decode(&v.encode()).unwrap(), v);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text; also IDs and enum members.
    String(String),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// Instant.
    DateTime(DateTime),
    /// A list of scalars, order and duplicates kept.
    List(Vec<Value>),
}

/// A value borrowed from a memory-mapped segment: strings are not copied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueView<'a> {
    /// Text.
    String(&'a str),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// Instant.
    DateTime(DateTime),
    /// A list; iterate it with [`ListView::iter`].
    List(ListView<'a>),
}

/// The encoded items of a list value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ListView<'a> {
    count: u32,
    items: &'a [u8],
}

const TAG_STRING: u8 = 1;
const TAG_INT: u8 = 2;
const TAG_FLOAT: u8 = 3;
const TAG_BOOL: u8 = 4;
const TAG_DATETIME: u8 = 5;
const TAG_LIST: u8 = 6;

/// Why bytes are not a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue(pub &'static str);

impl Value {
    /// Appends this value's encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::String(s) => {
                out.push(TAG_STRING);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Int(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(x) => {
                out.push(TAG_FLOAT);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Value::Boolean(b) => out.extend_from_slice(&[TAG_BOOL, u8::from(*b)]),
            Value::DateTime(t) => {
                out.push(TAG_DATETIME);
                out.extend_from_slice(&t.secs.to_le_bytes());
                out.extend_from_slice(&t.nanos.to_le_bytes());
            }
            Value::List(items) => {
                out.push(TAG_LIST);
                out.extend_from_slice(&(items.len() as u32).to_le_bytes());
                for item in items {
                    let at = out.len();
                    out.extend_from_slice(&[0; 4]);
                    item.encode_into(out);
                    let len = (out.len() - at - 4) as u32;
                    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
                }
            }
        }
    }

    /// This value's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes an owned value.
    pub fn decode(bytes: &[u8]) -> Result<Value, BadValue> {
        ValueView::decode(bytes).map(|v| v.to_value())
    }

    /// The scalar type name of this value, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "String",
            Value::Int(_) => "Int",
            Value::Float(_) => "Float",
            Value::Boolean(_) => "Boolean",
            Value::DateTime(_) => "DateTime",
            Value::List(_) => "List",
        }
    }

    /// Whether this value can be stored in a field of `ty` (`list` for list fields).
    pub fn fits(&self, ty: &ScalarType, list: bool) -> bool {
        match (self, list) {
            (Value::List(items), true) => items.iter().all(|v| v.fits(ty, false)),
            (Value::List(_), false) | (_, true) => false,
            (Value::String(_), false) => {
                matches!(ty, ScalarType::String | ScalarType::Id | ScalarType::Enum(_))
            }
            (Value::Int(_), false) => *ty == ScalarType::Int,
            (Value::Float(_), false) => *ty == ScalarType::Float,
            (Value::Boolean(_), false) => *ty == ScalarType::Boolean,
            (Value::DateTime(_), false) => *ty == ScalarType::DateTime,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::DateTime(t) => write!(f, "{}.{:09}s", t.secs, t.nanos),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn le_u32(b: &[u8]) -> Result<u32, BadValue> {
    b.get(..4).and_then(|s| s.try_into().ok()).map(u32::from_le_bytes).ok_or(BadValue("truncated length"))
}

fn le_8(b: &[u8]) -> Result<[u8; 8], BadValue> {
    b.get(..8).and_then(|s| s.try_into().ok()).ok_or(BadValue("truncated number"))
}

impl<'a> ValueView<'a> {
    /// Decodes a value without copying its strings.
    pub fn decode(bytes: &'a [u8]) -> Result<ValueView<'a>, BadValue> {
        let (&tag, body) = bytes.split_first().ok_or(BadValue("empty value"))?;
        let exact = |n: usize| if body.len() == n { Ok(()) } else { Err(BadValue("wrong length")) };
        Ok(match tag {
            TAG_STRING => {
                ValueView::String(std::str::from_utf8(body).map_err(|_| BadValue("string is not UTF-8"))?)
            }
            TAG_INT => {
                exact(8)?;
                ValueView::Int(i64::from_le_bytes(le_8(body)?))
            }
            TAG_FLOAT => {
                exact(8)?;
                ValueView::Float(f64::from_bits(u64::from_le_bytes(le_8(body)?)))
            }
            TAG_BOOL => {
                exact(1)?;
                match body[0] {
                    0 => ValueView::Boolean(false),
                    1 => ValueView::Boolean(true),
                    _ => return Err(BadValue("boolean is not 0 or 1")),
                }
            }
            TAG_DATETIME => {
                exact(12)?;
                let nanos = le_u32(&body[8..])?;
                if nanos >= 1_000_000_000 {
                    return Err(BadValue("nanoseconds out of range"));
                }
                ValueView::DateTime(DateTime { secs: i64::from_le_bytes(le_8(body)?), nanos })
            }
            TAG_LIST => {
                let count = le_u32(body)?;
                let items = &body[4..];
                // Validate the whole list once so iteration cannot fail.
                let mut rest = items;
                for _ in 0..count {
                    let len = le_u32(rest)? as usize;
                    let item = rest.get(4..4 + len).ok_or(BadValue("truncated list item"))?;
                    if matches!(ValueView::decode(item)?, ValueView::List(_)) {
                        return Err(BadValue("nested list"));
                    }
                    rest = &rest[4 + len..];
                }
                if !rest.is_empty() {
                    return Err(BadValue("bytes after the last list item"));
                }
                ValueView::List(ListView { count, items })
            }
            _ => return Err(BadValue("unknown value tag")),
        })
    }

    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueView::String(s) => Value::String(s.to_owned()),
            ValueView::Int(i) => Value::Int(i),
            ValueView::Float(x) => Value::Float(x),
            ValueView::Boolean(b) => Value::Boolean(b),
            ValueView::DateTime(t) => Value::DateTime(t),
            ValueView::List(l) => Value::List(l.iter().map(|v| v.to_value()).collect()),
        }
    }

    /// The total order used by range indexes and ordering: numbers by value (NaN last), strings
    /// by bytes, instants by time; values of different kinds by kind.
    pub fn total_cmp(&self, other: &ValueView<'_>) -> Ordering {
        use ValueView::*;
        match (self, other) {
            (String(a), String(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (DateTime(a), DateTime(b)) => a.cmp(b),
            (List(a), List(b)) => {
                let (mut x, mut y) = (a.iter(), b.iter());
                loop {
                    match (x.next(), y.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(p), Some(q)) => match p.total_cmp(&q) {
                            Ordering::Equal => {}
                            ord => return ord,
                        },
                    }
                }
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            ValueView::String(_) => 1,
            ValueView::Int(_) => 2,
            ValueView::Float(_) => 3,
            ValueView::Boolean(_) => 4,
            ValueView::DateTime(_) => 5,
            ValueView::List(_) => 6,
        }
    }

    /// Whether the view equals an owned value.
    pub fn eq_value(&self, v: &Value) -> bool {
        match (self, v) {
            (ValueView::String(a), Value::String(b)) => *a == b,
            (ValueView::Int(a), Value::Int(b)) => a == b,
            (ValueView::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (ValueView::Boolean(a), Value::Boolean(b)) => a == b,
            (ValueView::DateTime(a), Value::DateTime(b)) => a == b,
            (ValueView::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_value(y))
            }
            _ => false,
        }
    }
}

impl Value {
    /// The integer of an Int value.
    ///
    /// ```
    /// use quiver_engine::Value;
    /// assert_eq!((Value::Int(7).as_int(), Value::Float(7.0).as_int()), (Some(7), None));
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A borrowed view of a scalar value; `None` for a list (compare lists by their encoding).
    pub fn as_scalar_view(&self) -> Option<ValueView<'_>> {
        Some(match self {
            Value::String(s) => ValueView::String(s),
            Value::Int(i) => ValueView::Int(*i),
            Value::Float(x) => ValueView::Float(*x),
            Value::Boolean(b) => ValueView::Boolean(*b),
            Value::DateTime(t) => ValueView::DateTime(*t),
            Value::List(_) => return None,
        })
    }
}

impl<'a> ListView<'a> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The items in stored order.
    pub fn iter(&self) -> impl Iterator<Item = ValueView<'a>> + 'a {
        let mut rest = self.items;
        (0..self.count).filter_map(move |_| {
            // The list was validated in `ValueView::decode`, so these reads succeed.
            let len = le_u32(rest).ok()? as usize;
            let item = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            ValueView::decode(item).ok()
        })
    }
}

/// An order-preserving 64-bit key for a scalar: `a < b` implies `key(a) <= key(b)`. Equal keys
/// are refined by comparing the values themselves (strings longer than 8 bytes share prefixes).
pub fn order_key(v: &ValueView<'_>) -> u64 {
    match *v {
        ValueView::Int(i) => (i as u64) ^ (1 << 63),
        ValueView::Float(x) => {
            let bits = x.to_bits();
            if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
        }
        ValueView::Boolean(b) => u64::from(b),
        ValueView::DateTime(t) => (t.secs as u64) ^ (1 << 63),
        ValueView::String(s) => {
            let mut buf = [0u8; 8];
            let n = s.len().min(8);
            buf[..n].copy_from_slice(&s.as_bytes()[..n]);
            u64::from_be_bytes(buf)
        }
        ValueView::List(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let values = [
            Value::String("héllo".into()),
            Value::String(String::new()),
            Value::Int(i64::MIN),
            Value::Float(-0.5),
            Value::Boolean(true),
            Value::DateTime(DateTime { secs: -5, nanos: 999_999_999 }),
            Value::List(vec![Value::String("a".into()), Value::String("a".into())]),
            Value::List(vec![]),
        ];
        for v in values {
            assert_eq!(Value::decode(&v.encode()).unwrap(), v);
        }
    }

    #[test]
    fn golden_encoding() {
        assert_eq!(Value::Int(1).encode(), [2, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Value::String("ab".into()).encode(), [1, b'a', b'b']);
        assert_eq!(Value::List(vec![Value::Boolean(true)]).encode(), [6, 1, 0, 0, 0, 2, 0, 0, 0, 4, 1]);
    }

    #[test]
    fn rejects_malformed_bytes() {
        assert_eq!(Value::decode(&[]), Err(BadValue("empty value")));
        assert_eq!(Value::decode(&[9]), Err(BadValue("unknown value tag")));
        assert_eq!(Value::decode(&[2, 1]), Err(BadValue("wrong length")));
        assert_eq!(Value::decode(&[1, 0xff]), Err(BadValue("string is not UTF-8")));
        assert_eq!(Value::decode(&[6, 1, 0, 0, 0, 9, 0, 0, 0]), Err(BadValue("truncated list item")));
        assert_eq!(Value::decode(&[4, 2]), Err(BadValue("boolean is not 0 or 1")));
    }

    #[test]
    fn order_keys_preserve_order() {
        let ints = [i64::MIN, -3, 0, 7, i64::MAX];
        for w in ints.windows(2) {
            assert!(order_key(&ValueView::Int(w[0])) < order_key(&ValueView::Int(w[1])));
        }
        let floats = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-9, 3.0, f64::INFINITY];
        for w in floats.windows(2) {
            assert!(order_key(&ValueView::Float(w[0])) <= order_key(&ValueView::Float(w[1])));
        }
        assert!(order_key(&ValueView::String("abc")) < order_key(&ValueView::String("abd")));
        assert!(order_key(&ValueView::String("ab")) < order_key(&ValueView::String("abc")));
    }
}

#[cfg(test)]
mod fuzz {
    //! Arbitrary bytes never panic the value decoder, and what decodes re-encodes identically.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = Value::decode(&bytes) {
                prop_assert_eq!(v.encode(), bytes);
            }
        }
    }
}
