//! Owned buffers: the [`IoBuf`] and [`IoBufMut`] traits, and [`BufResult`].
//!
//! ringo is completion-based. An I/O call hands its buffer to the runtime, the kernel
//! reads or writes it after the call has returned, and the buffer comes back with the
//! result. If the caller's future is dropped first, the runtime keeps the buffer until
//! the completion arrives, so the kernel never touches freed memory. These traits say
//! which buffers can be handed over that way and what the runtime may assume about them.
//!
//! Implemented here for `Vec<u8>`, `Box<[u8]>`, [`Bytes`], [`BytesMut`],
//! `&'static [u8]`, `&'static str` and `String`, and for a [`Slice`] of any of them.
//!
//! The other way to receive: a [`PooledBuf`], a buffer of the runtime's
//! [`BufferPool`] that a pooled receive picks only once bytes have arrived, so
//! an idle connection holds none. It implements [`IoBuf`], so it can be written
//! back out as it is.
//!
//! For files there is also a [`FixedBufPool`]: buffers registered with the
//! runtime's io_uring once, which
//! [`File::read_fixed_at`](crate::fs::File::read_fixed_at) and
//! [`write_fixed_at`](crate::fs::File::write_fixed_at) name by index instead
//! of having the kernel pin them for every op. A [`FixedBuf`] is an
//! [`IoBufMut`] too.
//!
//! Not implemented for arrays (`[u8; N]`) or any other type that stores its bytes inline:
//! the runtime moves the buffer into an operation slot, and slots themselves move when
//! the slot table grows, so inline bytes would change address while the kernel still
//! holds the old one. Box the array (`Box<[u8]>`) to hand it over.

mod aligned;
mod fixed;
pub(crate) mod pool;
mod region;
mod slice;

pub use aligned::AlignedBuf;
pub use fixed::{FixedBuf, FixedBufPool, MAX_FIXED_BUFFERS, MAX_FIXED_BUFFER_SIZE};
pub use pool::{BufferPool, PooledBuf, DATAGRAM_HEADROOM, MAX_RECV_BUFFERS, MAX_RECV_BUFFER_SIZE};
pub(crate) use pool::{DEFAULT_RECV_BUFFERS, DEFAULT_RECV_BUFFER_SIZE};
pub use slice::Slice;

use std::ops::RangeBounds;

use bytes::{Bytes, BytesMut};

/// The result of an owned-buffer operation: the outcome and the buffer, returned in
/// every case, success or error, so the caller can reuse the buffer.
pub type BufResult<T, B> = (std::io::Result<T>, B);

/// A buffer the kernel may read from while an operation owns it.
///
/// A write or send takes the first [`bytes_init`](IoBuf::bytes_init) bytes; a read
/// or receive into an [`IoBufMut`] fills from the start up to
/// [`bytes_total`](IoBuf::bytes_total). Use [`slice`](IoBuf::slice) to pick another
/// range.
///
/// # Safety
///
/// The runtime takes the pointer and lengths once, moves the value into an operation
/// slot (which may move again), and lets the kernel read through the pointer until the
/// completion arrives, with no borrow tying the two together. So an implementor
/// promises, for as long as the value lives and no `&mut` method is called on it:
///
/// 1. `stable_ptr()` points to the start of a region of `bytes_total()` bytes owned by
///    this value, and the first `bytes_init()` of them are initialised and valid for
///    reads. `bytes_init() <= bytes_total()`.
/// 2. That memory does not move when the value is moved: it lives on the heap or in
///    static storage, never inline in the value.
/// 3. Nothing writes the initialised bytes through any other path while the value
///    lives (shared storage such as [`Bytes`] is immutable).
/// 4. Repeated calls return the same pointer and lengths.
pub unsafe trait IoBuf: Unpin + 'static {
    /// The start of the buffer; see the trait's safety section for what it points to.
    fn stable_ptr(&self) -> *const u8;

    /// How many bytes from the start are initialised; a write sends this many.
    fn bytes_init(&self) -> usize;

    /// The capacity in bytes: how many a read may fill.
    fn bytes_total(&self) -> usize;

    /// A view of `range` of this buffer, which an operation then reads or fills in
    /// place of the whole buffer; [`Slice::into_inner`] gives the buffer back.
    ///
    /// The range is checked against [`bytes_total`](IoBuf::bytes_total), not against
    /// the initialised length, so a read can target the spare capacity past the data
    /// already in a buffer (`vec.slice(vec.len()..)`).
    ///
    /// # Panics
    ///
    /// Like slice indexing, when the range starts after it ends or ends past
    /// `bytes_total()`. The range is the programmer's choice, never peer input, so a
    /// wrong one is a bug in the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringo_reactor::buf::IoBuf;
    ///
    /// let mut buf = Vec::with_capacity(16);
    /// buf.extend_from_slice(b"hello");
    /// let spare = buf.slice(5..);
    /// assert_eq!((spare.begin(), spare.end()), (5, spare.get_ref().capacity()));
    /// assert_eq!(spare.bytes_init(), 0);
    /// assert_eq!(spare.into_inner(), b"hello");
    /// ```
    #[track_caller]
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        Slice::new(self, range)
    }
}

/// A buffer the kernel may write into while an operation owns it.
///
/// After a read completes, the runtime calls [`set_init`](IoBufMut::set_init) with the
/// number of bytes the kernel wrote, so the buffer's length grows to cover them.
///
/// `String` does not implement it: the kernel writes arbitrary bytes, which would break
/// the string's UTF-8 invariant. Read into a `Vec<u8>` and convert.
///
/// # Safety
///
/// Everything [`IoBuf`] promises, and, for as long as the value lives:
///
/// 1. `stable_mut_ptr()` points to the same region as `stable_ptr()` and is valid for
///    writes of `bytes_total()` bytes; calling it does not move the memory or change
///    the lengths.
/// 2. That region is reachable only through this value: no other value or reference
///    reads or writes it, so the kernel's writes race with nobody.
/// 3. `set_init` never lowers `bytes_init()` and never raises it past the `pos` given.
pub unsafe trait IoBufMut: IoBuf {
    /// The start of the buffer, valid for writes of `bytes_total()` bytes.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Marks the first `pos` bytes initialised; the runtime calls it after the kernel
    /// wrote them. Never shrinks the initialised length: a `pos` below it does nothing.
    ///
    /// # Safety
    ///
    /// `pos <= self.bytes_total()`, and the first `pos` bytes really are initialised
    /// (written by the kernel, or initialised before).
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: the bytes live in the Vec's heap allocation (or, at capacity 0, in no memory
// at all with a dangling pointer and zero length), which a move does not touch.
// `as_ptr` covers `capacity()` bytes, the first `len()` initialised; only `&mut self`
// can change them.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: `as_mut_ptr` is valid for writes of the whole allocation (`capacity()` bytes)
// and the Vec owns it alone. `set_init` only ever raises `len`.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len() {
            // SAFETY: the caller guarantees `pos <= bytes_total() = capacity()` and that
            // the first `pos` bytes are initialised, which is all `set_len` asks.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: a boxed slice is a heap allocation of `len()` initialised bytes (or an empty
// dangling one), owned by the box and unmoved when the box moves.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: the box owns its bytes alone and `as_mut_ptr` is valid for writes of all
// `len()` of them. Every byte is always initialised, so `set_init` has nothing to record.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: `Bytes` points into heap or static storage that a move leaves in place; its
// `len()` bytes are initialised and immutable for as long as any handle to them lives.
unsafe impl IoBuf for Bytes {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: `BytesMut` views a heap allocation that a move leaves in place; its first
// `len()` of `capacity()` bytes are initialised, and only `&mut self` changes them.
// Reads go through `as_ptr`, which covers the initialised bytes, the only ones a read
// may touch.
unsafe impl IoBuf for BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: a `BytesMut` is the only view of its range `0..capacity()` (handles split off
// it own disjoint ranges), so the kernel's writes race with nobody. `set_init` only ever
// raises `len`.
unsafe impl IoBufMut for BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // `BytesMut` has no public pointer over its whole capacity: `as_mut_ptr` via
        // `DerefMut` covers only `len()` bytes, and writing past them through it is
        // undefined behaviour in Rust's aliasing model (Miri reports it). The spare
        // capacity of an empty `BytesMut` is the whole region, so take it at length 0.
        let len = self.len();
        // SAFETY: 0 is within capacity and no byte need be initialised for length 0.
        unsafe { self.set_len(0) };
        let ptr = self.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        // SAFETY: the first `len` bytes were initialised a moment ago, and neither
        // `set_len` nor `spare_capacity_mut` writes to the buffer.
        unsafe { self.set_len(len) };
        ptr
    }

    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len() {
            // SAFETY: the caller guarantees `pos <= bytes_total() = capacity()` and that
            // the first `pos` bytes are initialised, which is all `set_len` asks.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: static data never moves and lives for the whole program; a shared `'static`
// borrow guarantees nobody writes it.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for `&'static [u8]`: a `'static` shared borrow of initialised bytes.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: a `String` is a `Vec<u8>` holding UTF-8: its heap allocation stays put when
// it moves, its first `len()` of `capacity()` bytes are initialised, and only
// `&mut self` changes them. Reads go through `as_ptr`, which covers those bytes.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len()
    }

    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `src` at the start of `buf` the way the kernel would, through the raw
    /// pointer, then records it with `set_init`.
    fn kernel_fill<B: IoBufMut>(buf: &mut B, src: &[u8]) {
        assert!(
            src.len() <= buf.bytes_total(),
            "test writes past the buffer"
        );
        let dst = buf.stable_mut_ptr();
        // SAFETY: `dst` is valid for writes of `bytes_total()` bytes (IoBufMut contract)
        // and `src` fits, as asserted; `src` is a separate allocation.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        // SAFETY: the first `src.len()` bytes were just written.
        unsafe { buf.set_init(src.len()) };
    }

    /// The bytes `stable_ptr` shows as initialised.
    fn init_bytes<B: IoBuf>(buf: &B) -> Vec<u8> {
        let len = buf.bytes_init();
        if len == 0 {
            return Vec::new();
        }
        // SAFETY: the IoBuf contract makes the first `bytes_init()` bytes initialised
        // and valid for reads while `buf` is borrowed.
        unsafe { std::slice::from_raw_parts(buf.stable_ptr(), len) }.to_vec()
    }

    /// What a buffer reports: initialised length, capacity, initialised bytes.
    fn report<B: IoBuf>(buf: &B) -> (usize, usize, Vec<u8>) {
        (buf.bytes_init(), buf.bytes_total(), init_bytes(buf))
    }

    #[test]
    fn each_buffer_type_reports_its_init_and_total_lengths() {
        let mut vec = Vec::with_capacity(16);
        vec.extend_from_slice(b"abc");
        let mut bytes_mut = BytesMut::with_capacity(32);
        bytes_mut.extend_from_slice(b"abcd");
        let mut string = String::with_capacity(8);
        string.push_str("ab");
        let cases = [
            ("vec", report(&vec), (3, vec.capacity(), &b"abc"[..])),
            (
                "box",
                report(&Box::<[u8]>::from(&b"abcde"[..])),
                (5, 5, b"abcde"),
            ),
            (
                "bytes",
                report(&Bytes::from_static(b"abcdef")),
                (6, 6, b"abcdef"),
            ),
            (
                "bytes_mut",
                report(&bytes_mut),
                (4, bytes_mut.capacity(), b"abcd"),
            ),
            ("static_slice", report(&&b"abcdefg"[..]), (7, 7, b"abcdefg")),
            ("static_str", report(&"abcdefgh"), (8, 8, b"abcdefgh")),
            ("string", report(&string), (2, string.capacity(), b"ab")),
        ];
        for (name, (init, total, data), (want_init, want_total, want_data)) in cases {
            assert_eq!(init, want_init, "{name}: bytes_init");
            assert_eq!(total, want_total, "{name}: bytes_total");
            assert!(init <= total, "{name}: init {init} over total {total}");
            assert_eq!(data, want_data, "{name}: initialised bytes");
        }
    }

    #[test]
    fn empty_buffers_report_zero_lengths() {
        assert_eq!(
            (
                Vec::<u8>::new().bytes_init(),
                Vec::<u8>::new().bytes_total()
            ),
            (0, 0)
        );
        let empty_box: Box<[u8]> = Box::new([]);
        assert_eq!((empty_box.bytes_init(), empty_box.bytes_total()), (0, 0));
        assert_eq!(
            (Bytes::new().bytes_init(), Bytes::new().bytes_total()),
            (0, 0)
        );
        let bytes_mut = BytesMut::new();
        assert_eq!((bytes_mut.bytes_init(), bytes_mut.bytes_total()), (0, 0));
    }

    #[test]
    fn vec_set_init_grows_the_length_and_never_shrinks_it() {
        let mut buf = Vec::with_capacity(8);
        buf.extend_from_slice(b"ab");
        kernel_fill(&mut buf, b"wxyz");
        assert_eq!(buf, b"wxyz");
        // SAFETY: 1 is within capacity and the first byte is initialised.
        unsafe { buf.set_init(1) };
        assert_eq!(buf, b"wxyz", "set_init below the length must not shrink it");
        let total = buf.bytes_total();
        kernel_fill(&mut buf, &vec![7; total]);
        assert_eq!(buf.len(), total, "a fill to capacity marks every byte");
    }

    #[test]
    fn bytes_mut_set_init_grows_the_length_and_never_shrinks_it() {
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(b"ab");
        kernel_fill(&mut buf, b"wxyz");
        assert_eq!(&buf[..], b"wxyz");
        // SAFETY: 0 is within capacity.
        unsafe { buf.set_init(0) };
        assert_eq!(
            &buf[..],
            b"wxyz",
            "set_init below the length must not shrink it"
        );
        let total = buf.bytes_total();
        kernel_fill(&mut buf, &vec![7; total]);
        assert_eq!(buf.len(), total, "a fill to capacity marks every byte");
    }

    #[test]
    fn bytes_mut_write_pointer_reaches_past_the_initialised_bytes() {
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(b"ab");
        let ptr = buf.stable_mut_ptr();
        // SAFETY: offset 2..4 is within the capacity of 8 the pointer covers, nothing
        // else touches the buffer meanwhile, and bytes 0..4 are then initialised.
        unsafe {
            std::ptr::copy_nonoverlapping(b"cd".as_ptr(), ptr.add(2), 2);
            buf.set_init(4);
        }
        assert_eq!(&buf[..], b"abcd");
    }

    #[test]
    fn box_set_init_leaves_the_box_fully_initialised() {
        let mut buf: Box<[u8]> = Box::new([0; 6]);
        kernel_fill(&mut buf, b"hi");
        assert_eq!((buf.bytes_init(), buf.bytes_total()), (6, 6));
        assert_eq!(&buf[..], b"hi\0\0\0\0");
    }

    #[test]
    fn moving_a_buffer_keeps_its_stable_pointer() {
        fn through_box<B: IoBuf>(name: &str, buf: B) {
            let before = buf.stable_ptr();
            let boxed = Box::new(buf);
            let moved: Vec<B> = vec![*boxed];
            for buf in moved {
                assert_eq!(buf.stable_ptr(), before, "{name}: pointer after a move");
            }
        }
        through_box("vec", b"vec".to_vec());
        through_box("box", Box::<[u8]>::from(&b"box"[..]));
        through_box("bytes", Bytes::from(b"bytes".to_vec()));
        through_box("static_bytes", Bytes::from_static(b"bytes"));
        through_box("bytes_mut", BytesMut::from(&b"bytes_mut"[..]));
        through_box("string", String::from("string"));
        through_box("slice", b"slice".to_vec().slice(1..3));
    }

    #[test]
    fn moving_a_buffer_keeps_its_stable_mut_pointer() {
        fn through_box<B: IoBufMut>(name: &str, mut buf: B) {
            let before = buf.stable_mut_ptr();
            let mut moved = *Box::new(buf);
            assert_eq!(
                moved.stable_mut_ptr(),
                before,
                "{name}: pointer after a move"
            );
            assert_eq!(
                moved.stable_ptr(),
                before.cast_const(),
                "{name}: same region"
            );
        }
        through_box("vec", Vec::<u8>::with_capacity(4));
        through_box("box", Box::<[u8]>::from(&b"box"[..]));
        through_box("bytes_mut", BytesMut::with_capacity(4));
        through_box("slice", Vec::<u8>::with_capacity(8).slice(2..6));
    }
}
