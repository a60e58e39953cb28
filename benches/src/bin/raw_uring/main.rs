//! The floor for echo: a hand-written io_uring echo server, without ringo.
//!
//! It is not a product but a yardstick. It does what the best single-threaded
//! io_uring server would (one multishot accept, one multishot receive per
//! connection into a provided buffer ring, each reply sent straight from the
//! buffer the kernel filled, one `io_uring_enter` per loop), so the benchmark
//! can tell how much of a server's CPU per request is the kernel's TCP path,
//! which no runtime can remove, and how much is ringo's own.
//!
//! `raw_uring [ADDR] [--buffers N]` prints `raw_uring: listening on ADDR`;
//! N (a power of two, default 4096) is the number of receive buffers, small in
//! the test that runs the ring dry.

use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

use io_uring::squeue::Entry;
use io_uring::{cqueue, opcode, types, IoUring, SubmissionQueue, Submitter};

mod buf_ring;

use buf_ring::{BufRing, BUFFER_GROUP};

const SQ_ENTRIES: u32 = 4096;
/// 16 MiB of receive buffers: at 1000 connections with 4 requests of 512 B in
/// flight, a connection rarely holds more than 4 buffers, so the ring does not
/// run dry; when it does, the receive is re-armed once buffers come back.
const DEFAULT_BUFFERS: u16 = 4096;

/// `user_data` is the kind of op in the top byte and the connection's index
/// below it; the connection knows which buffer its one send is sending.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
/// Closes and cancels: nothing waits for their completions.
const UNWATCHED: u64 = 3;
const KIND_SHIFT: u32 = 56;

fn user_data(kind: u64, conn: usize) -> u64 {
    kind << KIND_SHIFT | conn as u64
}

#[derive(Default)]
struct Conn {
    fd: RawFd,
    recv_armed: bool,
    /// Buffers received and not yet fully sent, oldest first. The front one is
    /// being sent: one send at a time keeps the bytes in order when a send
    /// waits for socket space and a later one would not.
    queue: VecDeque<u16>,
    sending: bool,
    /// Bytes of the front buffer already sent.
    sent: u32,
    /// No more receives: close once the queue is empty and no op is in flight.
    closing: bool,
}

struct Server<'a> {
    sq: SubmissionQueue<'a>,
    submitter: Submitter<'a>,
    listener: RawFd,
    buffers: BufRing,
    /// Bytes received into each buffer.
    lengths: Vec<u32>,
    conns: Vec<Conn>,
    free: Vec<usize>,
    /// Connections whose receive ended on an empty buffer ring, none closing.
    starved: Vec<usize>,
}

impl Server<'_> {
    fn push(&mut self, entry: Entry) -> io::Result<()> {
        // SAFETY: every op's memory outlives it: buffers are in the mapping that
        // is never unmapped, and no other op takes memory.
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
        let Some(&bid) = c.queue.front() else {
            return Ok(());
        };
        c.sending = true;
        let send = opcode::Send::new(
            types::Fd(c.fd),
            self.buffers.at(bid, c.sent),
            self.lengths[usize::from(bid)] - c.sent,
        )
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
            let conn = self.free.pop().unwrap_or_else(|| {
                self.conns.push(Conn::default());
                self.conns.len() - 1
            });
            self.conns[conn].fd = res;
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
                self.lengths[usize::from(bid)] = res as u32;
                c.queue.push_back(bid);
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
            for bid in c.queue.drain(..) {
                self.buffers.give_back(bid);
            }
            c.sent = 0;
            c.closing = true;
            if c.recv_armed {
                let cancel = opcode::AsyncCancel::new(user_data(RECV, conn))
                    .build()
                    .user_data(user_data(UNWATCHED, 0));
                return self.push(cancel);
            }
            return self.close_if_idle(conn);
        }
        c.sent += res as u32;
        let bid = *c
            .queue
            .front()
            .expect("a send completed for an empty queue");
        if c.sent == self.lengths[usize::from(bid)] {
            c.queue.pop_front();
            c.sent = 0;
            self.buffers.give_back(bid);
        }
        if self.conns[conn].queue.is_empty() {
            self.close_if_idle(conn)
        } else {
            self.start_send(conn)
        }
    }

    /// Closes a closing connection's socket once no op of it is in flight, and
    /// frees its slot: no completion can name it any more.
    fn close_if_idle(&mut self, conn: usize) -> io::Result<()> {
        let c = &self.conns[conn];
        if !c.closing || c.recv_armed || c.sending || !c.queue.is_empty() {
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

/// `[ADDR] [--buffers N]`.
fn parse_args() -> io::Result<(String, u16)> {
    let usage = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: raw_uring [ADDR] [--buffers N]",
        )
    };
    let mut addr = "127.0.0.1:0".to_owned();
    let mut buffers = DEFAULT_BUFFERS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--buffers" {
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
    Ok((addr, buffers))
}

fn main() -> io::Result<()> {
    let (addr, buffer_count) = parse_args()?;
    let listener = TcpListener::bind(&addr)?;
    // SAFETY: listen on our own listening socket only changes its backlog, to
    // tokio's 1024, so a thousand connections arriving at once all get in.
    if unsafe { libc::listen(listener.as_raw_fd(), 1024) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ring = new_ring()?;
    let (submitter, sq, mut cq) = ring.split();
    let buffers = BufRing::register(&submitter, buffer_count)?;
    let mut server = Server {
        sq,
        submitter,
        listener: listener.as_raw_fd(),
        buffers,
        lengths: vec![0; usize::from(buffer_count)],
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
