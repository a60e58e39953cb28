//! [`AlignedBuf`]: a zeroed heap buffer whose address is a multiple of a chosen
//! alignment, for `O_DIRECT` file I/O.
//!
//! With `O_DIRECT` the kernel moves data between the device and the buffer
//! without the page cache, so the buffer's address, the file offset and the
//! length must all be multiples of the device's logical block size (512 B or
//! 4 KiB; 4096 is safe everywhere). A `Vec<u8>` has alignment 1, and the kernel
//! answers `EINVAL` to it. Every byte is initialised (zeroed at allocation), so
//! the buffer is always full: reads fill it, writes send all of it.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::{fmt, io};

use super::{IoBuf, IoBufMut};

/// A zeroed, aligned, fixed-length byte buffer; see the module doc.
///
/// # Examples
/// ```
/// use ringo_reactor::buf::AlignedBuf;
///
/// let buf = AlignedBuf::new(8192, 4096)?;
/// assert_eq!(buf.as_ptr() as usize % 4096, 0);
/// assert_eq!(buf.len(), 8192);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl AlignedBuf {
    /// `len` zeroed bytes at an address that is a multiple of `align`.
    ///
    /// # Errors
    /// `InvalidInput` if `align` is not a power of two, `len` is zero, or the
    /// size overflows; `OutOfMemory` if the allocation fails.
    pub fn new(len: usize, align: usize) -> io::Result<AlignedBuf> {
        let layout = Layout::from_size_align(len, align)
            .ok()
            .filter(|_| len > 0)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("no aligned buffer of {len} bytes at alignment {align}"),
                )
            })?;
        // SAFETY: `layout` has a non-zero size (checked above).
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(AlignedBuf { ptr, layout })
    }

    /// The alignment the buffer was made with.
    pub fn align(&self) -> usize {
        self.layout.align()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc_zeroed` with this very layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

// SAFETY: the buffer owns its allocation alone, like a Box<[u8]>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBuf {}

impl Deref for AlignedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `size` initialised bytes, owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.layout.size())
            .field("align", &self.layout.align())
            .finish()
    }
}

// SAFETY: the allocation is owned by the value and does not move when it moves;
// all `size` bytes are initialised.
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.layout.size()
    }

    fn bytes_total(&self) -> usize {
        self.layout.size()
    }
}

// SAFETY: writable for all `size` bytes, reachable only through this value;
// every byte is always initialised, so `set_init` has nothing to record.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    unsafe fn set_init(&mut self, _pos: usize) {}
}
