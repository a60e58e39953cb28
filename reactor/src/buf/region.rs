//! [`Region`]: one anonymous private mapping, the memory of a buffer pool.
//!
//! Both pools (the receive pool and the registered [`FixedBufPool`]) need
//! memory that never moves, is page-aligned (a provided buffer ring and
//! registered buffers are pinned page by page) and is backed lazily by the
//! kernel, so an unused pool costs address space rather than memory.
//!
//! Unix has `mmap` for that, Windows `VirtualAlloc` (committed pages are
//! zero-filled on first touch, so they cost commit charge but no memory
//! until used): one `map`/`unmap` pair per system, at the end.
//!
//! [`FixedBufPool`]: crate::buf::FixedBufPool

use std::io;
use std::ptr::NonNull;

/// One anonymous private mapping, released on drop.
pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a `Region` is plain memory with no thread affinity; who may read or
// write which part of it, from which thread, is governed by the buffer states
// in the docs of the pool that owns it, which the pool's types uphold.
unsafe impl Send for Region {}
// SAFETY: as for `Send`: shared access only ever reads buffers that are out.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `len` zeroed, page-aligned bytes (`len` > 0).
    pub(crate) fn new(len: usize) -> io::Result<Region> {
        Ok(Region {
            ptr: map(len)?,
            len,
        })
    }

    /// The start of the mapping.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `new`, and the last
        // owner is dropping it: no buffer of it is out, and no ring names it
        // (a registered table holds its own pins on the pages, not this mapping).
        unsafe { unmap(self.ptr, self.len) }
    }
}

/// An anonymous private mapping of `len` zeroed bytes.
#[cfg(unix)]
fn map(len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: an anonymous private mapping with no address hint touches no
    // existing memory; the result is checked before use.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

/// Unmaps what [`map`] mapped.
///
/// # Safety
/// `ptr`/`len` are a mapping from [`map`] that nothing uses any more.
#[cfg(unix)]
unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

/// `len` zeroed bytes of reserved and committed pages, at an address
/// aligned to the allocation granularity (64 KiB, a multiple of the page).
#[cfg(windows)]
fn map(len: usize) -> io::Result<NonNull<u8>> {
    use windows_sys::Win32::System::Memory::{
        VirtualAlloc, MEM_COMMIT, MEM_RESERVE, PAGE_READWRITE,
    };
    // SAFETY: a new allocation with no address hint touches no existing
    // memory; the result is checked before use.
    let ptr = unsafe {
        VirtualAlloc(
            std::ptr::null(),
            len,
            MEM_RESERVE | MEM_COMMIT,
            PAGE_READWRITE,
        )
    };
    NonNull::new(ptr.cast()).ok_or_else(io::Error::last_os_error)
}

/// Releases what [`map`] allocated (all of it: `VirtualFree` takes no length).
///
/// # Safety
/// `ptr` is an allocation from [`map`] that nothing uses any more.
#[cfg(windows)]
unsafe fn unmap(ptr: NonNull<u8>, _len: usize) {
    use windows_sys::Win32::System::Memory::{VirtualFree, MEM_RELEASE};
    // SAFETY: the caller's contract; MEM_RELEASE takes size 0 and the base
    // address `VirtualAlloc` returned.
    unsafe {
        VirtualFree(ptr.as_ptr().cast(), 0, MEM_RELEASE);
    }
}
