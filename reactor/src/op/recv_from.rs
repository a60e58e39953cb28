//! `RecvFrom`: receive one datagram and its sender's address.
//!
//! io_uring has no `recvfrom`; it runs as `recvmsg`, whose `msghdr`, `iovec` and
//! address storage are boxed so the kernel's pointers stay valid while the op
//! moves. Compat calls `recvfrom` directly.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::buf::{BufResult, IoBufMut};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::net::addr::RawAddr;

/// The kernel-visible part of a `recvmsg`/`sendmsg`.
pub(crate) struct MsgState {
    pub(crate) header: c::msghdr,
    pub(crate) iovec: c::iovec,
    pub(crate) addr: RawAddr,
}

impl MsgState {
    /// A boxed header over one buffer and `addr`, with all self-pointers set.
    pub(crate) fn boxed(ptr: *mut u8, len: usize, addr: RawAddr) -> Box<MsgState> {
        // SAFETY: msghdr is a plain C struct for which all-zero is valid.
        let header: c::msghdr = unsafe { std::mem::zeroed() };
        let iovec = c::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        };
        let mut state = Box::new(MsgState {
            header,
            iovec,
            addr,
        });
        let (name, namelen) = state.addr.as_mut_ptrs();
        state.header.msg_name = name.cast();
        // SAFETY: `namelen` points at the length inside the same box.
        state.header.msg_namelen = unsafe { *namelen };
        state.header.msg_iov = &mut state.iovec;
        state.header.msg_iovlen = 1;
        state
    }
}

/// Receives one datagram into the start of `buf`.
pub(crate) struct RecvFrom<B> {
    fd: SharedFd,
    buf: B,
    state: Box<MsgState>,
}

impl<B: IoBufMut> RecvFrom<B> {
    pub(crate) fn new(fd: SharedFd, mut buf: B) -> RecvFrom<B> {
        let state = MsgState::boxed(buf.stable_mut_ptr(), buf.bytes_total(), RawAddr::empty());
        RecvFrom { fd, buf, state }
    }
}

impl<B: IoBufMut> Operation for RecvFrom<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let (ptr, len) = (self.buf.stable_mut_ptr(), self.buf.bytes_total());
        let (addr, addr_len) = self.state.addr.as_mut_ptrs();
        // SAFETY: `ptr` is valid for `len` bytes of writes (IoBufMut contract);
        // `addr`/`addr_len` point into the boxed state owned by this op.
        cvt(unsafe { c::recvfrom(self.fd.raw(), ptr.cast(), len, 0, addr, addr_len) })
    }
}

impl<B: IoBufMut> OpCode for RecvFrom<B> {
    type Output = BufResult<(usize, RawAddr), B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let header: *mut c::msghdr = &mut self.state.header;
        self.fd.sqe(files, |fd| {
            io_uring::opcode::RecvMsg::new(fd, header).build()
        })
    }

    fn complete(mut self, completion: Completion) -> Self::Output {
        let n = match completion.result {
            Ok(n) => n,
            Err(e) => return (Err(e), self.buf),
        };
        // SAFETY: the kernel reported writing `n` bytes at the start of the buffer.
        unsafe { self.buf.set_init(n) };
        let mut addr = self.state.addr;
        if self.state.header.msg_namelen != 0 {
            addr.set_len(self.state.header.msg_namelen);
        }
        (Ok((n, addr)), self.buf)
    }
}
