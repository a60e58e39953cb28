//! [`PooledBuf`]: the bytes of one pool buffer that is out, and the
//! [`Bytes`] owner it turns into.
//!
//! It is its own file because of what it promises: while a buffer is out,
//! only this value (or the `Bytes` it became) reads it, and it goes back to the
//! pool exactly once, from whichever thread drops the last owner.

use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;

use super::{PoolInner, Shared};
use crate::buf::IoBuf;

/// Takes out of `pool`'s ring the buffers one receive completion filled:
/// `len` bytes into buffer `id` and, for a `bundle`, on into the buffers the
/// kernel took after it (see [`KernelRing::take`](super::ring::KernelRing::take)).
/// Hands each to `each`, in order.
///
/// # Errors
/// The pool has no ring, or the completion names buffers the ring does not
/// hold in that order: the kernel broke its word, and the buffers past the
/// disagreement stay out of use rather than risk being handed out twice.
pub(crate) fn claim(
    pool: &Rc<PoolInner>,
    id: u16,
    len: usize,
    bundle: bool,
    mut each: impl FnMut(PooledBuf),
) -> io::Result<()> {
    let Some(ring) = &pool.ring else {
        return Err(io::Error::other(
            "a completion named a pool buffer, but the pool has no ring",
        ));
    };
    let taken = ring
        .take(id, len, bundle, pool.shared.size, |id, len| {
            pool.out.set(pool.out.get() + 1);
            each(PooledBuf {
                pool: pool.clone(),
                id,
                offset: 0,
                len,
            });
        })
        .map_err(|why| {
            io::Error::other(format!(
                "kernel reported {len} bytes from pool buffer {id} on: {why}"
            ))
        })?;
    if taken > 1 {
        pool.bundles.set(pool.bundles.get() + 1);
    }
    Ok(())
}

/// Takes a buffer from the free list (empty, `len` 0), if one is free.
pub(crate) fn take_free(pool: &Rc<PoolInner>) -> Option<PooledBuf> {
    pool.reclaim();
    let id = pool.free.borrow_mut().pop()?;
    pool.out.set(pool.out.get() + 1);
    Some(PooledBuf {
        pool: pool.clone(),
        id,
        offset: 0,
        len: 0,
    })
}

/// Bytes received into a buffer of the runtime's [`BufferPool`](super::BufferPool); dropping it
/// gives the buffer back to the pool.
///
/// It dereferences to the received bytes, and implements [`IoBuf`], so it can
/// be written out as it is (an echo needs no copy). It cannot leave the
/// runtime's thread; [`into_bytes`](PooledBuf::into_bytes) makes a [`Bytes`]
/// that can, without copying.
pub struct PooledBuf {
    pub(super) pool: Rc<PoolInner>,
    pub(super) id: u16,
    /// Where the bytes it shows start in the buffer: 0, except for a datagram,
    /// whose payload follows the kernel's header. Buffers are at most
    /// [`MAX_RECV_BUFFER_SIZE`](super::MAX_RECV_BUFFER_SIZE) bytes, so it fits in 32 bits.
    offset: u32,
    len: usize,
}

impl PooledBuf {
    /// How many bytes were received.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes were received (a pooled receive never yields one).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Turns the buffer into [`Bytes`] without copying. The buffer goes back to
    /// the pool when the last clone of the `Bytes` is dropped, on any thread
    /// (the runtime's thread picks it up on its next pooled receive).
    pub fn into_bytes(self) -> Bytes {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so moving the `Rc` out
        // of it transfers its one reference count instead of duplicating it.
        let pool = unsafe { std::ptr::read(&this.pool) };
        Bytes::from_owner(PoolBytes {
            shared: pool.shared.clone(),
            id: this.id,
            offset: this.offset,
            len: this.len,
        })
    }

    /// The first byte it shows.
    fn start(&self) -> *mut u8 {
        // SAFETY: `offset + len` never exceeds the buffer's size (`narrow`
        // keeps the view inside what it showed), so the offset stays inside
        // the buffer.
        unsafe {
            self.pool
                .shared
                .buffer_ptr(self.id)
                .add(self.offset as usize)
        }
    }

    /// Narrows it to the `len` bytes that start `start` bytes into what it
    /// shows now (a datagram's payload, after the kernel's header and the
    /// sender's address).
    ///
    /// # Panics
    /// If that range is not inside what it shows now.
    pub(crate) fn narrow(&mut self, start: usize, len: usize) {
        assert!(
            start.checked_add(len).is_some_and(|end| end <= self.len),
            "narrowing {len} bytes at {start} out of {}",
            self.len
        );
        self.offset += start as u32;
        self.len = len;
    }

    /// Where the compat `recv` writes this buffer (a free one, fresh from
    /// [`take_free`], which shows from its start).
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.pool.shared.buffer_ptr(self.id)
    }

    /// The buffer's capacity in bytes.
    pub(crate) fn capacity(&self) -> usize {
        self.pool.shared.size
    }

    /// Records that the first `len` bytes were received.
    ///
    /// # Safety
    /// `len <= capacity()`, and those bytes were written.
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        self.len = len;
    }
}

impl Deref for PooledBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is out (owned by this value), so nothing writes it;
        // the `len` bytes from `start` were received (and the mapping is
        // zero-filled, so every byte is initialised anyway).
        unsafe { std::slice::from_raw_parts(self.start(), self.len) }
    }
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        self.pool.out.set(self.pool.out.get().saturating_sub(1));
        self.pool.put(self.id);
        self.pool.shared.wake_waiters();
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuf")
            .field("id", &self.id)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

// SAFETY: the bytes live in the pool's mapping, which a move of the value does
// not touch and which outlives it (the value holds the pool); the `len` from
// `start` are initialised; the buffer is out, so nothing else writes it, and
// the value offers no public way to change it, its offset or its length.
unsafe impl IoBuf for PooledBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.start()
    }

    fn bytes_init(&self) -> usize {
        self.len
    }

    fn bytes_total(&self) -> usize {
        self.len
    }
}

/// The owner behind [`PooledBuf::into_bytes`]: `Send`, so it returns its
/// buffer through the lock-free queue.
struct PoolBytes {
    shared: Arc<Shared>,
    id: u16,
    offset: u32,
    len: usize,
}

impl AsRef<[u8]> for PoolBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: as for `PooledBuf::deref`: the buffer stays out until this
        // owner is dropped, the mapping lives as long as `shared`, and the
        // view (`offset`, `len`) is the `PooledBuf`'s, inside the buffer.
        unsafe {
            let start = self.shared.buffer_ptr(self.id).add(self.offset as usize);
            std::slice::from_raw_parts(start, self.len)
        }
    }
}

impl Drop for PoolBytes {
    fn drop(&mut self) {
        self.shared.returned.push(self.id);
        self.shared.wake_waiters();
    }
}
