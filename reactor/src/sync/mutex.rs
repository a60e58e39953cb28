//! [`Mutex`]: an async lock for state shared by the tasks of one runtime,
//! held across `.await`.
//!
//! A `RefCell` is enough for state only touched between awaits; a `Mutex`
//! is for when one task must keep others out while it awaits (a connection
//! being written in several steps, a cache being refilled). Waiters get the
//! lock first come first served (it is a one-permit [`Semaphore`]), and one
//! dropped while waiting gives up its place without taking the lock.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::{Permit, Semaphore};

/// An async mutual-exclusion lock for one runtime's tasks; `!Send`.
///
/// # Examples
/// ```
/// use std::rc::Rc;
/// use ringo_reactor::sync::Mutex;
///
/// ringo_reactor::run(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let mut guard = log.lock().await;
///     guard.push("first");
///     assert!(log.try_lock().is_none()); // held across awaits until dropped
///     drop(guard);
///     assert_eq!(*log.lock().await, ["first"]);
/// });
/// ```
pub struct Mutex<T> {
    permit: Semaphore,
    value: RefCell<T>,
}

/// Access to a [`Mutex`]'s value; the lock is released on drop.
pub struct MutexGuard<'a, T> {
    // Declared first so the value is released before the permit wakes the
    // next holder.
    value: RefMut<'a, T>,
    _permit: Permit,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            permit: Semaphore::new(1),
            value: RefCell::new(value),
        }
    }

    /// Waits for the lock, first come first served; cancel-safe.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        match self.permit.acquire().await {
            Ok(permit) => self.guard(permit),
            Err(_) => unreachable!("a Mutex never closes its semaphore"),
        }
    }

    /// The lock if it is free and nobody waits; never waits.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.permit.try_acquire().map(|permit| self.guard(permit))
    }

    /// The value, mutably: `&mut self` proves nobody holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn guard(&self, permit: Permit) -> MutexGuard<'_, T> {
        MutexGuard {
            // The permit is the only one, so no other borrow exists.
            value: self.value.borrow_mut(),
            _permit: permit,
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Mutex");
        match self.value.try_borrow() {
            Ok(value) => out.field("value", &*value),
            Err(_) => out.field("value", &"<locked>"),
        };
        out.finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}
