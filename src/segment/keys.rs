//! The customer ids of a transaction log, numbered in the order they first appear and each
//! stored once. They are hashed as the id column's duplicate check hashes ids.

use crate::data::ids::{hash_int, hash_text};
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, LargeStringArray, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
use std::sync::Arc;

/// Keys kept in the order they were numbered: what [`Numbering`] stores and hashes.
pub trait KeyList: Default {
    /// One key, as looked up.
    type Key: ?Sized + PartialEq;
    /// Keys stored.
    fn count(&self) -> usize;
    /// Key `number`.
    fn key(&self, number: usize) -> &Self::Key;
    /// Stores `key` as the next number.
    fn push(&mut self, key: &Self::Key);
    /// The hash of a key.
    fn hash(key: &Self::Key) -> u64;
    /// Asks the cache for what comparing with key `number` reads first (`stage` 0), then,
    /// once that has arrived, what it reads next (`stage` 1). Only a hint.
    fn prefetch(&self, number: usize, stage: u8);
}

/// Asks the CPU to bring the cache line at `address` in (x86-64; elsewhere nothing). Never
/// faults, whatever the address.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that does not access memory architecturally.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Integer keys.
impl KeyList for Vec<i64> {
    type Key = i64;

    fn count(&self) -> usize {
        self.len()
    }

    fn key(&self, number: usize) -> &i64 {
        &self[number]
    }

    fn push(&mut self, key: &i64) {
        Vec::push(self, *key);
    }

    fn hash(key: &i64) -> u64 {
        hash_int(*key as u64)
    }

    fn prefetch(&self, number: usize, stage: u8) {
        if stage == 0 {
            prefetch(self.as_ptr().wrapping_add(number));
        }
    }
}

/// Text keys end to end with 64-bit offsets: an Arrow large string column, which is how they
/// leave.
#[derive(Debug)]
pub struct TextList {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` are key i's bytes; starts with 0.
    offsets: Vec<i64>,
}

impl Default for TextList {
    fn default() -> Self {
        TextList {
            bytes: Vec::new(),
            offsets: vec![0],
        }
    }
}

impl KeyList for TextList {
    type Key = str;

    fn count(&self) -> usize {
        self.offsets.len() - 1
    }

    fn key(&self, number: usize) -> &str {
        let bytes = &self.bytes[self.offsets[number] as usize..self.offsets[number + 1] as usize];
        // SAFETY: every key was pushed as a whole `str`, so its bytes are UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn push(&mut self, key: &str) {
        self.bytes.extend_from_slice(key.as_bytes());
        self.offsets.push(self.bytes.len() as i64);
    }

    fn hash(key: &str) -> u64 {
        hash_text(key.as_bytes())
    }

    fn prefetch(&self, number: usize, stage: u8) {
        match stage {
            0 => prefetch(self.offsets.as_ptr().wrapping_add(number)),
            _ => {
                if let Some(&start) = self.offsets.get(number) {
                    prefetch(self.bytes.as_ptr().wrapping_add(start as usize));
                }
            }
        }
    }
}

impl TextList {
    /// The keys in number order as a column of `data_type` (Utf8, LargeUtf8 or Utf8View); Utf8
    /// text past 2 GiB, more than its 32-bit offsets reach, comes out as LargeUtf8. The text
    /// is moved, not copied, except into views.
    ///
    /// # Errors
    /// Exit 70 if Arrow refuses the column (it checks the text and the offsets).
    pub fn into_array(self, data_type: &DataType) -> Result<(ArrayRef, DataType)> {
        self.into_array_within(data_type, i32::MAX as usize)
    }

    /// [`TextList::into_array`] with Utf8 holding at most `utf8_bytes` of text.
    fn into_array_within(
        self,
        data_type: &DataType,
        utf8_bytes: usize,
    ) -> Result<(ArrayRef, DataType)> {
        let TextList { bytes, offsets } = self;
        let failed = |e: arrow_schema::ArrowError| Error::Internal(format!("customer ids: {e}"));
        if *data_type == DataType::Utf8 && bytes.len() <= utf8_bytes.min(i32::MAX as usize) {
            let offsets: ScalarBuffer<i32> = offsets.into_iter().map(|o| o as i32).collect();
            let array =
                StringArray::try_new(OffsetBuffer::new(offsets), Buffer::from_vec(bytes), None)
                    .map_err(failed)?;
            return Ok((Arc::new(array), DataType::Utf8));
        }
        if *data_type == DataType::Utf8 {
            log::info!(
                "the customer ids hold {} bytes of text, more than a 32-bit string column \
                 holds: they are written as large strings",
                bytes.len()
            );
        }
        let array = LargeStringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(bytes),
            None,
        )
        .map_err(failed)?;
        let array: ArrayRef = Arc::new(array);
        if *data_type == DataType::Utf8View {
            let view = arrow_cast::cast(&array, data_type).map_err(failed)?;
            return Ok((view, DataType::Utf8View));
        }
        Ok((array, DataType::LargeUtf8))
    }
}

/// How many keys ahead [`Numbering::number_column`] asks for a table slot.
const AHEAD: usize = 16;

/// Distinct keys numbered 0, 1, 2, … in the order they are first seen, each stored once (in
/// `L`), found through an open-addressing table of key numbers probed linearly: 8 to 16 bytes
/// a key beside the keys (4-byte slots, kept between a quarter and half full), where a hash map
/// beside a list of its keys held every key twice (measured with 11-character text ids, in two
/// allocations: about 112 bytes a customer more).
#[derive(Debug)]
pub struct Numbering<L> {
    keys: L,
    /// Per slot, a key number + 1, or 0 when empty. A power of two long, at most half full.
    table: Vec<u32>,
}

impl<L: KeyList> Default for Numbering<L> {
    fn default() -> Self {
        Numbering {
            keys: L::default(),
            table: vec![0; 16],
        }
    }
}

impl<L: KeyList> Numbering<L> {
    /// Distinct keys seen.
    pub fn len(&self) -> usize {
        self.keys.count()
    }

    /// Whether no key was seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys in number order, kept.
    pub fn keys(&self) -> &L {
        &self.keys
    }

    /// The keys in number order.
    pub fn into_keys(self) -> L {
        self.keys
    }

    /// The table slot a hash starts probing at: its top bits (every bit of a key moves them).
    fn home(hash: u64, table_len: usize) -> usize {
        (hash >> (64 - table_len.trailing_zeros())) as usize
    }

    /// The number of `key`, a new key taking the next number.
    ///
    /// # Errors
    /// Exit 65 past 4,294,967,294 distinct keys.
    pub fn number(&mut self, key: &L::Key) -> Result<usize> {
        self.number_hashed(key, L::hash(key))
    }

    /// [`Numbering::number`] of a key whose hash is `hash`.
    fn number_hashed(&mut self, key: &L::Key, hash: u64) -> Result<usize> {
        let mask = self.table.len() - 1;
        let mut slot = Self::home(hash, self.table.len());
        loop {
            match self.table[slot] {
                0 => break,
                entry if self.keys.key(entry as usize - 1) == key => {
                    return Ok(entry as usize - 1);
                }
                _ => slot = (slot + 1) & mask,
            }
        }
        let number = self.len();
        if number >= u32::MAX as usize - 1 {
            return Err(Error::data(format!(
                "more than {number} distinct customer ids; split the log by customer"
            )));
        }
        self.keys.push(key);
        self.table[slot] = number as u32 + 1;
        if 2 * self.len() > self.table.len() {
            self.grow();
        }
        Ok(number)
    }

    /// The number of each key of a column (`None` for a null), new keys taking the next
    /// numbers, as [`Numbering::number`] would give them one by one.
    ///
    /// A key equal to the one before it (a customer's lines are often adjacent) takes that
    /// one's number without a look-up. Otherwise a look-up is three dependent reads far apart
    /// in memory (the table slot, the key's offset, its bytes): in a log ordered by time
    /// rather than by customer nearly every one misses the cache. So the reads are asked for
    /// ahead, the slot `AHEAD` (16) keys ahead, the offset found in it half as far ahead, the
    /// bytes a quarter, and the look-ups of a column overlap their waits.
    ///
    /// # Errors
    /// As for [`Numbering::number`].
    pub fn number_column<'k>(
        &mut self,
        column: impl IntoIterator<Item = Option<&'k L::Key>>,
    ) -> Result<Vec<Option<usize>>>
    where
        L::Key: 'k,
    {
        let column: Vec<Option<&L::Key>> = column.into_iter().collect();
        let hashes: Vec<u64> = column.iter().map(|k| k.map_or(0, L::hash)).collect();
        // The number of the key at `row`, as far as the table knows now (a hint only).
        let seen = |this: &Self, row: usize| -> Option<usize> {
            column[row]?;
            let entry = this.table[Self::home(hashes[row], this.table.len())];
            (entry != 0).then(|| entry as usize - 1)
        };
        let mut numbers = Vec::with_capacity(column.len());
        let mut last: Option<(&L::Key, usize)> = None;
        for (row, key) in column.iter().enumerate() {
            if let Some(ahead) = hashes.get(row + AHEAD)
                && column[row + AHEAD].is_some()
            {
                prefetch(&self.table[Self::home(*ahead, self.table.len())]);
            }
            if row + AHEAD / 2 < column.len()
                && let Some(number) = seen(self, row + AHEAD / 2)
            {
                self.keys.prefetch(number, 0);
            }
            if row + AHEAD / 4 < column.len()
                && let Some(number) = seen(self, row + AHEAD / 4)
            {
                self.keys.prefetch(number, 1);
            }
            let Some(key) = *key else {
                numbers.push(None);
                continue;
            };
            if let Some((previous, number)) = last
                && previous == key
            {
                numbers.push(Some(number));
                continue;
            }
            let number = self.number_hashed(key, hashes[row])?;
            last = Some((key, number));
            numbers.push(Some(number));
        }
        Ok(numbers)
    }

    /// Doubles the table and places every key again.
    fn grow(&mut self) {
        let mut table = vec![0u32; 2 * self.table.len()];
        let mask = table.len() - 1;
        for number in 0..self.len() {
            let mut slot = Self::home(L::hash(self.keys.key(number)), table.len());
            while table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = number as u32 + 1;
        }
        self.table = table;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;

    /// Numbers 5,000 distinct keys, each seen 4 times, interleaved so that repeats arrive
    /// after the table has grown past them; returns each key's number.
    fn number_all<L: KeyList>(
        numbering: &mut Numbering<L>,
        key: impl Fn(usize) -> Box<L::Key>,
    ) -> Vec<usize> {
        let mut numbers = vec![None; 5000];
        for round in 0..2 {
            for i in (0..5000).rev().step_by(1 + round).chain(0..5000) {
                let number = numbering.number(&key(i)).unwrap();
                assert_eq!(*numbers[i].get_or_insert(number), number, "key {i}");
            }
        }
        assert_eq!(numbering.len(), 5000);
        assert!(2 * numbering.len() <= numbering.table.len());
        // The first pass went from 4999 down.
        assert_eq!((numbers[4999], numbers[0]), (Some(0), Some(4999)));
        numbers.into_iter().map(Option::unwrap).collect()
    }

    #[test]
    fn keys_are_numbered_in_first_seen_order_through_many_doublings() {
        // Text of 0 to 9 bytes, the empty key among them.
        let text = |i: usize| {
            if i == 0 {
                String::new()
            } else {
                format!("c{i}")
            }
        };
        let mut numbering = Numbering::<TextList>::default();
        let numbers = number_all(&mut numbering, |i| text(i).into_boxed_str());
        let (array, data_type) = numbering.into_keys().into_array(&DataType::Utf8).unwrap();
        assert_eq!(data_type, DataType::Utf8);
        let strings = array.as_string::<i32>();
        for (i, &number) in numbers.iter().enumerate() {
            assert_eq!(strings.value(number), text(i));
        }
        // Integers, negative ones and the extremes among them.
        let int = |i: usize| match i {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => (i as i64 - 2500) * 1_000_003,
        };
        let mut numbering = Numbering::<Vec<i64>>::default();
        let numbers = number_all(&mut numbering, |i| Box::new(int(i)));
        let keys = numbering.into_keys();
        for (i, &number) in numbers.iter().enumerate() {
            assert_eq!(keys[number], int(i));
        }
    }

    #[test]
    fn a_column_is_numbered_as_key_by_key_with_runs_and_nulls() {
        let column = [
            Some("b"),
            Some("b"),
            None,
            Some("b"),
            Some("a"),
            Some("a"),
            None,
            None,
            Some("b"),
            Some("c"),
            Some("a"),
            Some("c"),
            Some("c"),
        ];
        let mut numbering = Numbering::<TextList>::default();
        let numbers = numbering.number_column(column.iter().copied()).unwrap();
        let one_by_one: Vec<Option<usize>> = {
            let mut alone = Numbering::<TextList>::default();
            column
                .iter()
                .map(|k| k.map(|k| alone.number(k).unwrap()))
                .collect()
        };
        assert_eq!(numbers, one_by_one);
        let b_a_c = [
            Some(0),
            Some(0),
            None,
            Some(0),
            Some(1),
            Some(1),
            None,
            None,
            Some(0),
        ];
        assert_eq!(numbers[..9], b_a_c);
        assert_eq!(numbers[9..], [Some(2), Some(1), Some(2), Some(2)]);
        // A second column goes on with the same numbers.
        let more = numbering.number_column([Some("c"), Some("d")]).unwrap();
        assert_eq!(more, [Some(2), Some(3)]);

        // Columns far longer than the look-ahead, through table growth: 3,000 rows of 700
        // keys in scrambled order with runs and nulls, as text and as integers.
        let key = |row: u64| match row % 11 {
            0 => None,
            _ => Some((row / 3).wrapping_mul(0x9e37_79b9) % 700),
        };
        let rows: Vec<Option<u64>> = (0..3000).map(key).collect();
        let text: Vec<Option<String>> = rows.iter().map(|k| k.map(|k| format!("id-{k}"))).collect();
        let mut by_column = Numbering::<TextList>::default();
        let mut alone = Numbering::<TextList>::default();
        let got = by_column
            .number_column(text.iter().map(Option::as_deref))
            .unwrap();
        let want: Vec<Option<usize>> = text
            .iter()
            .map(|k| k.as_deref().map(|k| alone.number(k).unwrap()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(by_column.len(), 700);
        let ints: Vec<Option<i64>> = rows.iter().map(|k| k.map(|k| k as i64 - 350)).collect();
        let mut by_column = Numbering::<Vec<i64>>::default();
        let got = by_column
            .number_column(ints.iter().map(Option::as_ref))
            .unwrap();
        assert_eq!(got, want, "integer keys are numbered as the text ones");
    }

    #[test]
    fn text_keys_keep_large_and_view_types_and_tell_similar_text_apart() {
        // Equal up to padding with zero bytes: the hash's last word is the same, the length
        // and the comparison tell them apart.
        let texts = ["ab", "ab\0", "ab\0\0\0\0\0\0", "ab\0\0\0\0\0\0\0", "é", ""];
        for data_type in [DataType::LargeUtf8, DataType::Utf8View] {
            let mut numbering = Numbering::<TextList>::default();
            for t in texts.iter().chain(&texts) {
                numbering.number(t).unwrap();
            }
            assert_eq!(numbering.len(), texts.len());
            let (array, got) = numbering.into_keys().into_array(&data_type).unwrap();
            assert_eq!(got, data_type);
            assert_eq!(array.data_type(), &data_type);
            let back = arrow_cast::cast(&array, &DataType::Utf8).unwrap();
            let back: Vec<&str> = back.as_string::<i32>().iter().map(Option::unwrap).collect();
            assert_eq!(back, texts);
        }
        // Utf8 text longer than 32-bit offsets reach comes out as LargeUtf8 (here with the
        // limit lowered from 2 GiB to the 24 bytes the keys hold, and to one byte less).
        let bytes: usize = texts.iter().map(|t| t.len()).sum();
        for (limit, want) in [(bytes, DataType::Utf8), (bytes - 1, DataType::LargeUtf8)] {
            let mut list = TextList::default();
            for t in texts {
                list.push(t);
            }
            let (array, got) = list.into_array_within(&DataType::Utf8, limit).unwrap();
            assert_eq!((&got, array.data_type()), (&want, &want));
            let back = arrow_cast::cast(&array, &DataType::Utf8).unwrap();
            let back: Vec<&str> = back.as_string::<i32>().iter().map(Option::unwrap).collect();
            assert_eq!(back, texts);
        }
    }
}
