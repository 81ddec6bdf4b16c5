//! Fixed-width arrays that live either on the heap or in a memory-mapped checkpoint.

use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;

use crate::mmap::Map;

/// An array of plain values: built on the heap, or borrowed from a checkpoint's map.
#[derive(Debug, Clone)]
pub enum Column<T: Pod> {
    /// Built in memory.
    Owned(Arc<Vec<T>>),
    /// `len` values at byte `start` of a map. Alignment and bounds were checked when the
    /// checkpoint was opened (`Column::mapped`), so `deref` cannot fail.
    Mapped {
        /// The map.
        map: Arc<Map>,
        /// Byte offset.
        start: usize,
        /// Number of values.
        len: usize,
    },
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Arc::new(Vec::new()))
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Self {
        Column::Owned(Arc::new(v))
    }
}

impl<T: Pod> Column<T> {
    /// A column over `len` values at `start` of `map`, or `None` when out of bounds or
    /// misaligned.
    pub fn mapped(map: &Arc<Map>, start: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(size_of::<T>())?;
        let slice = map.bytes().get(start..start.checked_add(bytes)?)?;
        bytemuck::try_cast_slice::<u8, T>(slice).ok()?;
        Some(Column::Mapped { map: Arc::clone(map), start, len })
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            Column::Mapped { map, start, len } => {
                // Checked in `Column::mapped`: in bounds and aligned.
                bytemuck::cast_slice(&map.bytes()[*start..*start + *len * size_of::<T>()])
            }
        }
    }
}
