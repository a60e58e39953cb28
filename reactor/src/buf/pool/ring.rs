//! The provided buffer ring the pool shares with the kernel, and the books the
//! pool keeps on it so that a *bundled* receive can be read back.
//!
//! # Why books
//!
//! A plain multishot receive names, in each completion, the one buffer it
//! filled. A bundled one (`IORING_RECVSEND_BUNDLE`, Linux 6.10) names only the
//! first: the kernel took that buffer's entry and the entries after it, in ring
//! order, and filled them one after the other. Buffers come back in any order
//! and are published again at the tail, so ring order is not id order: the pool
//! remembers, for each buffer, where it was published and which buffer was
//! published right after it, and walks that chain.
//!
//! # Why the lengths come from the ring
//!
//! The kernel fills each entry up to the entry's length, which is not always
//! the length the pool wrote: mapping the head entry for fewer bytes than it
//! holds, kernels up to at least 6.18 shorten its length in place, and leave it
//! shortened if that receive then gets nothing (a second reader drained the
//! socket); the next bundle that starts there fills only that much of it. So,
//! as liburing's examples do, each buffer holds the smaller of its entry's
//! length *as the kernel left it* and the bytes not yet accounted for.
//!
//! # Why what is read back is still there
//!
//! Only this thread writes the ring, and only at the tail. An entry the kernel
//! has consumed is behind its head, so the kernel no longer reads or writes it;
//! but it can still be overwritten before its completion is read: a socket that
//! is slow to collect leaves its completion queued while other sockets' buffers
//! go round the ring, and the tail comes back to the same entry after
//! [`entries`](KernelRing::entries) more publications. The walk therefore never
//! trusts a reused entry:
//!
//! - The chain is the pool's own ([`Book::next`]), written at publication. A
//!   buffer named by a completion not yet read is not free, so it is not
//!   published again, and its book stays that of the publication the kernel
//!   consumed.
//! - Before [`push`](KernelRing::push) overwrites an entry, it saves the length
//!   the kernel left there in the book of the buffer it held, if that buffer's
//!   completion has not been read yet. The entry cannot be one the kernel may
//!   still take: at most `count` (no more than the ring's size) buffers are in
//!   the ring at once, so the entry being reused is behind the kernel's head.
//!
//! All of this rests on the kernel's word that a bundle is contiguous from the
//! named entry. A socket read by a plain receive *and* the multishot at once
//! can, in the kernel, split one bundle around other sockets' receives; the walk
//! checks every buffer is still in the ring and in publication order, and fails
//! the receive rather than hand a buffer out twice.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use crate::buf::region::Region;

/// One entry of a provided buffer ring: `struct io_uring_buf` (io_uring.h),
/// the layout of `io_uring::types::BufRingEntry`. Entry 0's `resv` is the
/// ring's tail, which the kernel reads concurrently: the fields are only ever
/// read and written through raw pointers, never through a reference to a
/// whole entry.
#[repr(C)]
struct RawBufEntry {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// What the pool knows of one buffer's place in the ring.
#[derive(Debug, Clone, Copy, Default)]
struct Book {
    /// Published, and no completion that names it read yet.
    in_ring: bool,
    /// Where it was last published: how many entries were published before it.
    /// 64 bits, so distances along the ring never wrap.
    at: u64,
    /// The buffer published right after it (meaningful once one was).
    next: u16,
    /// Its entry's length as the kernel left it, saved when the entry was
    /// reused while the buffer was still in the ring.
    lapped_len: u32,
}

/// A provided buffer ring for the runtime's io_uring, and its books.
pub(super) struct KernelRing {
    entries: Region,
    /// Ring size minus one (the size is a power of two).
    mask: u16,
    /// Entries published so far; the kernel's tail is the low 16 bits.
    published: Cell<u64>,
    /// One per buffer id.
    books: Box<[Cell<Book>]>,
    /// The buffer published last: the next publication is its successor.
    last: Cell<Option<u16>>,
}

impl KernelRing {
    /// An empty ring for `count` buffers (at most
    /// [`MAX_RECV_BUFFERS`](super::MAX_RECV_BUFFERS)), its size rounded up to a
    /// power of two.
    pub(super) fn new(count: usize) -> io::Result<KernelRing> {
        let size = count.next_power_of_two();
        let mask = u16::try_from(size - 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many pool buffers"))?;
        Ok(KernelRing {
            entries: Region::new(size * std::mem::size_of::<RawBufEntry>())?,
            mask,
            published: Cell::new(0),
            books: vec![Cell::new(Book::default()); count].into_boxed_slice(),
            last: Cell::new(None),
        })
    }

    /// Where the ring starts (page-aligned), for registering it.
    pub(super) fn addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// How many entries the ring has.
    pub(super) fn entries(&self) -> u64 {
        u64::from(self.mask) + 1
    }

    /// The entry that holds (or held) the publication at `at`.
    fn entry(&self, at: u64) -> *mut RawBufEntry {
        // SAFETY: `at & mask` is below the ring's size, so the offset stays
        // inside the mapping.
        unsafe {
            self.entries
                .as_ptr()
                .cast::<RawBufEntry>()
                .add((at & u64::from(self.mask)) as usize)
        }
    }

    /// Hands buffer `id` (of `len` bytes at `addr`) to the kernel.
    pub(super) fn push(&self, addr: *mut u8, len: u32, id: u16) {
        let at = self.published.get();
        let entry = self.entry(at);
        if let Some(held) = at.checked_sub(self.entries()) {
            self.save_lapped(entry, held);
        }
        // SAFETY: the entry is past the published tail, so the kernel does not
        // read it now. Entry 0's `resv` (the tail) is not written here.
        unsafe {
            std::ptr::addr_of_mut!((*entry).addr).write(addr as u64);
            std::ptr::addr_of_mut!((*entry).len).write(len);
            std::ptr::addr_of_mut!((*entry).bid).write(id);
        }
        if let Some(prev) = self.last.replace(Some(id)) {
            self.update(prev, |book| book.next = id);
        }
        self.update(id, |book| {
            *book = Book {
                in_ring: true,
                at,
                ..Book::default()
            }
        });
        self.published.set(at + 1);
        // SAFETY: the tail is entry 0's `resv`, a 2-byte aligned u16 inside the
        // mapping, shared with the kernel and written only by this thread; the
        // release store publishes the entry written above before the new tail.
        unsafe {
            let shared_tail = std::ptr::addr_of_mut!((*self.entry(0)).resv);
            AtomicU16::from_ptr(shared_tail).store((at + 1) as u16, Ordering::Release);
        }
    }

    /// Before `entry` is reused: if the publication `held` it carried is of a
    /// buffer whose completion is still unread, keeps the length the kernel
    /// left there in that buffer's book.
    fn save_lapped(&self, entry: *mut RawBufEntry, held: u64) {
        // SAFETY: the entry held publication `held`, one ring size behind the
        // tail; no more buffers than the ring's size are ever in it, so that
        // publication is behind the kernel's head: the kernel neither reads nor
        // writes the entry any more, and wrote it before posting the completion.
        let (id, len) = unsafe {
            (
                std::ptr::addr_of!((*entry).bid).read(),
                std::ptr::addr_of!((*entry).len).read(),
            )
        };
        self.update(id, |book| {
            if book.in_ring && book.at == held {
                book.lapped_len = len;
            }
        });
    }

    /// The length of the entry that carried `book`'s publication, as the
    /// kernel left it (it consumed that entry).
    fn consumed_len(&self, book: &Book) -> u32 {
        if self.published.get() - book.at > self.entries() {
            return book.lapped_len;
        }
        // SAFETY: the entry still carries `book`'s publication, which the
        // kernel consumed before posting the completion being read: it no
        // longer writes the entry.
        unsafe { std::ptr::addr_of!((*self.entry(book.at)).len).read() }
    }

    fn update(&self, id: u16, f: impl FnOnce(&mut Book)) {
        if let Some(cell) = self.books.get(usize::from(id)) {
            let mut book = cell.get();
            f(&mut book);
            cell.set(book);
        }
    }

    /// Takes out of the ring the buffers a receive completion reports: `len`
    /// bytes received into buffer `first` and, for a `bundle`, on into the
    /// buffers published after it, none holding more than `size`. Calls
    /// `each(id, bytes)` for each, in order (it may publish buffers again);
    /// returns how many there were.
    ///
    /// Fails when the books disagree with the completion (a buffer not in the
    /// ring or out of publication order, or room for fewer bytes): what was
    /// handed to `each` is taken, the rest stays as it is rather than risk
    /// handing a buffer out twice.
    pub(super) fn take(
        &self,
        first: u16,
        len: usize,
        bundle: bool,
        size: usize,
        mut each: impl FnMut(u16, usize),
    ) -> Result<usize, String> {
        let (mut id, mut left, mut taken) = (first, len, 0);
        let mut expect_at = None;
        loop {
            let Some(cell) = self.books.get(usize::from(id)) else {
                return Err(format!("buffer {id} is outside the pool"));
            };
            let mut book = cell.get();
            if !book.in_ring || expect_at.is_some_and(|at| at != book.at) {
                return Err(format!("buffer {id} is not the ring's next entry"));
            }
            let room = if bundle {
                size.min(self.consumed_len(&book) as usize)
            } else {
                size
            };
            if room == 0 || (!bundle && left > room) {
                return Err(format!("buffer {id} holds {room} of {left} bytes"));
            }
            let here = left.min(room);
            book.in_ring = false;
            cell.set(book);
            each(id, here);
            taken += 1;
            left -= here;
            if left == 0 {
                return Ok(taken);
            }
            (id, expect_at) = (book.next, Some(book.at + 1));
        }
    }

    /// Shortens the entry that carries buffer `id`'s publication to `len`, as
    /// the kernel does when it maps the head entry for fewer bytes (for tests
    /// standing in for the kernel).
    #[cfg(test)]
    pub(super) fn shorten(&self, id: u16, len: u32) {
        let book = self.books[usize::from(id)].get();
        // SAFETY: the entry is inside the ring; tests run no kernel.
        unsafe { std::ptr::addr_of_mut!((*self.entry(book.at)).len).write(len) }
    }

    /// The tail as the kernel reads it, and the entry at `index` (for tests).
    #[cfg(test)]
    pub(super) fn peek(&self, index: u64) -> (u16, u16, u32) {
        // SAFETY: entry 0's `resv` and the entry are inside the mapping; tests
        // run no kernel.
        unsafe {
            let tail = AtomicU16::from_ptr(std::ptr::addr_of_mut!((*self.entry(0)).resv))
                .load(Ordering::Acquire);
            let entry = self.entry(index);
            (tail, (*entry).bid, (*entry).len)
        }
    }
}
