//! Synchronisation for the tasks of one runtime: [`mpsc`] and [`oneshot`]
//! channels, [`Notify`], [`Semaphore`], and async [`Mutex`] / [`RwLock`].
//!
//! # Why single-threaded
//!
//! A ringo runtime is one thread (thread per core), and its tasks need not be
//! `Send`. So these types use `Cell`/`RefCell` and `Rc`, no atomics and no
//! locks: they are `!Send` and cost what a `VecDeque` push costs. Share them
//! between tasks of one runtime with an `Rc`.
//!
//! **Between runtimes** (one per core, on different threads) use a
//! runtime-agnostic channel such as `futures::channel::mpsc` / `oneshot` or
//! the `async-channel` crate: they are `Send`, and a ringo `Waker` may be woken
//! from any thread (the wake goes through the runtime's cross-thread queue).
//! `ringo-reactor`'s `tests/sync_cross_thread.rs` shows both.
//!
//! # Fairness and cancellation
//!
//! Every waiting queue here is first come first served, and every wait is
//! cancel-safe: a waiter whose future is dropped never keeps or loses a
//! permit, a message or a wake-up (each type's docs say exactly how).
//!
//! # Waiting on several things
//!
//! ringo has no `select!`/`join!` of its own; the `futures` crate's
//! `futures::select!`, `futures::join!`, `futures::future::select` and
//! `StreamExt` work with every future here ([`mpsc::Receiver`] is a `Stream`).

pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;

pub use mutex::{Mutex, MutexGuard};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard, MAX_READERS};
pub use semaphore::{AcquireError, Permit, Semaphore};
