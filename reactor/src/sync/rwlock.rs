//! [`RwLock`]: many readers or one writer, held across `.await`, for the
//! tasks of one runtime.
//!
//! # Fairness
//!
//! Lockers are served first come first served: a writer waiting behind
//! readers keeps later readers out until it has had its turn, so a stream of
//! readers cannot starve a writer. It is a [`Semaphore`] with
//! [`MAX_READERS`] permits: a read takes one, a write takes them all. A
//! locker dropped while waiting gives up its place without taking the lock.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::{Permit, Semaphore};

/// The most read guards held at once; one more read waits.
pub const MAX_READERS: usize = u32::MAX as usize >> 3;

/// An async reader-writer lock for one runtime's tasks; `!Send`.
///
/// # Examples
/// ```
/// use ringo_reactor::sync::RwLock;
///
/// ringo_reactor::run(async {
///     let config = RwLock::new(String::from("v1"));
///     {
///         let (a, b) = (config.read().await, config.read().await); // readers share
///         assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
///         assert!(config.try_write().is_none());
///     }
///     config.write().await.push_str("+patch");
///     assert_eq!(*config.read().await, "v1+patch");
/// });
/// ```
pub struct RwLock<T> {
    permits: Semaphore,
    value: RefCell<T>,
}

/// Shared access to an [`RwLock`]'s value; released on drop.
pub struct RwLockReadGuard<'a, T> {
    // Declared first so the borrow ends before the permit wakes a writer.
    value: Ref<'a, T>,
    _permit: Permit,
}

/// Exclusive access to an [`RwLock`]'s value; released on drop.
pub struct RwLockWriteGuard<'a, T> {
    // Declared first so the borrow ends before the permits wake the next lockers.
    value: RefMut<'a, T>,
    _permits: Permit,
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            permits: Semaphore::new(MAX_READERS),
            value: RefCell::new(value),
        }
    }

    /// Waits for shared access; cancel-safe.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        match self.permits.acquire().await {
            Ok(permit) => self.read_guard(permit),
            Err(_) => unreachable!("an RwLock never closes its semaphore"),
        }
    }

    /// Waits for exclusive access; cancel-safe.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        match self.permits.acquire_many(MAX_READERS).await {
            Ok(permits) => self.write_guard(permits),
            Err(_) => unreachable!("an RwLock never closes its semaphore"),
        }
    }

    /// Shared access if no writer holds or awaits the lock; never waits.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let permit = self.permits.try_acquire()?;
        Some(self.read_guard(permit))
    }

    /// Exclusive access if nobody holds or awaits the lock; never waits.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let permits = self.permits.try_acquire_many(MAX_READERS)?;
        Some(self.write_guard(permits))
    }

    /// The value, mutably: `&mut self` proves nobody holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn read_guard(&self, permit: Permit) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            // Readers hold only shared borrows; a writer holds every permit.
            value: self.value.borrow(),
            _permit: permit,
        }
    }

    fn write_guard(&self, permits: Permit) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            // Every permit is ours, so no reader's borrow exists.
            value: self.value.borrow_mut(),
            _permits: permits,
        }
    }
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("RwLock");
        match self.value.try_borrow() {
            Ok(value) => out.field("value", &*value),
            Err(_) => out.field("value", &"<write-locked>"),
        };
        out.finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}
