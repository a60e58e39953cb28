//! `TagTable`: the client's bounded table of calls in flight, keyed by tag.
//!
//! A tag names a slot of the table (its low [`INDEX_BITS`] bits) and the slot's
//! generation (the high bits). Freeing a slot bumps its generation, so the tag
//! of a finished call stops resolving the moment the call leaves, even when a
//! newer call already reuses the slot: a late or repeated response carrying the
//! old tag finds nothing, instead of completing the newer call with the wrong
//! answer. Generations wrap after 2^16 reuses of one slot, so a response would
//! have to arrive 65536 calls on that slot late to be mistaken.

use std::fmt;

use super::Tag;

/// Bits of a tag that give the slot index; the other 16 hold the generation.
const INDEX_BITS: u32 = 16;

/// Mask of a tag's index bits.
const INDEX_MASK: Tag = (1 << INDEX_BITS) - 1;

/// The most slots a table can have (65536, what [`INDEX_BITS`] can name); a
/// larger capacity is clamped to it.
pub(crate) const MAX_TAGS: usize = 1 << INDEX_BITS;

/// One slot: its current generation and, while taken, its value.
struct Entry<V> {
    generation: u16,
    value: Option<V>,
}

/// A slab of at most `capacity` values, each found by a generation-tagged [`Tag`].
pub(crate) struct TagTable<V> {
    /// Slots made so far; grows on demand up to `capacity`.
    entries: Vec<Entry<V>>,
    /// Indices of free slots in `entries`, most recently freed last (reused
    /// first, while its memory is warm).
    free: Vec<usize>,
    len: usize,
    capacity: usize,
}

impl<V> TagTable<V> {
    /// A table of `capacity` slots, clamped to 1..=[`MAX_TAGS`].
    pub(crate) fn new(capacity: usize) -> TagTable<V> {
        TagTable {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            capacity: capacity.clamp(1, MAX_TAGS),
        }
    }

    /// Values in the table.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether every slot is taken.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// Stores `value` and returns its tag, or gives the value back when full.
    pub(crate) fn insert(&mut self, value: V) -> Result<Tag, V> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.entries.len() < self.capacity => {
                self.entries.push(Entry {
                    generation: 0,
                    value: None,
                });
                self.entries.len() - 1
            }
            None => return Err(value),
        };
        let Some(entry) = self.entries.get_mut(index) else {
            unreachable!("free indices and fresh indices are in bounds");
        };
        entry.value = Some(value);
        self.len += 1;
        Ok(tag_of(index, entry.generation))
    }

    /// The value under `tag`, if `tag` is the current tag of a taken slot.
    pub(crate) fn get_mut(&mut self, tag: Tag) -> Option<&mut V> {
        let (index, generation) = split(tag);
        self.entries
            .get_mut(index)
            .filter(|entry| entry.generation == generation)
            .and_then(|entry| entry.value.as_mut())
    }

    /// Takes the value under `tag` out, freeing its slot under a new generation.
    pub(crate) fn remove(&mut self, tag: Tag) -> Option<V> {
        let (index, generation) = split(tag);
        let entry = self
            .entries
            .get_mut(index)
            .filter(|entry| entry.generation == generation)?;
        let value = entry.value.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }

    /// Keeps the values for which `keep` returns `true` (it may change them),
    /// and removes the others as [`remove`](Self::remove) would.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        for (index, entry) in self.entries.iter_mut().enumerate() {
            if let Some(value) = &mut entry.value {
                if !keep(value) {
                    entry.value = None;
                    entry.generation = entry.generation.wrapping_add(1);
                    self.free.push(index);
                    self.len -= 1;
                }
            }
        }
    }
}

/// The tag of slot `index` in `generation`.
fn tag_of(index: usize, generation: u16) -> Tag {
    // `index < MAX_TAGS = 2^INDEX_BITS`, so it fits the index bits exactly.
    (Tag::from(generation) << INDEX_BITS) | (index as Tag & INDEX_MASK)
}

/// A tag's slot index and generation.
fn split(tag: Tag) -> (usize, u16) {
    // Shifting a `u32` right by 16 leaves 16 bits: the cast loses nothing.
    ((tag & INDEX_MASK) as usize, (tag >> INDEX_BITS) as u16)
}

impl<V> fmt::Debug for TagTable<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagTable")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_gives_the_value_back() {
        let mut table = TagTable::new(2);
        let a = table.insert("a").unwrap();
        let b = table.insert("b").unwrap();
        assert_ne!(a, b);
        assert!(table.is_full());
        assert_eq!(table.insert("c"), Err("c"));
        assert_eq!(table.remove(a), Some("a"));
        assert!(table.insert("c").is_ok(), "a freed slot takes a new value");
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_reused_slot_does_not_answer_to_its_old_tag() {
        let mut table = TagTable::new(1);
        let old = table.insert("old").unwrap();
        assert_eq!(table.remove(old), Some("old"));
        let new = table.insert("new").unwrap();
        assert_eq!(split(old).0, split(new).0, "the one slot is reused");
        assert_ne!(old, new, "under a new generation");
        assert_eq!(table.get_mut(old), None);
        assert_eq!(table.remove(old), None);
        assert_eq!(table.get_mut(new), Some(&mut "new"));
    }

    #[test]
    fn tags_that_were_never_issued_resolve_to_nothing() {
        let mut table = TagTable::new(4);
        let tag = table.insert(1).unwrap();
        for unknown in [tag + 1, tag + 3, tag | (1 << 16), Tag::MAX, 70_000] {
            assert_eq!(table.get_mut(unknown), None, "tag {unknown:#x}");
            assert_eq!(table.remove(unknown), None, "tag {unknown:#x}");
        }
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn generations_wrap_only_after_65536_reuses_of_a_slot() {
        let mut table = TagTable::new(1);
        let first = table.insert(0).unwrap();
        table.remove(first);
        for round in 1..(1u32 << 16) {
            let tag = table.insert(round).unwrap();
            assert_ne!(tag, first, "reuse {round}");
            table.remove(tag);
        }
        assert_eq!(table.insert(0), Ok(first), "generation wrapped");
    }

    #[test]
    fn retain_removes_and_frees_rejected_values() {
        let mut table = TagTable::new(3);
        let tags: Vec<_> = (0..3).map(|v| table.insert(v).unwrap()).collect();
        table.retain(|v| {
            *v *= 10;
            *v != 10
        });
        assert_eq!(table.len(), 2);
        assert_eq!(table.get_mut(tags[0]), Some(&mut 0));
        assert_eq!(table.get_mut(tags[1]), None);
        assert_eq!(table.get_mut(tags[2]), Some(&mut 20));
        assert!(table.insert(7).is_ok());
    }

    #[test]
    fn capacity_is_clamped_to_what_a_tag_can_name() {
        let mut table = TagTable::new(usize::MAX);
        for v in 0..MAX_TAGS {
            assert!(table.insert(v).is_ok(), "slot {v}");
        }
        assert!(table.is_full());
        assert_eq!(TagTable::<()>::new(0).capacity, 1);
    }
}
