//! Helpers shared by the compat integration tests: a flag waker, recv/send
//! operations on raw sources (fds on Unix, socket handles on Windows),
//! loopback socket pairs and a bounded park loop.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ringo_compat::{Interest, Operation, Proactor, RawSource};

pub use sys::{raw, NOT_A_SOCKET, NOT_A_SOCKET_ERROR};

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

/// `recv` into an owned buffer.
#[derive(Debug)]
pub struct RecvOp {
    pub fd: RawSource,
    pub buf: Vec<u8>,
}

impl RecvOp {
    pub fn new(fd: RawSource, len: usize) -> RecvOp {
        RecvOp {
            fd,
            buf: vec![0; len],
        }
    }
}

impl Operation for RecvOp {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd, Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        sys::recv(self.fd, &mut self.buf)
    }
}

/// `send` from an owned buffer.
#[derive(Debug)]
pub struct SendOp {
    pub fd: RawSource,
    pub buf: Vec<u8>,
}

impl Operation for SendOp {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd, Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        sys::send(self.fd, &self.buf)
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

/// Asserts that a read on a socket whose peer reset the connection failed
/// with `ConnectionReset`.
///
/// Under Wine (8.0) the read sees a plain EOF instead: wineserver peeks at the
/// Unix socket (`recv(MSG_PEEK)`) whenever it polls it, which the pending AFD
/// poll makes it do, and that peek consumes the socket's pending ECONNRESET;
/// Wine keeps it only as a flag it never turns into an error for `recv`.
/// Real Windows reports the reset, so only Wine gets the exception.
pub fn assert_reset(result: io::Result<usize>) {
    match result {
        Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}"),
        Ok(0) if sys::under_wine() => {}
        Ok(n) => panic!("expected the reset, read {n} bytes"),
    }
}

/// Makes closing `stream` send a reset (RST) instead of a FIN: SO_LINGER with a
/// zero timeout.
pub fn reset_on_close(stream: &TcpStream) {
    sys::reset_on_close(raw(stream));
}

/// The part that differs by platform: how a test names a socket, and the raw
/// `recv`, `send` and `setsockopt` calls. The ops call the OS on the raw
/// source directly (no std wrapper that would own it), so they also work on a
/// source that names no socket at all.
#[cfg(unix)]
mod sys {
    use std::io;
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;

    use ringo_compat::RawSource;

    /// A source that names no socket: `recv` on it fails at once.
    pub const NOT_A_SOCKET: RawSource = -1;

    /// The OS error `recv` on `NOT_A_SOCKET` fails with.
    pub const NOT_A_SOCKET_ERROR: i32 = libc::EBADF;

    pub fn raw(stream: &TcpStream) -> RawSource {
        stream.as_raw_fd()
    }

    pub fn under_wine() -> bool {
        false
    }

    /// Turns a libc return value into a byte count or the OS error.
    fn check(ret: isize) -> io::Result<usize> {
        usize::try_from(ret).map_err(|_| io::Error::last_os_error())
    }

    pub fn recv(fd: RawSource, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `buf`, which outlives the call;
        // recv writes at most `len` bytes into it. A bad fd only fails (EBADF).
        check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
    }

    pub fn send(fd: RawSource, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `buf`, which outlives the call;
        // send only reads from it.
        check(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), 0) })
    }

    pub fn reset_on_close(fd: RawSource) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        let len = libc::socklen_t::try_from(std::mem::size_of::<libc::linger>())
            .expect("linger fits socklen_t");
        // SAFETY: `linger` is a valid `struct linger` living across the call and
        // `len` is its exact size; the caller keeps the fd open for the call.
        let ret = unsafe {
            libc::setsockopt(
                fd,
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
}

#[cfg(windows)]
mod sys {
    use std::io;
    use std::net::TcpStream;
    use std::os::windows::io::AsRawSocket;
    use std::sync::Once;

    use ringo_compat::RawSource;
    use windows_sys::Win32::Networking::WinSock;

    /// A source that names no socket: `recv` on it fails at once.
    pub const NOT_A_SOCKET: RawSource = WinSock::INVALID_SOCKET as RawSource;

    /// The OS error `recv` on `NOT_A_SOCKET` fails with.
    pub const NOT_A_SOCKET_ERROR: i32 = WinSock::WSAENOTSOCK;

    pub fn raw(stream: &TcpStream) -> RawSource {
        stream.as_raw_socket()
    }

    /// Whether the tests run under Wine, whose ntdll exports `wine_get_version`.
    pub fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: both names are NUL-terminated; ntdll is loaded in every
        // process, and the handle is only looked into, never freed.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    /// Winsock answers every call with `WSANOTINITIALISED` until `WSAStartup`,
    /// which std runs on its first socket; a test may call `recv` before it
    /// made one (on `NOT_A_SOCKET`).
    fn start_winsock() {
        static START: Once = Once::new();
        START.call_once(|| drop(std::net::UdpSocket::bind("127.0.0.1:0")));
    }

    /// `SOCKET` from a `RawSource` (`u64` and `usize` are the same width on
    /// every 64-bit Windows target; the tests run on x86_64).
    fn socket(raw: RawSource) -> WinSock::SOCKET {
        WinSock::SOCKET::try_from(raw).expect("a socket handle fits SOCKET")
    }

    /// Turns a Winsock return value into a byte count or the Winsock error.
    fn check(ret: i32) -> io::Result<usize> {
        usize::try_from(ret).map_err(|_| {
            // SAFETY: no preconditions; reads this thread's last Winsock error.
            io::Error::from_raw_os_error(unsafe { WinSock::WSAGetLastError() })
        })
    }

    /// A buffer length as Winsock takes it; the tests' buffers are far below
    /// `i32::MAX`.
    fn len(buf: &[u8]) -> i32 {
        i32::try_from(buf.len()).expect("a test buffer fits i32")
    }

    pub fn recv(raw: RawSource, buf: &mut [u8]) -> io::Result<usize> {
        start_winsock();
        // SAFETY: the pointer and length describe `buf`, which outlives the call;
        // recv writes at most `len` bytes into it. A bad handle only fails.
        check(unsafe { WinSock::recv(socket(raw), buf.as_mut_ptr(), len(buf), 0) })
    }

    pub fn send(raw: RawSource, buf: &[u8]) -> io::Result<usize> {
        start_winsock();
        // SAFETY: the pointer and length describe `buf`, which outlives the call;
        // send only reads from it.
        check(unsafe { WinSock::send(socket(raw), buf.as_ptr(), len(buf), 0) })
    }

    pub fn reset_on_close(raw: RawSource) {
        let linger = WinSock::LINGER {
            l_onoff: 1,
            l_linger: 0,
        };
        let size = i32::try_from(std::mem::size_of::<WinSock::LINGER>()).expect("LINGER fits i32");
        // SAFETY: `linger` is a valid `LINGER` living across the call and `size`
        // is its exact size; the caller keeps the socket open for the call.
        let ret = unsafe {
            WinSock::setsockopt(
                socket(raw),
                WinSock::SOL_SOCKET,
                WinSock::SO_LINGER,
                std::ptr::addr_of!(linger).cast(),
                size,
            )
        };
        assert_eq!(
            ret,
            0,
            "setsockopt SO_LINGER: {}",
            // SAFETY: as in `check`.
            io::Error::from_raw_os_error(unsafe { WinSock::WSAGetLastError() })
        );
    }
}
