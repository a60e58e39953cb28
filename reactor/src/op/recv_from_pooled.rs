//! Pooled datagram receive: the [`Flavor`] behind
//! [`UdpSocket::recv_from_pooled`](crate::net::UdpSocket::recv_from_pooled).
//!
//! On io_uring the multishot op is a `recvmsg` that picks provided buffers.
//! The kernel writes three things into each buffer it picks: a 16-byte
//! `io_uring_recvmsg_out` header, the sender's address in a field of the fixed
//! size the op's `msghdr` names, and then the payload. The item is therefore
//! the buffer *narrowed* to its payload, plus the address parsed from that
//! field. The header also says whether the datagram was cut to fit
//! (`MSG_TRUNC`): a cut datagram is an error, never a short datagram passed
//! off as whole.
//!
//! Elsewhere each receive is one `recvmsg(2)` into a free buffer, with room
//! for the same payload size, so [`DATAGRAM_HEADROOM`] limits datagrams alike
//! on every driver: a program tested on one behaves the same on the other.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;
use std::mem;

use super::cvt;
use super::recv_pooled::Flavor;
use crate::buf::pool::PoolInner;
use crate::buf::{PooledBuf, DATAGRAM_HEADROOM};
use crate::net::addr::RawAddr;

/// The size of the address field in each buffer: any IP socket address fits.
const NAME_LEN: usize = mem::size_of::<c::sockaddr_in6>();

/// A datagram socket's pooled receive: a buffer and the sender per datagram.
pub(crate) struct Datagrams;

/// The `msghdr` a multishot `recvmsg` reads. Only its name and control lengths
/// matter: they set how much of each buffer the kernel keeps for the address
/// and control data. Boxed, so the pointer in the SQE stays valid while the op
/// moves.
pub(crate) struct MultiHeader(Box<c::msghdr>);

impl Flavor for Datagrams {
    type Item = (PooledBuf, RawAddr);
    type Armed = MultiHeader;

    const BUNDLES: bool = false;
    const LIMITS: bool = false;

    fn check(pool: &PoolInner) -> io::Result<()> {
        let size = pool.buffer_size();
        if size <= DATAGRAM_HEADROOM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "pool buffers of {size} bytes leave no room for a datagram after the \
                     {DATAGRAM_HEADROOM} bytes of DATAGRAM_HEADROOM"
                ),
            ));
        }
        Ok(())
    }

    fn armed() -> MultiHeader {
        // SAFETY: msghdr is a plain C struct for which all-zero is valid.
        let mut header: c::msghdr = unsafe { mem::zeroed() };
        header.msg_namelen = NAME_LEN as c::socklen_t;
        MultiHeader(Box::new(header))
    }

    #[cfg(target_os = "linux")]
    fn multishot_entry(
        fd: io_uring::types::Fd,
        armed: &mut MultiHeader,
        _bundle: bool,
    ) -> io_uring::squeue::Entry {
        io_uring::opcode::RecvMsgMulti::new(
            fd,
            &*armed.0 as *const c::msghdr,
            crate::buf::pool::BUFFER_GROUP,
        )
        .build()
    }

    #[cfg(target_os = "linux")]
    fn delivered(armed: &MultiHeader, mut buf: PooledBuf) -> io::Result<(PooledBuf, RawAddr)> {
        let (from, payload, truncated) = {
            let out = io_uring::types::RecvMsgOut::parse(&buf, &armed.0).map_err(|()| {
                io::Error::other(format!(
                    "multishot recvmsg result of {} bytes is shorter than its header",
                    buf.len()
                ))
            })?;
            (
                RawAddr::from_bytes(out.name_data()),
                out.payload_data().len(),
                out.is_payload_truncated(),
            )
        };
        if truncated {
            return Err(truncated_error(&from, buf.capacity() - DATAGRAM_HEADROOM));
        }
        buf.narrow(DATAGRAM_HEADROOM, payload);
        Ok((buf, from))
    }

    #[cfg(not(target_os = "linux"))]
    fn delivered(_: &MultiHeader, _: PooledBuf) -> io::Result<(PooledBuf, RawAddr)> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "multishot receive runs only on io_uring",
        ))
    }

    fn receive(fd: RawSource, mut buf: PooledBuf) -> io::Result<Option<(PooledBuf, RawAddr)>> {
        let room = buf.capacity() - DATAGRAM_HEADROOM;
        let mut from = RawAddr::empty();
        let (name, name_len) = from.as_mut_ptrs();
        let mut iovec = c::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: room,
        };
        // SAFETY: msghdr is a plain C struct for which all-zero is valid.
        let mut header: c::msghdr = unsafe { mem::zeroed() };
        header.msg_name = name.cast();
        // SAFETY: `name_len` points at the length inside `from`, a live local.
        header.msg_namelen = unsafe { *name_len };
        header.msg_iov = &mut iovec;
        header.msg_iovlen = 1;
        // SAFETY: the header points at live locals (the address storage, the
        // iovec) and the iovec at `room` bytes of the buffer `buf` owns, all of
        // which outlive the call.
        let n = cvt(unsafe { c::recvmsg(fd, &mut header, 0) })?;
        from.set_len(header.msg_namelen);
        if header.msg_flags & c::MSG_TRUNC != 0 {
            return Err(truncated_error(&from, room));
        }
        // SAFETY: the kernel wrote `n <= room` bytes at the start of the buffer.
        unsafe { buf.set_len(n) };
        Ok(Some((buf, from)))
    }

    /// A datagram's size says nothing about the ones queued behind it.
    fn drained(_: &(PooledBuf, RawAddr)) -> bool {
        false
    }
}

/// The error for a datagram from `from` that did not fit in `room` bytes.
fn truncated_error(from: &RawAddr, room: usize) -> io::Error {
    let from = from
        .socket_addr()
        .map_or_else(|_| "an unknown sender".to_string(), |addr| addr.to_string());
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "datagram from {from} over the {room} bytes a pooled receive holds \
             (buffer size less DATAGRAM_HEADROOM); dropped"
        ),
    )
}
