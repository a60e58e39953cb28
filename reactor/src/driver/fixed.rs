//! Registered ("fixed", "direct") file descriptors: a table of socket files
//! kept by the ring, which SQEs name by index instead of by fd number.
//!
//! # Why
//! An SQE that names a plain fd makes the kernel look the fd up in the
//! process's file table and take a reference on the file for every operation
//! (`fget`/`fput`, plus `sock_from_file` for sockets); an SQE that names a slot
//! of the ring's registered table uses the reference the table already holds.
//! In an echo server under load the lookups are about 3% of the server's CPU.
//!
//! # How
//! Opt-in ([`Builder::registered_fds`](crate::Builder::registered_fds)): the
//! table is registered empty ("sparse") when the ring is built. A socket takes
//! a slot the first time an op on it is submitted to this ring, and gives it
//! back when its last [`SharedFd`](crate::fd::SharedFd) clone goes. The socket
//! keeps its normal fd all along (socket options, `shutdown`, `into_raw_fd` and
//! the compat driver use it); the slot is only a second name for the same file.
//! When every slot is taken, the socket's ops name its plain fd, and it tries
//! again on its next op. A socket registered on one ring and used on another
//! runtime's ring uses its plain fd there.
//!
//! # When a slot may change hands
//! Slots are filled and emptied with the `IORING_REGISTER_FILES_UPDATE`
//! syscall, not with `IORING_OP_FILES_UPDATE` SQEs: the syscall takes effect at
//! once, before any SQE still queued in the SQ is submitted, so there is no
//! ordering between an update and the SQEs around it to get wrong. Its cost,
//! one syscall when a socket takes a slot and one when it leaves, is per
//! connection, not per op — which is why this pays for long-lived connections
//! and is not the default.
//!
//! A slot is emptied when the socket's last `SharedFd` clone is dropped, and
//! may be handed to the next socket at once, because no SQE can name it any
//! more: every SQE that names a slot is built by an op that holds a clone of
//! the socket's `SharedFd` until its completion (a multishot accept lets go
//! earlier only once the kernel has taken its SQE; see `flush_taken`), and a
//! completion comes only after the SQE left the SQ. Ops the kernel still has
//! in flight looked the file up when they were issued and keep it alive on
//! their own: emptying the slot does not pull the file from under them.
//!
//! # Lifetime
//! A socket can outlive its runtime, or be dropped outside it (after
//! `block_on` returned): it must still empty its slot, or the table's reference
//! would keep the connection open. So the socket holds the table
//! ([`FixedFiles`]), and the table holds the ring weakly: once the driver is
//! gone, so is the kernel's table with every reference in it, and there is
//! nothing left to empty.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

use io_uring::IoUring;

use crate::runtime::Config;

/// Most slots a table may have: the kernel's limit (`IORING_MAX_FIXED_FILES`).
const MAX_REGISTERED_FDS: u32 = 1 << 20;

/// One ring's registered file table: which slots are free. Cheap to clone
/// (shared); clones are the same table.
#[derive(Clone)]
pub(crate) struct FixedFiles {
    table: Rc<Table>,
}

struct Table {
    /// The ring the table belongs to; dead once the driver is dropped.
    ring: Weak<RefCell<IoUring>>,
    /// Slots in the kernel's table; 0 when the feature is off.
    size: u32,
    /// Slots `next..size` have never been used.
    next: Cell<u32>,
    /// Slots below `next` that were used and emptied again.
    free: RefCell<Vec<u32>>,
}

/// What [`FixedFiles::register`] did.
enum Register {
    /// The fd is in this slot.
    Done(u32),
    /// Every slot is taken (or the table is off): try again later.
    Full,
    /// The kernel refused this fd: do not try again.
    Refused,
}

impl FixedFiles {
    /// Registers a sparse table on `ring` of the size `config` asks for,
    /// clamped to `RLIMIT_NOFILE` (each registered socket also holds a normal
    /// fd, so more slots could never fill) and to the kernel's limit. A kernel
    /// that refuses (before Linux 5.19, no sparse tables) leaves it off: size 0.
    pub(crate) fn new(ring: &Rc<RefCell<IoUring>>, config: &Config) -> FixedFiles {
        let wanted = if config.simulate.no_registered_fds {
            0
        } else {
            config
                .registered_fds
                .min(nofile_limit())
                .min(MAX_REGISTERED_FDS)
        };
        let granted = wanted > 0
            && ring
                .borrow()
                .submitter()
                .register_files_sparse(wanted)
                .is_ok();
        FixedFiles {
            table: Rc::new(Table {
                ring: Rc::downgrade(ring),
                size: if granted { wanted } else { 0 },
                next: Cell::new(0),
                free: RefCell::new(Vec::new()),
            }),
        }
    }

    /// Slots in the table; 0 when registered fds are off.
    pub(crate) fn size(&self) -> u32 {
        self.table.size
    }

    /// Slots that hold a socket now.
    pub(crate) fn in_use(&self) -> u32 {
        self.table.next.get() - self.table.free.borrow().len() as u32
    }

    /// Puts `fd` into a free slot.
    fn register(&self, fd: RawFd) -> Register {
        let table = &self.table;
        // With the table off, no fd can ever hold a slot: the caller stops
        // asking for this fd.
        if table.size == 0 {
            return Register::Refused;
        }
        // Unused slots first, so an op on a socket without a slot costs one
        // comparison, and an empty pop more when the table is full.
        let next = table.next.get();
        let index = if next < table.size {
            table.next.set(next + 1);
            next
        } else {
            match table.free.borrow_mut().pop() {
                Some(index) => index,
                None => return Register::Full,
            }
        };
        // Registration happens while an SQE is built, which the driver does
        // holding no borrow of the ring; a live driver (the caller's) holds it.
        let updated = table.ring.upgrade().is_some_and(|ring| {
            let ring = ring.borrow();
            ring.submitter().register_files_update(index, &[fd]).is_ok()
        });
        if updated {
            Register::Done(index)
        } else {
            table.free.borrow_mut().push(index);
            Register::Refused
        }
    }

    /// Empties slot `index`, which an fd took in [`register`](Self::register)
    /// and no queued SQE names any more (see the [module docs](self)).
    fn release(&self, index: u32) {
        let table = &self.table;
        let Some(ring) = table.ring.upgrade() else {
            // The ring is closed, and its table with it.
            return;
        };
        // The driver borrows the ring mutably only inside its own methods,
        // none of which drops an op's data while it holds the borrow.
        let Ok(ring) = ring.try_borrow() else {
            debug_assert!(false, "registered fd released while the ring is borrowed");
            // Never reuse a slot that may still hold the file.
            return;
        };
        if ring.submitter().register_files_update(index, &[-1]).is_ok() {
            table.free.borrow_mut().push(index);
        }
    }
}

impl fmt::Debug for FixedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedFiles")
            .field("size", &self.table.size)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// The soft `RLIMIT_NOFILE`, saturated to `u32`.
fn nofile_limit() -> u32 {
    // SAFETY: `rlimit` is two integers; all-zero is a valid value.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `getrlimit` fills the struct it is given, a live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    u32::try_from(limit.rlim_cur).unwrap_or(u32::MAX)
}

/// One fd's place in a registered file table: none, or one slot of one ring's
/// table for the fd's whole life (until it is closed or handed out).
#[derive(Debug)]
pub(crate) struct FixedSlot {
    /// Whether the fd may still take a slot: a socket that has none yet and
    /// that the kernel has not refused.
    eligible: Cell<bool>,
    /// The table and slot the fd holds.
    held: OnceCell<(FixedFiles, u32)>,
}

impl FixedSlot {
    /// A slot holder for a socket (`eligible`), or for an fd that never takes
    /// one (files, pipes).
    pub(crate) fn new(eligible: bool) -> FixedSlot {
        FixedSlot {
            eligible: Cell::new(eligible),
            held: OnceCell::new(),
        }
    }

    /// The slot under which an SQE for `files`' ring may name `fd`, taking a
    /// free one if the fd holds none yet; `None`: name the plain fd.
    ///
    /// Inlined into every SQE's construction, where its common answers (the
    /// slot held, or none to take) cost two loads; taking a slot is not.
    #[inline]
    pub(crate) fn index(&self, files: &FixedFiles, fd: RawFd) -> Option<u32> {
        if let Some((table, index)) = self.held.get() {
            return Rc::ptr_eq(&table.table, &files.table).then_some(*index);
        }
        if !self.eligible.get() {
            return None;
        }
        self.take(files, fd)
    }

    #[cold]
    fn take(&self, files: &FixedFiles, fd: RawFd) -> Option<u32> {
        match files.register(fd) {
            Register::Done(index) => {
                let _ = self.held.set((files.clone(), index));
                Some(index)
            }
            Register::Full => None,
            Register::Refused => {
                self.eligible.set(false);
                None
            }
        }
    }

    /// Empties the slot the fd holds, if any. Called right before the fd is
    /// closed or handed out: the table's reference must not keep it open.
    pub(crate) fn release(&mut self) {
        self.eligible.set(false);
        if let Some((files, index)) = self.held.take() {
            files.release(index);
        }
    }
}
