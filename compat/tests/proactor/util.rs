//! Helpers shared by the compat integration tests: a flag waker, recv/send
//! operations on raw fds, loopback socket pairs and a bounded park loop.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ringo_compat::{Interest, Operation, Proactor};

/// How many `park` turns a test waits for a wakeup before it fails.
pub const MAX_PARKS: usize = 500;

/// How long one of those turns may wait: `MAX_PARKS` of them bound a test to 5 s.
pub const PARK_TIMEOUT: Duration = Duration::from_millis(10);

/// A waker that records that it was woken.
#[derive(Debug, Default)]
pub struct Flag {
    woken: AtomicBool,
}

impl Flag {
    /// A new, unset flag and a waker that sets it.
    pub fn new() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        (flag, waker)
    }

    /// Whether the waker fired since the last `take`; clears the flag.
    pub fn take(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// Whether the waker fired since the last `take`.
    pub fn is_set(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
    }
}

/// Parks in bounded turns until `flag` is set; false if it never was.
pub fn park_until_woken(proactor: &mut Proactor, flag: &Flag) -> bool {
    for _ in 0..MAX_PARKS {
        if flag.is_set() {
            return true;
        }
        if let Err(e) = proactor.park(Some(PARK_TIMEOUT)) {
            panic!("park failed: {e}");
        }
    }
    flag.is_set()
}

/// Polls `op` once with `waker`.
pub fn poll_with<O: Operation>(
    proactor: &mut Proactor,
    op: &mut O,
    waker: &Waker,
) -> Poll<io::Result<usize>> {
    proactor.poll_op(op, &mut Context::from_waker(waker))
}

/// Turns a libc return value into a byte count or the OS error.
fn check(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// `recv(2)` into an owned buffer.
#[derive(Debug)]
pub struct RecvOp {
    pub fd: RawFd,
    pub buf: Vec<u8>,
}

impl RecvOp {
    pub fn new(fd: RawFd, len: usize) -> RecvOp {
        RecvOp {
            fd,
            buf: vec![0; len],
        }
    }
}

impl Operation for RecvOp {
    fn readiness(&self) -> (RawFd, Interest) {
        (self.fd, Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `self.buf`, which this op owns and
        // which outlives the call; recv writes at most `len` bytes into it.
        let ret = unsafe { libc::recv(self.fd, self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
        check(ret)
    }
}

/// `send(2)` from an owned buffer.
#[derive(Debug)]
pub struct SendOp {
    pub fd: RawFd,
    pub buf: Vec<u8>,
}

impl Operation for SendOp {
    fn readiness(&self) -> (RawFd, Interest) {
        (self.fd, Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `self.buf`, which this op owns and
        // which outlives the call; send only reads from it.
        let ret = unsafe { libc::send(self.fd, self.buf.as_ptr().cast(), self.buf.len(), 0) };
        check(ret)
    }
}

/// A connected loopback TCP pair: (ours, non-blocking; theirs, blocking).
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener");
    let addr = listener.local_addr().expect("listener address");
    let theirs = TcpStream::connect(addr).expect("connect on loopback");
    let (ours, _) = listener.accept().expect("accept on loopback");
    ours.set_nonblocking(true).expect("set non-blocking");
    (ours, theirs)
}

/// Makes closing `stream` send a reset (RST) instead of a FIN: SO_LINGER with a
/// zero timeout.
pub fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::linger>())
        .expect("linger fits socklen_t");
    // SAFETY: `linger` is a valid `struct linger` living across the call and `len`
    // is its exact size; the fd is open for the borrow of `stream`.
    let ret = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            len,
        )
    };
    assert_eq!(
        ret,
        0,
        "setsockopt SO_LINGER: {}",
        io::Error::last_os_error()
    );
}
