//! Registered ("fixed") buffers: [`FixedBufPool`] and the [`FixedBuf`]s
//! checked out of it, for [`File::read_fixed_at`] and [`File::write_fixed_at`].
//!
//! [`File::read_fixed_at`]: crate::fs::File::read_fixed_at
//! [`File::write_fixed_at`]: crate::fs::File::write_fixed_at
//!
//! An ordinary read makes the kernel look up and pin the buffer's pages for
//! that one op and unpin them after. A pool's buffers are registered with the
//! runtime's ring once, when the pool is made (`IORING_REGISTER_BUFFERS`), so
//! each `READ_FIXED` / `WRITE_FIXED` names its buffer by table index and the
//! per-op pinning goes away. Whether that pays is measured, not assumed:
//! `benches/README.md`, "File fast paths".
//!
//! # Both drivers, always
//! The same pool and the same calls work everywhere. Where there is no table
//! to register with — on compat, where file I/O runs on the blocking pool — or
//! the kernel refuses it (`RLIMIT_MEMLOCK`, which registered pages count
//! against; another live pool holding the ring's one table), the pool is
//! simply not registered: [`is_registered`](FixedBufPool::is_registered) says
//! so, and the fixed calls go out as plain reads and writes into the same
//! buffers. That is never an error.
//!
//! # Who owns what, when
//! Each buffer is, at any time, in exactly one place:
//! - **free**: in the pool's free list; nothing reads or writes it;
//! - **out**: a [`FixedBuf`], held by the application or by an op. An op whose
//!   future is dropped in flight keeps it in its slot until the completion
//!   (see `driver/lifecycle.rs`), so the buffer goes back to the free list —
//!   and can be lent again — only once the kernel is done writing it.
//!
//! The memory and the table lease belong to the pool's shared part, which
//! every [`FixedBuf`] holds: dropping the [`FixedBufPool`] handle, or the
//! runtime, while reads are in flight frees nothing under them. The last
//! buffer back empties the table's slots, then unmaps the memory.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::region::Region;
use super::{IoBuf, IoBufMut};
use crate::driver::uring::BufferLease;
use crate::runtime::context;

/// Most buffers a pool may have: the kernel's limit on a registered buffer
/// table (`IORING_MAX_REG_BUFFERS`). A larger count is refused with
/// `InvalidInput`.
pub const MAX_FIXED_BUFFERS: usize = 1 << 14;

/// Largest buffer of a pool, in bytes (1 GiB): the kernel's limit on one
/// registered buffer. A larger size is refused with `InvalidInput`.
pub const MAX_FIXED_BUFFER_SIZE: usize = 1 << 30;

/// What a pool's buffers share; see the module docs.
struct Inner {
    /// The ring's table, when the buffers are registered. Declared before
    /// `region`, so the slots are emptied before the memory is unmapped.
    lease: Option<BufferLease>,
    region: Region,
    size: usize,
    count: usize,
    /// Ids of the free buffers.
    free: RefCell<Vec<u16>>,
    /// Tasks waiting in [`FixedBufPool::get`] for a buffer to come back.
    waiters: RefCell<Vec<Waker>>,
}

impl Inner {
    /// The start of buffer `id` (`id` < `count`).
    fn buffer_ptr(&self, id: u16) -> *mut u8 {
        debug_assert!(usize::from(id) < self.count);
        // SAFETY: `id < count` and the region holds `count * size` bytes, so
        // the offset stays inside the mapping.
        unsafe { self.region.as_ptr().add(usize::from(id) * self.size) }
    }

    fn give_back(&self, id: u16) {
        self.free.borrow_mut().push(id);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

/// Registers `count` buffers of `size` bytes tiling `region` with the ring
/// of the runtime on this thread: `Some(None)` where it has none or refuses
/// them, `None` without a runtime.
#[cfg(target_os = "linux")]
fn lend(region: &Region, count: usize, size: usize) -> Option<Option<BufferLease>> {
    let iovecs: Vec<libc::iovec> = (0..count)
        .map(|i| libc::iovec {
            // In bounds: `i < count`, and the region has `count * size` bytes.
            iov_base: region.as_ptr().wrapping_add(i * size).cast(),
            iov_len: size,
        })
        .collect();
    context::try_with(|rt| {
        // SAFETY: the iovecs tile `region`, which the pool's `Inner` keeps
        // mapped until after the lease (declared before it) is dropped; and
        // each buffer is reached only through the one `FixedBuf` holding it.
        unsafe { rt.driver.lend_buffers(&iovecs) }.ok()
    })
}

/// Elsewhere there is no io_uring to register with: `Some(None)` on a
/// runtime's thread, `None` off it.
#[cfg(not(target_os = "linux"))]
fn lend(_: &Region, _: usize, _: usize) -> Option<Option<BufferLease>> {
    context::try_with(|_| None)
}

/// A pool of equal buffers, registered with the runtime's io_uring where it
/// can be, for [`File::read_fixed_at`] and [`File::write_fixed_at`].
///
/// Registered, the buffers are pinned once, when the pool is made, instead of
/// by the kernel for every op. The same pool and calls work on every driver:
/// where there is no table to register with (compat, whose file I/O runs on
/// its blocking pool) or the kernel refuses it — `RLIMIT_MEMLOCK`, which
/// registered pages count against, or another live pool holding the ring's
/// one table — the pool is not [registered](Self::is_registered) and the
/// fixed calls are plain reads and writes into the same buffers. That is
/// never an error.
///
/// A buffer goes back to the pool when its [`FixedBuf`] is dropped; a read
/// whose future is dropped in flight keeps its buffer until the kernel is
/// done with it, so a buffer is never lent again while a write into it may
/// still land. Dropping the pool handle, or the runtime, with reads in flight
/// is safe: the memory lives until the last buffer is back.
///
/// Cheap to clone (clones share the pool). `!Send`, like the runtime it
/// belongs to.
///
/// [`File::read_fixed_at`]: crate::fs::File::read_fixed_at
/// [`File::write_fixed_at`]: crate::fs::File::write_fixed_at
///
/// # Examples
/// ```
/// use ringo_reactor::buf::FixedBufPool;
/// use ringo_reactor::fs::File;
///
/// ringo_reactor::run(async {
///     let path = std::env::temp_dir().join("ringo-fixed-doctest");
///     std::fs::write(&path, b"hello, fixed buffers")?;
///     let pool = FixedBufPool::new(4, 4096)?;
///     let file = File::open(&path).await?;
///     let buf = pool.try_get().expect("a free buffer");
///     let (n, buf) = file.read_fixed_at(buf, 7).await;
///     assert_eq!(&buf[..n?], b"fixed buffers");
///     std::fs::remove_file(&path)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct FixedBufPool {
    inner: Rc<Inner>,
}

impl FixedBufPool {
    /// A pool of `count` buffers of `buffer_size` bytes each, registered with
    /// the io_uring of the runtime on this thread if the kernel accepts them
    /// (see [`is_registered`](Self::is_registered)). The memory is one
    /// anonymous mapping: registering pins (and so backs) all of it, while an
    /// unregistered pool is backed as buffers are used.
    ///
    /// # Errors
    /// `InvalidInput` for a count outside `1..=`[`MAX_FIXED_BUFFERS`] or a size
    /// outside `1..=`[`MAX_FIXED_BUFFER_SIZE`]; an error if no ringo runtime
    /// runs on this thread or the memory cannot be mapped. A refused
    /// registration is not an error.
    pub fn new(count: usize, buffer_size: usize) -> io::Result<FixedBufPool> {
        if !(1..=MAX_FIXED_BUFFERS).contains(&count) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fixed buffer count {count} outside 1..={MAX_FIXED_BUFFERS}"),
            ));
        }
        if !(1..=MAX_FIXED_BUFFER_SIZE).contains(&buffer_size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fixed buffer size {buffer_size} outside 1..={MAX_FIXED_BUFFER_SIZE}"),
            ));
        }
        let len = count.checked_mul(buffer_size).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{count} fixed buffers of {buffer_size} bytes overflow the address space"),
            )
        })?;
        let region = Region::new(len)?;
        let lease = lend(&region, count, buffer_size).ok_or_else(|| {
            io::Error::other("no ringo runtime on this thread for a fixed buffer pool")
        })?;
        // Ids are 16 bits: `count` <= MAX_FIXED_BUFFERS = 2^14 fits.
        let free = (0..count as u16).rev().collect();
        Ok(FixedBufPool {
            inner: Rc::new(Inner {
                lease,
                region,
                size: buffer_size,
                count,
                free: RefCell::new(free),
                waiters: RefCell::new(Vec::new()),
            }),
        })
    }

    /// A free buffer, empty (length 0), or `None` if all are out. Never waits.
    pub fn try_get(&self) -> Option<FixedBuf> {
        let id = self.inner.free.borrow_mut().pop()?;
        Some(FixedBuf {
            pool: self.inner.clone(),
            id,
            len: 0,
        })
    }

    /// A free buffer, empty (length 0), waiting for one to come back if all
    /// are out.
    pub async fn get(&self) -> FixedBuf {
        poll_fn(|cx| match self.try_get() {
            Some(buf) => Poll::Ready(buf),
            None => {
                let mut waiters = self.inner.waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }

    /// How many buffers the pool has.
    pub fn count(&self) -> usize {
        self.inner.count
    }

    /// The size of each buffer in bytes.
    pub fn buffer_size(&self) -> usize {
        self.inner.size
    }

    /// How many buffers are free now. A buffer of a read dropped in flight
    /// counts as out until that read's completion.
    pub fn available(&self) -> usize {
        self.inner.free.borrow().len()
    }

    /// Whether the buffers are registered with the runtime's io_uring, so the
    /// fixed calls go out as `READ_FIXED` / `WRITE_FIXED`. `false` on compat,
    /// and where the kernel refused the registration; the calls then go out
    /// as plain reads and writes, with the same results.
    pub fn is_registered(&self) -> bool {
        self.inner.lease.is_some()
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("count", &self.inner.count)
            .field("buffer_size", &self.inner.size)
            .field("registered", &self.is_registered())
            .field("available", &self.available())
            .finish()
    }
}

/// One buffer of a [`FixedBufPool`], back in the pool when dropped.
///
/// Like a `Vec<u8>` of fixed capacity ([`FixedBufPool::buffer_size`]): it
/// derefs to its first [`len`](FixedBuf::len) bytes, a read fills it from the
/// start, a write sends those bytes. It is an [`IoBufMut`], so every owned-buffer
/// call takes it too (as a plain buffer).
pub struct FixedBuf {
    pool: Rc<Inner>,
    id: u16,
    /// Bytes in use, from the start: at most `pool.size`.
    len: usize,
}

impl FixedBuf {
    /// The bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's size: how many bytes a read may fill.
    pub fn capacity(&self) -> usize {
        self.pool.size
    }

    /// Sets the length to 0; the capacity stays.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes` after the bytes in use.
    ///
    /// # Panics
    /// If they do not fit in the capacity: the buffer cannot grow, and what to
    /// write is the caller's choice, never peer input.
    #[track_caller]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        assert!(
            end <= self.capacity(),
            "{end} bytes over fixed buffer capacity {}",
            self.capacity()
        );
        // SAFETY: `len..end` lies inside this buffer (asserted), which only this
        // value reaches; `bytes` is caller memory, not the pool's (a `&[u8]` of
        // this buffer would borrow `self`, which `&mut self` excludes).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.pool.buffer_ptr(self.id).add(self.len),
                bytes.len(),
            );
        }
        self.len = end;
    }

    /// This buffer's slot in the registered table of the runtime running on
    /// this thread, or `None` when the pool is not registered there (compat, a
    /// refused registration, or a pool made on another runtime): then the op
    /// names the buffer by address, as a plain read or write.
    pub(crate) fn registered_index(&self) -> Option<u16> {
        let lease = self.pool.lease.as_ref()?;
        context::try_with(|rt| rt.driver.holds_buffers(lease))
            .unwrap_or(false)
            .then_some(self.id)
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        self.pool.give_back(self.id);
    }
}

impl Deref for FixedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the first `len` (<= size) bytes of this buffer are mapped and
        // initialised (the mapping starts zeroed), and only this value reaches them.
        unsafe { std::slice::from_raw_parts(self.pool.buffer_ptr(self.id), self.len) }
    }
}

impl DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.pool.buffer_ptr(self.id), self.len) }
    }
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish()
    }
}

// SAFETY: the buffer is `size` bytes of the pool's mapping, which never moves
// and stays mapped while this value holds the pool; all of it is initialised
// (zeroed at mapping, then only ever written with bytes), `len <= size`, and
// the id is out of the free list, so nothing else reaches these bytes.
unsafe impl IoBuf for FixedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.pool.buffer_ptr(self.id)
    }

    fn bytes_init(&self) -> usize {
        self.len
    }

    fn bytes_total(&self) -> usize {
        self.pool.size
    }
}

// SAFETY: as for `IoBuf`: the `size` bytes are writable and reachable only
// through this value; `set_init` only raises `len`, never past `size`.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.pool.buffer_ptr(self.id)
    }

    unsafe fn set_init(&mut self, pos: usize) {
        self.len = self.len.max(pos.min(self.pool.size));
    }
}
