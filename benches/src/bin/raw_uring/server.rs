//! The server loop of `raw_uring` (see main.rs): one ring, one multishot
//! accept, a multishot receive per connection, one send at a time.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

use io_uring::squeue::Entry;
use io_uring::{cqueue, opcode, types, IoUring, SubmissionQueue, Submitter};

use crate::buf_ring::{BufRing, BUFFER_GROUP};
use crate::echo::Echo;
use crate::http::Http;

const SQ_ENTRIES: u32 = 4096;
/// 16 MiB of receive buffers: at 1000 connections with 4 requests of 512 B in
/// flight, a connection rarely holds more than 4 buffers, so the ring does not
/// run dry; when it does, the receive is re-armed once buffers come back.
const DEFAULT_BUFFERS: u16 = 4096;

/// `user_data` is the kind of op in the top byte and the connection's index
/// below it; the connection knows what its one send is sending.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
/// Closes and cancels: nothing waits for their completions.
const UNWATCHED: u64 = 3;
const KIND_SHIFT: u32 = 56;

fn user_data(kind: u64, conn: usize) -> u64 {
    kind << KIND_SHIFT | conn as u64
}

/// What a connection makes of the bytes it receives and what it owes its peer:
/// the one part of the server a protocol changes. The server is generic over
/// it, so each protocol's loop is compiled on its own and the choice costs the
/// echo path nothing.
pub(crate) trait Protocol {
    /// A connection's replies not yet fully sent.
    type Replies: Default;

    /// Takes the `len` bytes the kernel received into buffer `bid`, which is
    /// the connection's until it is given back to `ring`.
    fn received(&self, replies: &mut Self::Replies, ring: &mut BufRing, bid: u16, len: u32);

    /// Where the next send starts and how long it is; `None` when nothing is
    /// owed. The bytes stay in place, unwritten, until that send completes.
    fn next(&self, replies: &Self::Replies, ring: &BufRing) -> Option<(*const u8, u32)>;

    /// The send of what `next` gave completed with `n` (> 0) bytes sent.
    fn sent(&self, replies: &mut Self::Replies, ring: &mut BufRing, n: u32);

    /// The peer takes no more: forgets every reply, giving its buffers back.
    fn clear(&self, replies: &mut Self::Replies, ring: &mut BufRing);

    /// Whether anything is still to be sent: a closing connection waits for it.
    fn owes(&self, replies: &Self::Replies) -> bool;
}

#[derive(Default)]
struct Conn<R> {
    fd: RawFd,
    recv_armed: bool,
    /// Sent one send at a time, which keeps the bytes in order when a send
    /// waits for socket space and a later one would not.
    replies: R,
    sending: bool,
    /// No more receives: close once nothing is owed and no op is in flight.
    closing: bool,
}

struct Server<'a, P: Protocol> {
    sq: SubmissionQueue<'a>,
    submitter: Submitter<'a>,
    listener: RawFd,
    protocol: P,
    buffers: BufRing,
    conns: Vec<Conn<P::Replies>>,
    free: Vec<usize>,
    /// Connections whose receive ended on an empty buffer ring, none closing.
    starved: Vec<usize>,
}

impl<P: Protocol> Server<'_, P> {
    fn push(&mut self, entry: Entry) -> io::Result<()> {
        // SAFETY: every op's memory outlives it: sends read what
        // `Protocol::next` promises stays in place until they complete,
        // receives write buffers of the mapping that is never unmapped, and no
        // other op takes memory.
        while unsafe { self.sq.push(&entry) }.is_err() {
            self.sq.sync();
            self.submitter.submit()?;
            self.sq.sync();
        }
        Ok(())
    }

    fn arm_accept(&mut self) -> io::Result<()> {
        let accept = opcode::AcceptMulti::new(types::Fd(self.listener))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(user_data(ACCEPT, 0));
        self.push(accept)
    }

    fn arm_recv(&mut self, conn: usize) -> io::Result<()> {
        self.conns[conn].recv_armed = true;
        let recv = opcode::RecvMulti::new(types::Fd(self.conns[conn].fd), BUFFER_GROUP)
            .build()
            .user_data(user_data(RECV, conn));
        self.push(recv)
    }

    fn start_send(&mut self, conn: usize) -> io::Result<()> {
        let c = &mut self.conns[conn];
        let Some((bytes, len)) = self.protocol.next(&c.replies, &self.buffers) else {
            return Ok(());
        };
        c.sending = true;
        let send = opcode::Send::new(types::Fd(c.fd), bytes, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(user_data(SEND, conn));
        self.push(send)
    }

    fn on_accept(&mut self, res: i32, more: bool) -> io::Result<()> {
        if res >= 0 {
            let one: libc::c_int = 1;
            // SAFETY: sets an int option on the socket the kernel just gave us,
            // from a live local of the size given.
            unsafe {
                libc::setsockopt(
                    res,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    std::ptr::addr_of!(one).cast(),
                    std::mem::size_of_val(&one) as libc::socklen_t,
                );
            }
            let fresh = Conn {
                fd: res,
                ..Conn::default()
            };
            // A reused slot starts afresh too: what the protocol remembers
            // between receives (HTTP's partial terminator) was its last
            // connection's.
            let conn = match self.free.pop() {
                Some(conn) => {
                    self.conns[conn] = fresh;
                    conn
                }
                None => {
                    self.conns.push(fresh);
                    self.conns.len() - 1
                }
            };
            self.arm_recv(conn)?;
        } else {
            eprintln!("raw_uring: accept: {}", io::Error::from_raw_os_error(-res));
        }
        if !more {
            self.arm_accept()?;
        }
        Ok(())
    }

    fn on_recv(&mut self, conn: usize, res: i32, flags: u32) -> io::Result<()> {
        let more = cqueue::more(flags);
        self.conns[conn].recv_armed = more;
        if res > 0 {
            let bid = cqueue::buffer_select(flags)
                .ok_or_else(|| io::Error::other("receive completion names no buffer"))?;
            let c = &mut self.conns[conn];
            if c.closing {
                self.buffers.give_back(bid);
            } else {
                self.protocol
                    .received(&mut c.replies, &mut self.buffers, bid, res as u32);
                if !c.sending {
                    self.start_send(conn)?;
                }
            }
        }
        if more {
            return Ok(());
        }
        match res {
            _ if self.conns[conn].closing => self.close_if_idle(conn),
            r if r == -libc::ENOBUFS => {
                self.starved.push(conn);
                Ok(())
            }
            r if r > 0 => self.arm_recv(conn),
            // End of stream, a reset, or any other error: no more receives.
            _ => {
                self.conns[conn].closing = true;
                self.close_if_idle(conn)
            }
        }
    }

    fn on_send(&mut self, conn: usize, res: i32) -> io::Result<()> {
        let c = &mut self.conns[conn];
        c.sending = false;
        if res <= 0 {
            self.protocol.clear(&mut c.replies, &mut self.buffers);
            c.closing = true;
            if c.recv_armed {
                let cancel = opcode::AsyncCancel::new(user_data(RECV, conn))
                    .build()
                    .user_data(user_data(UNWATCHED, 0));
                return self.push(cancel);
            }
            return self.close_if_idle(conn);
        }
        self.protocol
            .sent(&mut c.replies, &mut self.buffers, res as u32);
        if self.protocol.owes(&c.replies) {
            self.start_send(conn)
        } else {
            self.close_if_idle(conn)
        }
    }

    /// Closes a closing connection's socket once no op of it is in flight, and
    /// frees its slot: no completion can name it any more.
    fn close_if_idle(&mut self, conn: usize) -> io::Result<()> {
        let c = &self.conns[conn];
        if !c.closing || c.recv_armed || c.sending || self.protocol.owes(&c.replies) {
            return Ok(());
        }
        let close = opcode::Close::new(types::Fd(c.fd))
            .build()
            .user_data(user_data(UNWATCHED, 0));
        self.conns[conn].closing = false;
        self.free.push(conn);
        // A starved connection whose send fails closes here, at once: its
        // receive must not be re-armed on a freed (or reused) slot.
        self.starved.retain(|&c| c != conn);
        self.push(close)
    }

    fn on_completion(&mut self, cqe: &cqueue::Entry) -> io::Result<()> {
        let conn = (cqe.user_data() & ((1 << KIND_SHIFT) - 1)) as usize;
        match cqe.user_data() >> KIND_SHIFT {
            ACCEPT => self.on_accept(cqe.result(), cqueue::more(cqe.flags())),
            RECV => self.on_recv(conn, cqe.result(), cqe.flags()),
            SEND => self.on_send(conn, cqe.result()),
            _ => Ok(()),
        }
    }

    /// Re-arms the receives that found the buffer ring empty, once buffers came
    /// back.
    fn after_batch(&mut self) -> io::Result<()> {
        if self.buffers.publish() {
            while let Some(conn) = self.starved.pop() {
                self.arm_recv(conn)?;
            }
        }
        Ok(())
    }
}

/// A ring with the cheapest task running the kernel allows: deferred to our
/// own `io_uring_enter` (6.1), else without interrupting us (5.19), else plain.
fn new_ring() -> io::Result<IoUring> {
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for setup in 0..3 {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(SQ_ENTRIES * 4);
        match setup {
            0 => builder.setup_single_issuer().setup_defer_taskrun(),
            1 => builder.setup_coop_taskrun(),
            _ => &mut builder,
        };
        match builder.build(SQ_ENTRIES) {
            Ok(ring) => return Ok(ring),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

struct Options {
    addr: String,
    buffers: u16,
    http: bool,
}

/// `[ADDR] [--buffers N] [--http]`.
fn parse_args() -> io::Result<Options> {
    let usage = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: raw_uring [ADDR] [--buffers N] [--http]",
        )
    };
    let mut addr = "127.0.0.1:0".to_owned();
    let mut buffers = DEFAULT_BUFFERS;
    let mut http = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--http" {
            http = true;
        } else if arg == "--buffers" {
            buffers = args
                .next()
                .and_then(|n| n.parse().ok())
                // The kernel takes at most 32768 entries, a power of two.
                .filter(|n: &u16| n.is_power_of_two() && *n <= 1 << 15)
                .ok_or_else(usage)?;
        } else if arg.starts_with('-') {
            return Err(usage());
        } else {
            addr = arg;
        }
    }
    Ok(Options {
        addr,
        buffers,
        http,
    })
}

pub(crate) fn main() -> io::Result<()> {
    let options = parse_args()?;
    let listener = TcpListener::bind(&options.addr)?;
    // SAFETY: listen on our own listening socket only changes its backlog, to
    // tokio's 1024, so a thousand connections arriving at once all get in.
    if unsafe { libc::listen(listener.as_raw_fd(), 1024) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if options.http {
        serve(Http::new()?, &listener, options.buffers)
    } else {
        serve(Echo, &listener, options.buffers)
    }
}

/// Runs the server loop for `protocol` on `listener`, until an error.
fn serve<P: Protocol>(protocol: P, listener: &TcpListener, buffer_count: u16) -> io::Result<()> {
    let mut ring = new_ring()?;
    let (submitter, sq, mut cq) = ring.split();
    let buffers = BufRing::register(&submitter, buffer_count)?;
    let mut server = Server {
        sq,
        submitter,
        listener: listener.as_raw_fd(),
        protocol,
        buffers,
        conns: Vec::new(),
        free: Vec::new(),
        starved: Vec::new(),
    };
    server.arm_accept()?;
    // Only now, with the buffers mapped: the runner measures memory from here.
    println!("raw_uring: listening on {}", listener.local_addr()?);
    loop {
        server.sq.sync();
        match server.submitter.submit_and_wait(1) {
            Ok(_) => {}
            // Interrupted, or the completion queue is full: reap, then retry.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
        cq.sync();
        for cqe in &mut cq {
            server.on_completion(&cqe)?;
        }
        // Hands the reaped entries back before we wait: the kernel would see
        // them as still pending and return at once.
        cq.sync();
        server.after_batch()?;
    }
}
