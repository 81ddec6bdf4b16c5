//! Index keys: which 64-bit keys a value is filed under, per index kind.
//!
//! Keys are persisted in checkpoints, so the hash is a fixed algorithm (FNV-1a, 64-bit, then
//! the SplitMix64 finalizer to spread it) that never depends on the Rust version. Callers
//! that search compute their keys with the same functions ([`keys_of_text`], [`eq_key`]).

use crate::index::IndexKind;
use crate::value::{ValueView, order_key};

/// Stable 64-bit hash of bytes.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    StableHasher::new().write(bytes).finish()
}

/// FNV-1a over the bytes written, finished with the SplitMix64 mixer.
struct StableHasher(u64);

impl StableHasher {
    fn new() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }

    fn write(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// The equality key of a scalar: a hash of its kind and canonical bytes (`-0.0` files as `0.0`).
pub fn eq_key(v: &ValueView<'_>) -> u64 {
    let h = StableHasher::new();
    match *v {
        ValueView::String(s) => h.write(&[1]).write(s.as_bytes()),
        ValueView::Int(i) => h.write(&[2]).write(&i.to_le_bytes()),
        ValueView::Float(x) => {
            let x = if x == 0.0 { 0.0 } else { x };
            h.write(&[3]).write(&x.to_bits().to_le_bytes())
        }
        ValueView::Boolean(b) => h.write(&[4, u8::from(b)]),
        ValueView::DateTime(t) => h.write(&[5]).write(&t.secs.to_le_bytes()).write(&t.nanos.to_le_bytes()),
        ValueView::List(_) => h.write(&[6]),
    }
    .finish()
}

/// English words too common to index for full-text search.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with",
];

/// Case-folded words of `text`: runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Reduces an English word to a stem by stripping common suffixes (a light stemmer: plural,
/// past and gerund forms, adverbs). Deterministic; persisted keys depend on it.
pub fn stem(word: &str) -> String {
    let w = word;
    let strip = |suffix: &str, min: usize| -> Option<&str> {
        w.strip_suffix(suffix).filter(|s| s.chars().count() >= min)
    };
    if let Some(s) = strip("ies", 2) {
        return format!("{s}y");
    }
    for (suffix, min) in [("ingly", 3), ("edly", 3), ("ing", 3), ("ly", 3), ("ed", 3), ("es", 3)] {
        if let Some(s) = strip(suffix, min) {
            return s.to_string();
        }
    }
    if let Some(s) = strip("s", 3).filter(|s| !s.ends_with('s')) {
        return s.to_string();
    }
    w.to_string()
}

/// The keys `text` is filed under for a text index kind.
pub fn keys_of_text(kind: IndexKind, text: &str) -> Vec<u64> {
    let mut keys: Vec<u64> = match kind {
        IndexKind::Term => words(text).map(|w| stable_hash(w.as_bytes())).collect(),
        IndexKind::Fulltext => words(text)
            .filter(|w| !STOP_WORDS.contains(&w.as_str()))
            .map(|w| stable_hash(stem(&w).as_bytes()))
            .collect(),
        IndexKind::Trigram => {
            let chars: Vec<char> = text.chars().collect();
            chars
                .windows(3)
                .map(|w| {
                    let mut b = [0u8; 12];
                    let mut n = 0;
                    for c in w {
                        n += c.encode_utf8(&mut b[n..]).len();
                    }
                    stable_hash(&b[..n])
                })
                .collect()
        }
        IndexKind::Eq => vec![eq_key(&ValueView::String(text))],
        IndexKind::Order => vec![order_key(&ValueView::String(text))],
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys a scalar is filed under for `kind`.
pub fn keys_of_scalar(kind: IndexKind, v: &ValueView<'_>, out: &mut Vec<u64>) {
    match (kind, v) {
        (IndexKind::Eq, v) => out.push(eq_key(v)),
        (IndexKind::Order, v) => out.push(order_key(v)),
        (_, ValueView::String(s)) => out.extend(keys_of_text(kind, s)),
        _ => {}
    }
}

/// The keys a stored value (scalar or list) is filed under for `kind`, sorted and deduplicated.
pub fn keys_of_value(kind: IndexKind, v: &ValueView<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    keys_of_value_into(kind, v, &mut out);
    out
}

/// [`keys_of_value`] into a buffer the caller reuses (cleared first): for loops over many values.
pub(crate) fn keys_of_value_into(kind: IndexKind, v: &ValueView<'_>, out: &mut Vec<u64>) {
    out.clear();
    match v {
        ValueView::List(items) => {
            for item in items.iter() {
                keys_of_scalar(kind, &item, out);
            }
        }
        v => keys_of_scalar(kind, v, out),
    }
    out.sort_unstable();
    out.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable() {
        // Persisted in checkpoints: these must never change.
        assert_eq!(stable_hash(b""), 0xf52a15e9a9b5e89b);
        assert_eq!(stable_hash(b"quiver"), 0xf764cc091b04fb8c);
        assert_ne!(stable_hash(b"quiver"), stable_hash(b"quivers"));
    }

    #[test]
    fn terms_fold_case_and_split() {
        let a = keys_of_text(IndexKind::Term, "Hello, WORLD! hello");
        let b = keys_of_text(IndexKind::Term, "world hello");
        assert_eq!(a, b);
    }

    #[test]
    fn fulltext_stems_and_drops_stop_words() {
        assert_eq!(stem("running"), "runn");
        assert_eq!(stem("stories"), "story");
        assert_eq!(stem("cats"), "cat");
        assert_eq!(stem("glass"), "glass");
        assert_eq!(
            keys_of_text(IndexKind::Fulltext, "The cats were running"),
            keys_of_text(IndexKind::Fulltext, "cat running were")
        );
    }

    #[test]
    fn trigrams_cover_windows() {
        assert_eq!(keys_of_text(IndexKind::Trigram, "abcd").len(), 2);
        assert!(keys_of_text(IndexKind::Trigram, "ab").is_empty());
    }

    #[test]
    fn equal_floats_share_a_key() {
        assert_eq!(eq_key(&ValueView::Float(0.0)), eq_key(&ValueView::Float(-0.0)));
        assert_ne!(eq_key(&ValueView::Int(1)), eq_key(&ValueView::String("1")));
    }
}
