//! The ring's registered buffer table (`IORING_REGISTER_BUFFERS`), lent to
//! one [`FixedBufPool`](crate::buf::FixedBufPool) at a time.
//!
//! # Why one pool at a time
//! A ring has one buffer table. The first pool registers it — empty, with
//! room for the largest pool ([`MAX_FIXED_BUFFERS`] slots, Linux 5.19's
//! sparse tables: a few hundred KiB of kernel memory, on rings that use fixed
//! buffers only), then fills its first slots; an older kernel registers it
//! with exactly the first pool's buffers. Once that pool is gone the slots are
//! emptied and the next pool fills them, if it fits. A pool that finds the
//! table lent out, or too small, works without it: its reads and writes go
//! out as plain ones, with the same API. (Slot ranges for several pools at
//! once would need an allocator over the table; one pool per runtime is the
//! use this serves.)
//!
//! # Why the table is emptied, never unregistered
//! `IORING_UNREGISTER_BUFFERS` waits, on kernels before 6.13, until every op
//! in flight that uses any registered resource has completed (the kernel
//! quiesces its resource nodes) — with registered fds on, that includes the
//! receive of every idle connection, so the loop thread could block for as long
//! as a peer stays silent. An `IORING_REGISTER_BUFFERS_UPDATE` to empty slots
//! (Linux 5.13) never waits: new SQEs see the empty slots at once, and the
//! kernel drops its pins on the old pages when the last op that used them
//! completes. Registration itself is `IORING_REGISTER_BUFFERS` (Linux 5.1).
//!
//! # Lifetime
//! A lease is held by its pool, which every buffer of it (and so every op
//! using one) keeps alive: the slots are emptied only once no op can name
//! them. The lease holds the ring weakly, like the registered file table
//! ([`fixed`](crate::driver::fixed)): once the driver is gone, so is the
//! kernel's table, and there is nothing left to empty.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use io_uring::IoUring;

use crate::buf::MAX_FIXED_BUFFERS;

/// Slots of a sparse table: room for the largest pool.
const TABLE_SLOTS: u32 = MAX_FIXED_BUFFERS as u32;

/// One ring's buffer table.
pub(super) struct BufferTable {
    inner: Rc<Table>,
}

struct Table {
    /// The ring the table belongs to; dead once the driver is dropped.
    ring: Weak<RefCell<IoUring>>,
    state: Cell<State>,
}

/// Where the table is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not registered yet: the first pool registers it.
    Unregistered,
    /// Registered with `slots` slots, all empty: the next pool may fill them.
    Free { slots: u32 },
    /// A pool's buffers fill its first slots: lent until that pool is gone.
    Lent { slots: u32 },
    /// Emptying the slots failed: they keep the last pool's pages pinned
    /// until the ring is closed, and no other pool may use the table.
    Stuck,
}

/// A pool's use of its ring's buffer table: buffer `i` of the pool is slot
/// `i`. Dropping it empties the slots.
pub(crate) struct BufferLease {
    table: Rc<Table>,
    /// How many slots the pool's buffers fill.
    used: u32,
}

impl BufferTable {
    pub(super) fn new(ring: Weak<RefCell<IoUring>>) -> BufferTable {
        BufferTable {
            inner: Rc::new(Table {
                ring,
                state: Cell::new(State::Unregistered),
            }),
        }
    }

    /// Puts `iovecs` in the table's first slots, registering the table if
    /// this is its first use.
    ///
    /// # Errors
    /// The table is lent to another pool or has fewer slots than `iovecs`, or
    /// the kernel refused (`ENOMEM` past `RLIMIT_MEMLOCK`, a kernel without
    /// updates). The caller works without the table.
    ///
    /// # Safety
    /// Each iovec is memory that stays mapped, and is reached by nothing but
    /// the I/O of the lease's owner, until the lease is dropped.
    pub(super) unsafe fn lend(&self, iovecs: &[libc::iovec]) -> io::Result<BufferLease> {
        let ring = self
            .inner
            .ring
            .upgrade()
            .ok_or_else(|| io::Error::other("the ring of this buffer table is gone"))?;
        let ring = ring.try_borrow().map_err(io::Error::other)?;
        let used = u32::try_from(iovecs.len())
            .map_err(|_| io::Error::other("too many buffers for one table"))?;
        let slots = match self.inner.state.get() {
            State::Unregistered
                if ring
                    .submitter()
                    .register_buffers_sparse(TABLE_SLOTS)
                    .is_ok() =>
            {
                // Registered empty: a refused fill leaves it free for the next pool.
                self.inner.state.set(State::Free { slots: TABLE_SLOTS });
                // SAFETY: the caller keeps every iovec's memory mapped until
                // the lease is dropped, which empties the slots first.
                unsafe { ring.submitter().register_buffers_update(0, iovecs, None) }?;
                TABLE_SLOTS
            }
            State::Unregistered => {
                // SAFETY: as above.
                unsafe { ring.submitter().register_buffers(iovecs) }?;
                used
            }
            State::Free { slots } if used <= slots => {
                // SAFETY: as above.
                unsafe { ring.submitter().register_buffers_update(0, iovecs, None) }?;
                slots
            }
            State::Free { slots } => {
                return Err(io::Error::other(format!(
                    "{used} buffers over the ring's buffer table of {slots}"
                )))
            }
            State::Lent { .. } | State::Stuck => {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "the ring's buffer table is lent to another pool",
                ))
            }
        };
        self.inner.state.set(State::Lent { slots });
        Ok(BufferLease {
            table: self.inner.clone(),
            used,
        })
    }

    /// Whether `lease` is of this table (so of this ring).
    pub(super) fn holds(&self, lease: &BufferLease) -> bool {
        Rc::ptr_eq(&self.inner, &lease.table)
    }
}

impl Drop for BufferLease {
    fn drop(&mut self) {
        let table = &self.table;
        let State::Lent { slots } = table.state.get() else {
            debug_assert!(false, "a lease outlived its lending");
            return;
        };
        let Some(ring) = table.ring.upgrade() else {
            return;
        };
        let empty = vec![
            libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            };
            self.used as usize
        ];
        let emptied = ring.try_borrow().is_ok_and(|ring| {
            // SAFETY: null, zero-length iovecs name no memory: the kernel
            // makes the slots empty.
            unsafe { ring.submitter().register_buffers_update(0, &empty, None) }.is_ok()
        });
        table.state.set(if emptied {
            State::Free { slots }
        } else {
            State::Stuck
        });
    }
}

impl fmt::Debug for BufferTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BufferTable")
            .field(&self.inner.state.get())
            .finish()
    }
}

impl fmt::Debug for BufferLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferLease")
            .field("used", &self.used)
            .finish()
    }
}
