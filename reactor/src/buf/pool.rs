//! The receive buffer pool: [`BufferPool`] and the [`PooledBuf`] a pooled
//! receive yields.
//!
//! A connection that reads into its own buffer holds that buffer while it waits,
//! so ten thousand idle connections pin ten thousand buffers. With a pool, the
//! buffer is picked only when bytes arrive: on io_uring the *kernel* picks it from
//! a provided buffer ring (`IORING_REGISTER_PBUF_RING`, Linux 5.19) that a
//! multishot receive draws from; on compat, or where the kernel lacks that, the
//! receive takes one from a user-space free list right before its `recv(2)`. The
//! API is the same either way: one pool per runtime, created on first use, and a
//! [`PooledBuf`] that gives its buffer back when dropped.
//!
//! # Who owns what, when
//!
//! Each buffer is, at any time, in exactly one place:
//! - **free**: in the kernel's ring (io_uring; the kernel may fill it at any
//!   time) or in the free list (compat; nobody touches it);
//! - **picked**: the kernel filled it and its completion is queued in a slot;
//!   the slot's socket (or, orphaned, the op) gives it back. A bundled
//!   completion names only its first buffer; the ring's books
//!   ([`ring`]) say which others it filled;
//! - **out**: a [`PooledBuf`] (held by the application, or queued in a socket
//!   that received a bundle), or the owner of a [`Bytes`] made by
//!   [`PooledBuf::into_bytes`]: only that value reads it;
//! - **returned**: a `Bytes` owner dropped it, possibly on another thread; it
//!   waits in a lock-free queue until the runtime's thread moves it back to the
//!   ring or the free list (only that thread may write the ring's tail).
//!
//! The memory is one anonymous mapping, filled in lazily by the kernel: an
//! unused pool costs address space, not memory. It lives until every buffer
//! handed out is gone, and the ring's memory until the runtime's ring is closed
//! (the runtime drops its driver before its pool).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use crossbeam_queue::SegQueue;

use crate::buf::region::Region;
use crate::runtime::context;

mod pooled_buf;
mod ring;

pub use pooled_buf::PooledBuf;
pub(crate) use pooled_buf::{claim, take_free};
use ring::KernelRing;

/// Default number of receive buffers per runtime; documented, with why, on
/// [`Builder::recv_buffers`](crate::Builder::recv_buffers).
pub(crate) const DEFAULT_RECV_BUFFERS: usize = 256;

/// Default size of one receive buffer, in bytes (16 KiB); documented, with
/// why, on [`Builder::recv_buffers`](crate::Builder::recv_buffers).
pub(crate) const DEFAULT_RECV_BUFFER_SIZE: usize = 16 * 1024;

/// Most receive buffers a pool may have: buffer ids are 16 bits, and the
/// kernel's provided buffer ring holds at most 32768 entries. Larger requests
/// are clamped to it.
pub const MAX_RECV_BUFFERS: usize = 1 << 15;

/// Largest receive buffer, in bytes (1 MiB): more than one receive returns from
/// a socket with default buffer sizes. Larger requests are clamped to it.
pub const MAX_RECV_BUFFER_SIZE: usize = 1 << 20;

/// Bytes at the start of each buffer that a pooled datagram receive
/// ([`UdpSocket::recv_from_pooled`](crate::net::UdpSocket::recv_from_pooled))
/// gives to the kernel's header (16, `struct io_uring_recvmsg_out`) and the
/// sender's address (28, a `sockaddr_in6`) instead of the payload: a datagram
/// is received whole when it has at most [`buffer_size`](BufferPool::buffer_size)
/// less this many bytes. The same limit holds on every driver, so a program
/// behaves alike on all of them.
pub const DATAGRAM_HEADROOM: usize = 16 + std::mem::size_of::<crate::sys::c::sockaddr_in6>();

/// The buffer group id of the runtime's pool in its io_uring (one pool per
/// ring, so one fixed group).
pub(crate) const BUFFER_GROUP: u16 = 0;

/// The part of a pool that threads other than the runtime's may reach: the
/// buffer memory (read through a [`Bytes`] sent elsewhere), the queue of
/// buffers such `Bytes` gave back, and the readers waiting for a buffer.
struct Shared {
    data: Region,
    size: usize,
    returned: SegQueue<u16>,
    waiters: Mutex<Vec<Waker>>,
    /// Set while `waiters` is not empty, so a return checks it without locking.
    has_waiters: AtomicBool,
}

impl Shared {
    /// The start of buffer `id` (`id` < the pool's count).
    fn buffer_ptr(&self, id: u16) -> *mut u8 {
        // SAFETY: `id < count` and the region holds `count * size` bytes, so the
        // offset stays inside the mapping.
        unsafe { self.data.as_ptr().add(usize::from(id) * self.size) }
    }

    fn wake_waiters(&self) {
        if self.has_waiters.swap(false, Ordering::SeqCst) {
            let waiters =
                std::mem::take(&mut *self.waiters.lock().unwrap_or_else(|e| e.into_inner()));
            for waker in waiters {
                waker.wake();
            }
        }
    }
}

/// A runtime's pool; see the [module docs](self). Lives on the runtime's thread.
pub(crate) struct PoolInner {
    shared: Arc<Shared>,
    count: usize,
    /// `Some` on io_uring with a registered ring; `None`: the free list is used.
    ring: Option<KernelRing>,
    free: RefCell<Vec<u16>>,
    /// Buffers out (see the module docs), including returned ones not yet
    /// reclaimed.
    out: Cell<usize>,
    /// Buffers made free so far: a reader out of buffers waits for it to move.
    returns: Cell<u64>,
    /// Receive completions that filled more than one buffer (bundles).
    bundles: Cell<u64>,
}

/// How a pool asks the kernel to take its ring: `(ring address, ring entries,
/// buffer group)`, or an error when it cannot (then the free list is used).
pub(crate) type Register<'a> = &'a dyn Fn(u64, u16, u16) -> io::Result<()>;

impl PoolInner {
    /// A pool of `count` buffers of `size` bytes (both clamped to their
    /// limits). `register`, if given, is tried for a provided buffer ring;
    /// without it, or when it fails, buffers come from a free list.
    pub(crate) fn new(
        count: usize,
        size: usize,
        register: Option<Register<'_>>,
    ) -> io::Result<PoolInner> {
        let count = count.clamp(1, MAX_RECV_BUFFERS);
        let size = size.clamp(1, MAX_RECV_BUFFER_SIZE);
        let data = Region::new(count * size)?;
        let shared = Arc::new(Shared {
            data,
            size,
            returned: SegQueue::new(),
            waiters: Mutex::new(Vec::new()),
            has_waiters: AtomicBool::new(false),
        });
        let ring = match register {
            Some(register) => Self::kernel_ring(&shared, count, register),
            None => None,
        };
        let ids = 0..count as u16;
        let free = if ring.is_some() {
            Vec::new()
        } else {
            ids.rev().collect()
        };
        Ok(PoolInner {
            shared,
            count,
            ring,
            free: RefCell::new(free),
            out: Cell::new(0),
            returns: Cell::new(0),
            bundles: Cell::new(0),
        })
    }

    /// Builds, fills and registers a provided buffer ring; `None` if the kernel
    /// refuses it (or there is no memory for it).
    fn kernel_ring(shared: &Shared, count: usize, register: Register<'_>) -> Option<KernelRing> {
        let ring = KernelRing::new(count).ok()?;
        for id in 0..count as u16 {
            ring.push(shared.buffer_ptr(id), shared.size as u32, id);
        }
        let entries = u16::try_from(ring.entries()).ok()?;
        register(ring.addr(), entries, BUFFER_GROUP).ok()?;
        Some(ring)
    }

    /// Whether the kernel picks buffers (a registered provided buffer ring).
    pub(crate) fn is_provided(&self) -> bool {
        self.ring.is_some()
    }

    /// The size of each buffer in bytes.
    pub(crate) fn buffer_size(&self) -> usize {
        self.shared.size
    }

    /// How many times a buffer was made free; see [`PoolInner::returns`].
    pub(crate) fn returns(&self) -> u64 {
        self.reclaim();
        self.returns.get()
    }

    /// Buffers not out.
    pub(crate) fn available(&self) -> usize {
        self.reclaim();
        self.count - self.out.get()
    }

    /// Moves buffers that `Bytes` owners gave back to the ring or free list.
    fn reclaim(&self) {
        while let Some(id) = self.shared.returned.pop() {
            self.out.set(self.out.get().saturating_sub(1));
            self.put(id);
        }
    }

    /// Makes buffer `id` free (to the kernel's ring or the free list).
    pub(crate) fn put(&self, id: u16) {
        if usize::from(id) >= self.count {
            debug_assert!(false, "buffer id {id} over pool count {}", self.count);
            return;
        }
        match &self.ring {
            Some(ring) => ring.push(self.shared.buffer_ptr(id), self.shared.size as u32, id),
            None => self.free.borrow_mut().push(id),
        }
        self.returns.set(self.returns.get().wrapping_add(1));
    }

    /// Registers `cx`'s waker to be woken when a buffer is made free.
    pub(crate) fn wait_for_buffer(&self, cx: &mut Context<'_>) {
        let mut waiters = self
            .shared
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        self.shared.has_waiters.store(true, Ordering::SeqCst);
    }
}

impl fmt::Debug for PoolInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("count", &self.count)
            .field("buffer_size", &self.shared.size)
            .field("provided", &self.is_provided())
            .field("out", &self.out.get())
            .finish()
    }
}

/// The current runtime's receive buffer pool: what
/// [`TcpStream::recv_pooled`](crate::net::TcpStream::recv_pooled),
/// [`UnixStream::recv_pooled`](crate::net::UnixStream::recv_pooled) and
/// [`UdpSocket::recv_from_pooled`](crate::net::UdpSocket::recv_from_pooled)
/// receive into. Sized by [`Builder::recv_buffers`](crate::Builder::recv_buffers).
///
/// # Examples
/// ```
/// use ringo_reactor::buf::BufferPool;
///
/// ringo_reactor::run(async {
///     let pool = BufferPool::current()?;
///     assert_eq!(pool.count(), 256); // the default of `Builder::recv_buffers`
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BufferPool {
    inner: Rc<PoolInner>,
}

impl BufferPool {
    /// The pool of the runtime running on this thread, created on first use.
    ///
    /// # Errors
    /// No ringo runtime runs on this thread, or the pool's memory could not be
    /// mapped.
    pub fn current() -> io::Result<BufferPool> {
        let inner = context::try_with(|rt| rt.buffer_pool()).ok_or_else(|| {
            io::Error::other("no ringo runtime on this thread for the receive buffer pool")
        })??;
        Ok(BufferPool { inner })
    }

    /// How many buffers the pool has.
    pub fn count(&self) -> usize {
        self.inner.count
    }

    /// The size of each buffer in bytes: the most one pooled receive returns
    /// (a datagram's, less [`DATAGRAM_HEADROOM`]).
    pub fn buffer_size(&self) -> usize {
        self.inner.shared.size
    }

    /// Whether the kernel picks the buffers (io_uring provided buffer ring,
    /// fed by a multishot receive); `false` on compat, or where the kernel
    /// lacks them, where each receive takes a buffer from a user-space list.
    pub fn is_provided(&self) -> bool {
        self.inner.is_provided()
    }

    /// Buffers not held by the application: free, or picked by the kernel but
    /// not yet collected by a receive. For tests and diagnostics; not part of
    /// the stable API.
    #[doc(hidden)]
    pub fn available(&self) -> usize {
        self.inner.available()
    }

    /// Receive completions so far that filled more than one buffer (io_uring
    /// bundles, see [`UringFeatures::recv_bundle`](crate::UringFeatures::recv_bundle)).
    /// For tests and diagnostics; not part of the stable API.
    #[doc(hidden)]
    pub fn bundled_receives(&self) -> u64 {
        self.inner.bundles.get()
    }
}

#[cfg(test)]
mod tests;
