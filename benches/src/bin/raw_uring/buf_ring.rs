//! The provided buffer ring: receive buffers the kernel picks for itself.
//!
//! A multishot receive names no buffer; the kernel takes the next one from this
//! ring when bytes arrive, so an idle connection holds none and one receive
//! serves a connection for its whole life. The ring and the buffers are memory
//! the kernel reads and writes behind our back, so everything that touches them
//! through raw pointers is here, in one place.

use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::Submitter;

pub const BUFFER_SIZE: usize = 4096;
pub const BUFFER_GROUP: u16 = 0;

/// `struct io_uring_buf`. Entry 0's `resv` is the ring's tail, which the kernel
/// reads at any time, so entries are written field by field through raw
/// pointers, never through a reference to a whole entry.
#[repr(C)]
struct RawBuf {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// The provided buffer ring and the buffers it hands out, in one mapping that
/// lives as long as the process (the kernel may write a buffer at any time).
pub struct BufRing {
    entries: *mut RawBuf,
    /// How many buffers (and ring entries): a power of two.
    count: u16,
    data: *mut u8,
    /// Our tail, published to the kernel once per batch of returned buffers.
    tail: u16,
    returned: bool,
}

impl BufRing {
    pub fn register(submitter: &Submitter<'_>, count: u16) -> io::Result<BufRing> {
        let ring_bytes = usize::from(count) * std::mem::size_of::<RawBuf>();
        let len = ring_bytes + usize::from(count) * BUFFER_SIZE;
        // SAFETY: an anonymous private mapping touches no existing memory; the
        // result is checked. It is never unmapped.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut ring = BufRing {
            entries: base.cast(),
            count,
            // SAFETY: `ring_bytes` is inside the mapping of `len` bytes.
            data: unsafe { base.cast::<u8>().add(ring_bytes) },
            tail: 0,
            returned: false,
        };
        // SAFETY: the ring's page-aligned memory of `count` entries is never
        // unmapped, so it outlives the registration.
        unsafe {
            submitter.register_buf_ring_with_flags(base as u64, count, BUFFER_GROUP, 0)?;
        }
        for bid in 0..count {
            ring.give_back(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// Where byte `offset` of buffer `bid` is.
    pub fn at(&self, bid: u16, offset: u32) -> *const u8 {
        // SAFETY: `bid` < count and `offset` < BUFFER_SIZE (the kernel never
        // names another buffer or fills one beyond its size), so the result is
        // inside the buffer area of the mapping.
        unsafe {
            self.data
                .add(usize::from(bid) * BUFFER_SIZE + offset as usize)
        }
    }

    /// The `len` bytes the kernel received into buffer `bid`.
    ///
    /// # Safety
    ///
    /// A receive completion of `len` bytes named `bid`, and `bid` has not been
    /// given back since: until it is, the kernel does not write it.
    pub unsafe fn filled(&self, bid: u16, len: u32) -> &[u8] {
        // SAFETY: the buffer is in the mapping and holds `len` <= BUFFER_SIZE
        // bytes the kernel wrote. By the caller's promise nothing else writes
        // them while the slice lives, and giving the buffer back takes
        // `&mut self`, which the borrow excludes.
        unsafe { std::slice::from_raw_parts(self.at(bid, 0), len as usize) }
    }

    /// Puts `bid` back at our tail; the kernel sees it at the next publish.
    pub fn give_back(&mut self, bid: u16) {
        // SAFETY: the index is below `count`, so the entry is in the mapping. At
        // most `count` buffers are ever in the ring, so the entry at our tail is
        // one the kernel has consumed and no longer reads. Only `addr`, `len`
        // and `bid` are written, never the tail that shares entry 0.
        unsafe {
            let entry = self.entries.add(usize::from(self.tail & (self.count - 1)));
            std::ptr::addr_of_mut!((*entry).addr).write(self.at(bid, 0) as u64);
            std::ptr::addr_of_mut!((*entry).len).write(BUFFER_SIZE as u32);
            std::ptr::addr_of_mut!((*entry).bid).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        self.returned = true;
    }

    /// Lets the kernel take every buffer given back since the last publish;
    /// whether there were any.
    pub fn publish(&mut self) -> bool {
        // SAFETY: entry 0's `resv` is the tail: a u16, aligned, in the mapping,
        // that the kernel only reads, and that we only touch atomically.
        let tail = unsafe { &*std::ptr::addr_of_mut!((*self.entries).resv).cast::<AtomicU16>() };
        // Release: the entries written before are seen with the new tail.
        tail.store(self.tail, Ordering::Release);
        std::mem::take(&mut self.returned)
    }
}
