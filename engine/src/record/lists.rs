//! The long lists inside log records, each with an encoding of its own: the targets of an
//! edge step ([`UidList`]) and the values of a column of nodes ([`ValueSlots`]).

use bincode::de::read::Reader;
use bincode::de::{Decode, Decoder};
use bincode::enc::write::Writer;
use bincode::enc::{Encode, Encoder};
use bincode::error::{DecodeError, EncodeError};

use crate::catalog::PropId;

/// A sorted list of uids, stored as its count, then the byte length and bytes of the first uid
/// and the gaps after it, each as LEB128 (7 bits a byte): a gap under 2^21 takes 3 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UidList(pub Vec<u64>);

impl Encode for UidList {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let mut bytes = Vec::with_capacity(self.0.len() * 3);
        let mut prev = 0u64;
        for &uid in &self.0 {
            put_leb(&mut bytes, uid.wrapping_sub(prev));
            prev = uid;
        }
        encode_counted(e, self.0.len(), &bytes)
    }
}

impl<C> Decode<C> for UidList {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        // Every uid takes at least one byte.
        let (count, bytes) = decode_counted(d, 1)?;
        let mut out = Vec::with_capacity(count);
        let (mut at, mut prev) = (0, 0u64);
        while at < bytes.len() {
            prev = prev.wrapping_add(take_leb(&bytes, &mut at)?);
            out.push(prev);
        }
        if out.len() != count {
            return Err(DecodeError::Other("uid list does not match its count"));
        }
        Ok(UidList(out))
    }
}
bincode::impl_borrow_decode!(UidList);

/// Where each of a run of values sits in the values area: `(start, length)` pairs, in order.
/// Stored as its count, then the byte length and bytes of, per value, the gap from the end of
/// the previous one (0 when they are adjacent: one property's column) and its length, each as
/// LEB128: an Int, adjacent to the one before, takes 2 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueSlots(pub Vec<(u32, u32)>);

/// A list's count, then its bytes with their length.
fn encode_counted<E: Encoder>(e: &mut E, count: usize, bytes: &[u8]) -> Result<(), EncodeError> {
    (count as u64).encode(e)?;
    (bytes.len() as u64).encode(e)?;
    e.writer().write(bytes)
}

/// What [`encode_counted`] wrote, refusing a count that `per_item` bytes an item could not
/// hold (a lie that would otherwise reserve memory for it).
fn decode_counted<C, D: Decoder<Context = C>>(
    d: &mut D,
    per_item: usize,
) -> Result<(usize, Vec<u8>), DecodeError> {
    let count = u64::decode(d)? as usize;
    let len = u64::decode(d)? as usize;
    if count > len / per_item {
        return Err(DecodeError::Other("a list's count exceeds its bytes"));
    }
    d.claim_bytes_read(len)?;
    let mut bytes = vec![0u8; len];
    d.reader().read(&mut bytes)?;
    Ok((count, bytes))
}

fn put_leb(bytes: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        bytes.push((v as u8) | 0x80);
        v >>= 7;
    }
    bytes.push(v as u8);
}

/// The next LEB128 number of `bytes` from `*at`.
fn take_leb(bytes: &[u8], at: &mut usize) -> Result<u64, DecodeError> {
    let (mut v, mut shift) = (0u64, 0u32);
    loop {
        let &b = bytes.get(*at).ok_or(DecodeError::Other("a list's number cut short"))?;
        *at += 1;
        if shift >= 64 {
            return Err(DecodeError::Other("a list's number longer than 64 bits"));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

impl Encode for ValueSlots {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let mut bytes = Vec::with_capacity(self.0.len() * 2);
        let mut end = 0u64;
        for &(at, len) in &self.0 {
            // Slots come in the order the values were written: each starts at or after the
            // previous one's end.
            let gap = u64::from(at).checked_sub(end).ok_or(EncodeError::Other("value slots out of order"))?;
            put_leb(&mut bytes, gap);
            put_leb(&mut bytes, u64::from(len));
            end = u64::from(at) + u64::from(len);
        }
        encode_counted(e, self.0.len(), &bytes)
    }
}

impl<C> Decode<C> for ValueSlots {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        // Every slot takes at least two bytes.
        let (count, bytes) = decode_counted(d, 2)?;
        let mut out = Vec::with_capacity(count);
        let (mut at, mut end) = (0usize, 0u64);
        while at < bytes.len() {
            let start = end + take_leb(&bytes, &mut at)?;
            let length = take_leb(&bytes, &mut at)?;
            end = start + length;
            // A slot lies in the values area, which is under 4 GiB.
            if end > u64::from(u32::MAX) {
                return Err(DecodeError::Other("value slot past 4 GiB"));
            }
            out.push((start as u32, length as u32));
        }
        if out.len() != count {
            return Err(DecodeError::Other("value slots do not match their count"));
        }
        Ok(ValueSlots(out))
    }
}
bincode::impl_borrow_decode!(ValueSlots);

/// Property `prop` of the nodes `first, first + 1, ...` takes, for each in turn, the value at
/// the next of `slots` (see [`crate::Op::SetProps`]).
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct PropRun {
    /// The property.
    pub prop: PropId,
    /// The first node's uid.
    pub first: u64,
    /// The values, one a node.
    pub slots: ValueSlots,
}

impl PropRun {
    /// Each node's uid with its value's slot; `None` when the uids would pass `u64::MAX`.
    pub fn nodes(&self) -> Option<impl Iterator<Item = (u64, u32, u32)> + '_> {
        self.first.checked_add(self.slots.0.len() as u64)?;
        Some(self.slots.0.iter().enumerate().map(|(i, &(at, len))| (self.first + i as u64, at, len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CONFIG;

    #[test]
    fn uid_lists_round_trip_and_reject_lies() {
        for list in [vec![], vec![0], vec![1, 2, 3], vec![5, 127, 128, 16_511, u64::MAX]] {
            let bytes = bincode::encode_to_vec(UidList(list.clone()), CONFIG).unwrap();
            let (back, used): (UidList, _) = bincode::decode_from_slice(&bytes, CONFIG).unwrap();
            assert_eq!((back.0, used), (list, bytes.len()));
        }
        // count 2, 1 byte: more uids than bytes.
        assert!(bincode::decode_from_slice::<UidList, _>(&[2, 1, 5], CONFIG).is_err());
        // count 1, 1 byte with the continuation bit set: truncated.
        assert!(bincode::decode_from_slice::<UidList, _>(&[1, 1, 0x85], CONFIG).is_err());
        // count 1, 2 bytes: two uids present.
        assert!(bincode::decode_from_slice::<UidList, _>(&[1, 2, 5, 6], CONFIG).is_err());
        // A claimed length past the end of the input.
        assert!(bincode::decode_from_slice::<UidList, _>(&[1, 200, 5], CONFIG).is_err());
    }

    #[test]
    fn value_slots_round_trip_and_reject_lies() {
        for slots in [vec![], vec![(0, 9)], vec![(0, 9), (9, 9), (30, 4), (34, 0), (u32::MAX - 1, 1)]] {
            let bytes = bincode::encode_to_vec(ValueSlots(slots.clone()), CONFIG).unwrap();
            let (back, used): (ValueSlots, _) = bincode::decode_from_slice(&bytes, CONFIG).unwrap();
            assert_eq!((back.0, used), (slots, bytes.len()));
        }
        // Adjacent 9-byte values: two bytes each.
        let column = ValueSlots((0..100).map(|i| (i * 9, 9)).collect());
        assert_eq!(bincode::encode_to_vec(column, CONFIG).unwrap().len(), 1 + 1 + 200);
        // Out of order: refused when written.
        assert!(bincode::encode_to_vec(ValueSlots(vec![(9, 9), (0, 9)]), CONFIG).is_err());
        // count 2 in 2 bytes; a cut slot; one slot too many; past 4 GiB.
        assert!(bincode::decode_from_slice::<ValueSlots, _>(&[2, 2, 0, 9], CONFIG).is_err());
        assert!(bincode::decode_from_slice::<ValueSlots, _>(&[1, 2, 0, 0x89], CONFIG).is_err());
        assert!(bincode::decode_from_slice::<ValueSlots, _>(&[1, 4, 0, 9, 0, 9], CONFIG).is_err());
        let far = [1, 7, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x01];
        assert!(bincode::decode_from_slice::<ValueSlots, _>(&far, CONFIG).is_err());
    }

    #[test]
    fn a_run_names_its_nodes_unless_they_pass_the_last_uid() {
        let run = PropRun { prop: 1, first: 10, slots: ValueSlots(vec![(0, 9), (9, 9)]) };
        assert_eq!(run.nodes().unwrap().collect::<Vec<_>>(), vec![(10, 0, 9), (11, 9, 9)]);
        let run = PropRun { prop: 1, first: u64::MAX - 1, slots: ValueSlots(vec![(0, 9), (9, 9)]) };
        assert!(run.nodes().is_none());
    }
}
