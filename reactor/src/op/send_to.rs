//! `SendTo`: send one datagram to an address.
//!
//! Runs as `sendmsg` on io_uring (boxed header, see `recv_from`), as `sendto` on
//! compat.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;

use ringo_compat::{Interest, Operation};

use super::recv_from::MsgState;
use super::{cvt, OpCode};
use crate::buf::{BufResult, IoBuf};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::net::addr::RawAddr;
use crate::sys::SEND_FLAGS;

/// Sends `buf`'s initialised bytes as one datagram to `addr`.
pub(crate) struct SendTo<B> {
    fd: SharedFd,
    buf: B,
    state: Box<MsgState>,
}

impl<B: IoBuf> SendTo<B> {
    pub(crate) fn new(fd: SharedFd, buf: B, addr: RawAddr) -> SendTo<B> {
        let state = MsgState::boxed(buf.stable_ptr().cast_mut(), buf.bytes_init(), addr);
        SendTo { fd, buf, state }
    }
}

impl<B: IoBuf> Operation for SendTo<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let (ptr, len) = (self.buf.stable_ptr(), self.buf.bytes_init());
        let (addr, addr_len) = self.state.addr.as_ptrs();
        // SAFETY: `ptr` is valid for reads of `len` bytes (IoBuf contract); `addr`
        // points at `addr_len` bytes of a valid sockaddr owned by this op.
        cvt(unsafe { c::sendto(self.fd.raw(), ptr.cast(), len, SEND_FLAGS, addr, addr_len) })
    }
}

impl<B: IoBuf> OpCode for SendTo<B> {
    type Output = BufResult<usize, B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let header: *const libc::msghdr = &self.state.header;
        self.fd.sqe(files, |fd| {
            io_uring::opcode::SendMsg::new(fd, header)
                .flags(SEND_FLAGS as u32)
                .build()
        })
    }

    fn complete(self, completion: Completion) -> Self::Output {
        (completion.result, self.buf)
    }
}
