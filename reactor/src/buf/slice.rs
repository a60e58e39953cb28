//! [`Slice`]: a range of an owned buffer, handed to an operation in place of the whole.
//!
//! A read that appends to the data already in a buffer, or a write of part of one, needs
//! a range; borrowing one (`&mut buf[5..]`) can't outlive the call the way the kernel
//! does, so the range travels with the buffer it belongs to instead.

use std::ops::{Bound, Deref, DerefMut, RangeBounds};

use super::{IoBuf, IoBufMut};

/// A range `begin..end` of an owned buffer, itself an owned buffer.
///
/// Made by [`IoBuf::slice`]. Offsets are relative to the slice: its byte 0 is the
/// buffer's byte `begin`. The slice's initialised bytes are those of the buffer's
/// initialised prefix that fall in the range, and `Deref` shows exactly those.
///
/// The buffer tracks initialisation as one prefix, so a slice that starts past the end
/// of that prefix can't record what the kernel writes into it: its
/// [`set_init`](IoBufMut::set_init) does nothing and its `bytes_init` stays 0 (the
/// byte count in the operation's result still says how much arrived). Start a read at
/// or before the initialised length (`vec.slice(vec.len()..)`) to keep the bytes.
#[derive(Debug)]
pub struct Slice<T> {
    /// The whole buffer.
    buf: T,
    /// Start of the range in `buf`, at most `end`.
    begin: usize,
    /// End of the range in `buf` (exclusive), at most `buf.bytes_total()` when made.
    end: usize,
}

impl<T: IoBuf> Slice<T> {
    /// The slice of `buf` over `range`, checked like slice indexing.
    ///
    /// # Panics
    ///
    /// When the range starts after it ends or ends past `buf.bytes_total()`.
    #[track_caller]
    pub(super) fn new(buf: T, range: impl RangeBounds<usize>) -> Self {
        let total = buf.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => match n.checked_add(1) {
                Some(begin) => begin,
                None => panic!("slice start {n} + 1 overflows usize"),
            },
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => match n.checked_add(1) {
                Some(end) => end,
                None => panic!("slice end {n} + 1 overflows usize"),
            },
            Bound::Excluded(&n) => n,
            Bound::Unbounded => total,
        };
        assert!(begin <= end, "slice start {begin} after end {end}");
        assert!(end <= total, "slice end {end} over buffer capacity {total}");
        Self { buf, begin, end }
    }
}

impl<T> Slice<T> {
    /// Where the slice starts in the buffer, in bytes.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Where the slice ends in the buffer (exclusive), in bytes.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The whole buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// The whole buffer, mutably.
    ///
    /// Changing the buffer leaves `begin` and `end` as they are; if it shrinks below
    /// them, the slice's lengths shrink to the part that still exists (down to 0).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.buf
    }

    /// The whole buffer, range forgotten, with any bytes an operation marked initialised.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

// SAFETY: the slice's region is the buffer's region from `begin`, clamped to what the
// buffer still holds (see `bytes_total`), so it lies inside the buffer's, which is
// stable, unmoved by moving the slice, and written by nobody else (T's contract).
// `bytes_init` counts only bytes of the buffer's initialised prefix, so they are
// initialised and readable, and never exceeds `bytes_total`.
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn stable_ptr(&self) -> *const u8 {
        // `wrapping_add` because `get_mut` may have shrunk the buffer below `begin`;
        // `bytes_total` is then 0 and nobody reads through the pointer.
        self.buf.stable_ptr().wrapping_add(self.begin)
    }

    fn bytes_init(&self) -> usize {
        self.buf
            .bytes_init()
            .min(self.end)
            .saturating_sub(self.begin)
    }

    fn bytes_total(&self) -> usize {
        // `end - begin`, unless the buffer was replaced through `get_mut` by a smaller
        // one: claiming memory it no longer has would let the kernel overrun it.
        self.buf
            .bytes_total()
            .min(self.end)
            .saturating_sub(self.begin)
    }
}

// SAFETY: the region is inside the buffer's, which T's contract makes writable and
// reachable only through the buffer, hence only through this slice. `set_init` raises
// the buffer's prefix only to bytes the caller vouches for and never lowers it.
unsafe impl<T: IoBufMut> IoBufMut for Slice<T> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.stable_mut_ptr().wrapping_add(self.begin)
    }

    unsafe fn set_init(&mut self, pos: usize) {
        // Bytes before `begin` that lie past the buffer's initialised prefix were never
        // written, so marking `begin + pos` would claim them too; only a slice that
        // starts inside (or right after) the prefix extends it.
        if self.begin <= self.buf.bytes_init() {
            // SAFETY: `pos <= self.bytes_total()` (our caller's promise) puts
            // `begin + pos` within the buffer's `bytes_total`, so it can't overflow.
            // Bytes `..begin` are in the initialised prefix, as just checked, and the
            // caller vouches for `begin..begin + pos`.
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];

    /// The initialised bytes of the slice.
    fn deref(&self) -> &[u8] {
        let len = self.bytes_init();
        if len == 0 {
            return &[];
        }
        // SAFETY: `len > 0` means `begin..begin + len` lies in the buffer's initialised
        // prefix, which T's contract makes readable and unwritten by anyone else while
        // `self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), len) }
    }
}

impl<T: IoBufMut> DerefMut for Slice<T> {
    /// The initialised bytes of the slice, mutably.
    fn deref_mut(&mut self) -> &mut [u8] {
        let len = self.bytes_init();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: as in `deref`; and T's IoBufMut contract makes the region writable
        // and reachable only through `self`, which we borrow mutably.
        unsafe { std::slice::from_raw_parts_mut(self.stable_mut_ptr(), len) }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use bytes::BytesMut;

    use super::*;

    /// A Vec holding `init` bytes `0, 1, 2, ...` in a capacity of exactly `total`.
    fn vec_with(init: usize, total: usize) -> Vec<u8> {
        let mut buf = Vec::with_capacity(total);
        buf.extend((0..init).map(|i| i as u8));
        assert_eq!(buf.capacity(), total, "test needs an exact capacity");
        buf
    }

    /// Writes `src` at the start of the slice through its raw pointer, then records it.
    fn kernel_fill<B: IoBufMut>(buf: &mut B, src: &[u8]) {
        assert!(src.len() <= buf.bytes_total(), "test writes past the slice");
        let dst = buf.stable_mut_ptr();
        // SAFETY: `dst` is valid for writes of `bytes_total()` bytes and `src` fits.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        // SAFETY: the first `src.len()` bytes were just written.
        unsafe { buf.set_init(src.len()) };
    }

    #[test]
    fn slice_ranges_resolve_against_the_capacity() {
        let cases = [
            ("full", vec_with(4, 10).slice(..), (0, 10)),
            ("from", vec_with(4, 10).slice(3..), (3, 10)),
            ("to", vec_with(4, 10).slice(..6), (0, 6)),
            ("to inclusive", vec_with(4, 10).slice(..=6), (0, 7)),
            ("range", vec_with(4, 10).slice(2..5), (2, 5)),
            ("inclusive", vec_with(4, 10).slice(2..=9), (2, 10)),
            ("empty at end", vec_with(4, 10).slice(10..), (10, 10)),
            ("empty inside", vec_with(4, 10).slice(5..5), (5, 5)),
            (
                "excluded start",
                vec_with(4, 10).slice((Bound::Excluded(1), Bound::Unbounded)),
                (2, 10),
            ),
        ];
        for (name, slice, (begin, end)) in cases {
            assert_eq!((slice.begin(), slice.end()), (begin, end), "{name}: bounds");
            assert_eq!(slice.bytes_total(), end - begin, "{name}: bytes_total");
            let offset = slice.stable_ptr() as usize - slice.get_ref().as_ptr() as usize;
            assert_eq!(offset, begin, "{name}: pointer offset");
        }
    }

    #[test]
    fn slice_init_is_the_part_of_the_buffer_init_inside_the_range() {
        // Buffer: 4 of 10 bytes initialised.
        let cases: [(&str, Range<usize>, &[u8]); 6] = [
            ("covers the init prefix", 0..10, &[0, 1, 2, 3]),
            ("inside the init prefix", 1..3, &[1, 2]),
            ("straddles the init end", 2..8, &[2, 3]),
            ("starts at the init end", 4..10, &[]),
            ("starts past the init end", 6..10, &[]),
            ("empty", 3..3, &[]),
        ];
        for (name, range, want) in cases {
            let slice = vec_with(4, 10).slice(range);
            assert_eq!(slice.bytes_init(), want.len(), "{name}: bytes_init");
            assert_eq!(&slice[..], want, "{name}: deref");
        }
    }

    #[test]
    fn set_init_on_a_slice_marks_the_mapped_bytes_of_the_buffer() {
        // (name, slice range, bytes the kernel writes, buffer afterwards)
        type Case = (&'static str, Range<usize>, &'static [u8], &'static [u8]);
        let cases: [Case; 4] = [
            ("at the init end", 4..10, b"ab", &[0, 1, 2, 3, b'a', b'b']),
            (
                "straddling the init end",
                2..10,
                b"abc",
                &[0, 1, b'a', b'b', b'c'],
            ),
            ("inside the init prefix", 1..3, b"z", &[0, b'z', 2, 3]),
            ("past the init end", 7..10, b"xyz", &[0, 1, 2, 3]),
        ];
        for (name, range, written, want) in cases {
            let mut slice = vec_with(4, 10).slice(range);
            kernel_fill(&mut slice, written);
            assert_eq!(slice.into_inner(), want, "{name}: buffer");
        }
    }

    #[test]
    fn set_init_on_a_slice_past_the_buffer_init_marks_nothing() {
        let mut slice = vec_with(2, 8).slice(5..);
        kernel_fill(&mut slice, b"abc");
        assert_eq!(slice.bytes_init(), 0);
        assert_eq!(
            slice.into_inner(),
            [0, 1],
            "the gap 2..5 must stay unmarked"
        );
    }

    #[test]
    fn set_init_on_a_slice_never_shrinks_the_buffer() {
        let mut slice = vec_with(6, 8).slice(1..4);
        // SAFETY: 1 is within the slice's 3 bytes, which are initialised.
        unsafe { slice.set_init(1) };
        assert_eq!(slice.bytes_init(), 3);
        assert_eq!(slice.into_inner(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn slice_of_a_slice_offsets_both_ranges() {
        let mut inner = BytesMut::with_capacity(16);
        inner.extend_from_slice(b"0123456789");
        let mut slice = inner.slice(2..12).slice(3..);
        assert_eq!(
            (slice.begin(), slice.end(), slice.bytes_total()),
            (3, 10, 7)
        );
        assert_eq!(&slice[..], b"56789");
        kernel_fill(&mut slice, b"abcdef");
        assert_eq!(&slice.into_inner().into_inner()[..], b"01234abcdef");
    }

    #[test]
    fn deref_mut_writes_through_to_the_buffer() {
        let mut slice = b"hello".to_vec().slice(1..4);
        slice.copy_from_slice(b"ELL");
        assert_eq!(slice.into_inner(), b"hELLo");
    }

    #[test]
    fn shrinking_the_buffer_through_get_mut_shrinks_the_slice() {
        let mut slice = vec_with(8, 8).slice(4..8);
        *slice.get_mut() = vec_with(2, 6);
        assert_eq!((slice.begin(), slice.end()), (4, 8));
        assert_eq!((slice.bytes_init(), slice.bytes_total()), (0, 2));
        *slice.get_mut() = Vec::new();
        assert_eq!((slice.bytes_init(), slice.bytes_total()), (0, 0));
        assert_eq!(&slice[..], b"");
        assert_eq!(&mut slice[..], b"");
    }

    #[test]
    fn slice_ending_at_capacity_is_accepted_and_one_past_is_not() {
        let at_limit = vec_with(0, 8).slice(..8);
        assert_eq!(at_limit.bytes_total(), 8);
        let past = std::panic::catch_unwind(|| vec_with(0, 8).slice(..9));
        assert!(past.is_err(), "slice end 9 over capacity 8 must panic");
    }

    #[test]
    #[should_panic(expected = "slice end 11 over buffer capacity 10")]
    fn slice_past_the_capacity_panics() {
        let _ = vec_with(4, 10).slice(2..11);
    }

    #[test]
    #[should_panic(expected = "slice end 11 over buffer capacity 10")]
    fn inclusive_slice_past_the_capacity_panics() {
        let _ = vec_with(4, 10).slice(..=10);
    }

    #[test]
    #[should_panic(expected = "slice start 6 after end 5")]
    fn slice_starting_after_its_end_panics() {
        let (start, end) = (6, 5);
        let _ = vec_with(4, 10).slice(start..end);
    }

    #[test]
    #[should_panic(expected = "slice start 4 after end 3")]
    fn slice_of_a_slice_past_its_end_panics() {
        let _ = vec_with(4, 10).slice(2..5).slice(4..);
    }

    #[test]
    #[should_panic(expected = "+ 1 overflows usize")]
    fn inclusive_slice_to_usize_max_panics() {
        let _ = vec_with(4, 10).slice(..=usize::MAX);
    }
}
