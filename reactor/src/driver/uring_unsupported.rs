//! io_uring on platforms without it: a driver that can never be built.
//!
//! It keeps the [`Driver`](super::Driver) enum free of `cfg`: its arms exist
//! everywhere, and here they are simply unreachable because this type has no
//! values.

use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::lifecycle::{AfterOrphan, Completion, Key, Orphan, WakeOn};
use crate::op::OpCode;
use crate::runtime::{Config, UringFeatures};

/// An io_uring driver; uninhabited on this platform.
#[derive(Debug)]
pub(crate) enum Driver {}

/// A lease of a ring's registered buffer table; uninhabited on this platform.
#[derive(Debug)]
pub(crate) enum BufferLease {}

/// An io_uring unparker; uninhabited on this platform.
#[derive(Debug, Clone)]
pub(crate) enum Unparker {}

impl Driver {
    pub(crate) fn new(_: &Config) -> io::Result<(Driver, Unparker)> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "io_uring exists only on Linux",
        ))
    }
    pub(crate) fn features(&self) -> UringFeatures {
        match *self {}
    }
    pub(crate) fn registered_fds_in_use(&self) -> u32 {
        match *self {}
    }
    pub(crate) fn submit<T: OpCode>(&self, _: &mut T, _: &Waker, _: WakeOn) -> io::Result<Key> {
        match *self {}
    }
    pub(crate) fn poll_slot(&self, _: Key, _: &mut Context<'_>, _: WakeOn) -> Poll<Completion> {
        match *self {}
    }
    pub(crate) fn submit_stream<T: OpCode>(&self, _: &mut T, _: Option<usize>) -> io::Result<Key> {
        match *self {}
    }
    pub(crate) fn poll_stream(&self, _: Key, _: &mut Context<'_>) -> Poll<Completion> {
        match *self {}
    }
    pub(crate) fn op_slots(&self) -> usize {
        match *self {}
    }
    pub(crate) fn multishot_accept(&self) -> bool {
        match *self {}
    }
    pub(crate) fn link_timeouts(&self) -> bool {
        match *self {}
    }
    pub(crate) fn cancel(&self, _: u64) {
        match *self {}
    }
    pub(crate) fn flush_taken(&self) -> bool {
        match *self {}
    }
    /// # Safety
    /// Never callable: the type has no values.
    pub(crate) unsafe fn provide_buffers(&self, _: u64, _: u16, _: u16) -> io::Result<()> {
        match *self {}
    }
    /// # Safety
    /// Never callable: the type has no values.
    pub(crate) unsafe fn lend_buffers(
        &self,
        _: &[crate::sys::c::iovec],
    ) -> io::Result<BufferLease> {
        match *self {}
    }
    pub(crate) fn holds_buffers(&self, _: &BufferLease) -> bool {
        match *self {}
    }
    pub(crate) fn orphan<T: Orphan + 'static>(&self, _: Key, _: T) -> AfterOrphan<T> {
        match *self {}
    }
    pub(crate) fn park(&self, _: Option<Duration>) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn shutdown(&self, _: Duration) {
        match *self {}
    }
    pub(crate) fn send_wake(&self, _: &Unparker) -> bool {
        match *self {}
    }
    pub(crate) fn flush(&self) {
        match *self {}
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        match *self {}
    }
}
