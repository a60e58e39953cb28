//! Test helpers: run a test body once per driver, plus the loopback peers
//! (echo, pairs, read-to-end, a server on its own thread) that many tests need.
//!
//! `both_drivers!` turns `async fn name() { .. }` into a module `name` with two
//! tests, `name::uring` and `name::compat`, so a failure names its driver;
//! `on_both_drivers!` does the same for a plain `fn name(kind: DriverKind)` that
//! builds its own runtimes (servers on threads, std-socket clients). The
//! uring case fails when io_uring cannot be set up — it never skips — unless the
//! run declares a machine without io_uring with `RINGO_TEST_NO_URING=1`.
//! Every body runs under a time limit, so a bug shows as a failure, not a hang.
//!
//! proto's and service's integration tests include this file with `#[path]`, so
//! it depends on nothing but `ringo_reactor` and std.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod process;

use std::future::Future;
use std::time::Duration;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::{Builder, DriverKind, Runtime};

/// How long one test body may run before it counts as hung.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

/// A runtime on `kind`, or `None` when io_uring is declared unavailable.
pub fn runtime(kind: DriverKind) -> Option<Runtime> {
    runtime_from(kind, Runtime::builder())
}

/// A runtime on `kind` built from `builder`, or `None` when io_uring is
/// declared unavailable.
pub fn runtime_from(kind: DriverKind, builder: Builder) -> Option<Runtime> {
    let rt = unless_no_uring(kind, "build a runtime", builder.driver(kind).build())?;
    assert_eq!(
        rt.driver_kind(),
        kind,
        "runtime reports the driver it was asked for"
    );
    Some(rt)
}

/// The value of `result`, which set up something on driver `kind` (`what`
/// says what): `None` when it failed on uring and the run declares a machine
/// without io_uring with `RINGO_TEST_NO_URING`; any other failure fails the test.
pub fn unless_no_uring<T, E: std::fmt::Display>(
    kind: DriverKind,
    what: &str,
    result: Result<T, E>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e)
            if kind == DriverKind::Uring && std::env::var_os("RINGO_TEST_NO_URING").is_some() =>
        {
            eprintln!(
                "io_uring unavailable and RINGO_TEST_NO_URING is set; not running this case: {e}"
            );
            None
        }
        Err(e) => panic!(
            "cannot {what} on {kind} (set RINGO_TEST_NO_URING=1 on machines without io_uring): {e}"
        ),
    }
}

/// Runs `body` on a fresh runtime of `kind`, failing if it takes over [`TEST_LIMIT`].
pub fn run_on<F, Fut>(kind: DriverKind, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(kind, Runtime::builder(), body);
}

/// Runs `body` on a fresh runtime of `kind` built from `builder`, failing if
/// it takes over [`TEST_LIMIT`].
pub fn run_with<F, Fut>(kind: DriverKind, builder: Builder, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    run_with_runtime(kind, builder, |_| body());
}

/// Like [`run_with`], and `body` gets the runtime, to read its counters.
pub fn run_with_runtime<F, Fut>(kind: DriverKind, builder: Builder, body: F)
where
    F: FnOnce(std::rc::Rc<Runtime>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(rt) = runtime_from(kind, builder) else {
        return;
    };
    let rt = std::rc::Rc::new(rt);
    block_on_limited(&rt, kind, body(rt.clone()));
}

/// Runs `body` to completion on `rt` (of driver `kind`), failing if it takes
/// over [`TEST_LIMIT`].
pub fn block_on_limited(rt: &Runtime, kind: DriverKind, body: impl Future<Output = ()>) {
    rt.block_on(async {
        ringo_reactor::time::timeout(TEST_LIMIT, body)
            .await
            .unwrap_or_else(|_| panic!("test on {kind} did not finish within {TEST_LIMIT:?}"));
    });
}

/// Defines a test that runs once per driver: `name::uring` and `name::compat`.
#[macro_export]
macro_rules! both_drivers {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            $(#[$meta])*
            #[test]
            fn uring() {
                $crate::util::run_on(ringo_reactor::DriverKind::Uring, body);
            }

            $(#[$meta])*
            #[test]
            fn compat() {
                $crate::util::run_on(ringo_reactor::DriverKind::Compat, body);
            }
        }
    };
}

/// Defines tests of the receive buffer pool that run three ways, each on a
/// runtime built from `builder`: `name::uring`, `name::uring_free_list`
/// (provided buffers denied by the test hook, so io_uring's fallback to the
/// free list stays tested) and `name::compat`.
#[macro_export]
macro_rules! pool_drivers {
    ($builder:expr; $(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            fn builder() -> ringo_reactor::Builder {
                $builder
            }

            $(#[$meta])*
            #[test]
            fn uring() {
                $crate::util::run_with(ringo_reactor::DriverKind::Uring, builder(), || {
                    $crate::util::with_pool_provided(true, body)
                });
            }

            $(#[$meta])*
            #[test]
            fn uring_free_list() {
                let builder = builder().simulate(ringo_reactor::runtime::Simulate { no_provided_buffers: true, ..Default::default() });
                $crate::util::run_with(ringo_reactor::DriverKind::Uring, builder, || {
                    $crate::util::with_pool_provided(false, body)
                });
            }

            $(#[$meta])*
            #[test]
            fn compat() {
                $crate::util::run_with(ringo_reactor::DriverKind::Compat, builder(), || {
                    $crate::util::with_pool_provided(false, body)
                });
            }
        }
    };
}

/// Runs `body` after checking that the current runtime's buffer pool is
/// (`provided`) or is not fed to the kernel as provided buffers, so each
/// variant of [`pool_drivers!`] tests the path it names.
pub async fn with_pool_provided<Fut: Future<Output = ()>>(
    provided: bool,
    body: impl FnOnce() -> Fut,
) {
    let pool = ringo_reactor::buf::BufferPool::current().expect("the runtime's buffer pool");
    assert_eq!(pool.is_provided(), provided, "kernel-provided buffers");
    body().await;
}

/// Streams 256 KiB (pattern `seed`) over a fresh TCP pair and receives it with
/// `recv_pooled` while holding every one of the pool's `buffers`: then the pool
/// is empty and a receive waits. Releasing them resumes the stream with no byte
/// lost or reordered, EOF follows, and every buffer comes back.
pub async fn pool_exhaustion_loses_nothing(buffers: usize, seed: u64) {
    use ringo_reactor::buf::{BufferPool, PooledBuf};
    let pool = BufferPool::current().expect("the runtime's buffer pool");
    let (client, server) = tcp_pair_nodelay().await;
    let sent = pattern(256 * 1024, seed);
    let writer = ringo_reactor::spawn({
        let sent = sent.clone();
        async move {
            client.write_all(sent).await.0.expect("write");
            client
        }
    });
    let mut received = Vec::new();
    let mut held: Vec<PooledBuf> = Vec::new();
    while held.len() < buffers {
        let buf = server
            .recv_pooled()
            .await
            .expect("receive")
            .expect("not EOF");
        received.extend_from_slice(&buf);
        held.push(buf);
    }
    assert_eq!(pool.available(), 0, "the reader holds every buffer");
    let waiting =
        ringo_reactor::time::timeout(Duration::from_millis(50), server.recv_pooled()).await;
    assert!(waiting.is_err(), "a receive with the pool empty waits");
    held.clear();
    while received.len() < sent.len() {
        let buf = server
            .recv_pooled()
            .await
            .expect("receive")
            .expect("not EOF");
        received.extend_from_slice(&buf);
    }
    assert!(
        received == sent,
        "bytes lost or reordered across exhaustion"
    );
    drop(writer.await.expect("writer task"));
    assert!(
        server.recv_pooled().await.expect("receive").is_none(),
        "EOF after close"
    );
    all_buffers_back(&pool).await;
}

/// Waits until the current runtime's receive buffer pool has every buffer
/// back (none held by the application); fails after 10 s.
pub async fn all_buffers_back(pool: &ringo_reactor::buf::BufferPool) {
    let limit = Duration::from_secs(10);
    let waited = ringo_reactor::time::timeout(limit, async {
        while pool.available() != pool.count() {
            ringo_reactor::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{} of {} buffers back after {limit:?}",
        pool.available(),
        pool.count()
    );
}

/// Runs `body` with `kind`, a test that builds its own runtimes: on uring only
/// where a uring runtime can be built, or fails as [`runtime`] does.
pub fn on_driver(kind: DriverKind, body: impl FnOnce(DriverKind)) {
    if kind == DriverKind::Uring && runtime(kind).is_none() {
        return;
    }
    body(kind);
}

/// Defines tests that run once per driver, `name::uring` and `name::compat`,
/// for bodies that build their own runtimes (see [`on_driver`]): either
/// `on_both_drivers!(a, b)` for existing `fn a(kind: DriverKind)`, or
/// `on_both_drivers! { fn name(kind: DriverKind) { .. } }` with the body inline.
#[macro_export]
macro_rules! on_both_drivers {
    (fn $name:ident($kind:ident: DriverKind) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($kind: ringo_reactor::DriverKind) $body

            #[test]
            fn uring() {
                $crate::util::on_driver(ringo_reactor::DriverKind::Uring, body);
            }

            #[test]
            fn compat() {
                $crate::util::on_driver(ringo_reactor::DriverKind::Compat, body);
            }
        }
    };
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn uring() {
                $crate::util::on_driver(ringo_reactor::DriverKind::Uring, super::$name);
            }

            #[test]
            fn compat() {
                $crate::util::on_driver(ringo_reactor::DriverKind::Compat, super::$name);
            }
        }
    )*};
}

/// A deterministic byte pattern, different at every offset of a long stream.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A loopback address with a free port.
pub fn any_local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("literal address")
}

/// A fresh directory under the system temp dir, removed with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: std::path::PathBuf,
}

impl TempDir {
    /// Creates a directory named for `label`, this process and a per-process
    /// counter, so tests running in parallel never share one.
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ringo-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A path for `name` inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Both driver kinds, for tests that build their own runtimes.
pub const KINDS: [DriverKind; 2] = [DriverKind::Uring, DriverKind::Compat];

/// A connected loopback TCP pair on the current runtime: (client, server side).
pub async fn tcp_pair() -> (ringo_reactor::net::TcpStream, ringo_reactor::net::TcpStream) {
    let listener = ringo_reactor::net::TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let accept = ringo_reactor::spawn(async move { listener.accept().await });
    let client = ringo_reactor::net::TcpStream::connect(addr)
        .await
        .expect("connect");
    let (server, _) = accept.await.expect("accept task").expect("accept");
    (client, server)
}

/// A one-shot channel that works across threads, built on a mutex and a waker
/// only, so a test of cross-thread wakes depends on nothing but the `Waker`.
pub mod oneshot {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::task::{Context, Poll, Waker};

    struct State<T> {
        value: Option<T>,
        waker: Option<Waker>,
    }

    type Shared<T> = Arc<Mutex<State<T>>>;

    fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, State<T>> {
        shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sending half: [`Sender::send`] stores the value and wakes the receiver.
    pub struct Sender<T>(Shared<T>);

    /// The receiving half: a future of the sent value.
    pub struct Receiver<T>(Shared<T>);

    /// A new channel.
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Mutex::new(State {
            value: None,
            waker: None,
        }));
        (Sender(shared.clone()), Receiver(shared))
    }

    impl<T> Sender<T> {
        /// Stores `value` and wakes the receiver's task, from any thread.
        pub fn send(self, value: T) {
            let waker = {
                let mut state = lock(&self.0);
                state.value = Some(value);
                state.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    impl<T> Future for Receiver<T> {
        type Output = T;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            let mut state = lock(&self.0);
            match state.value.take() {
                Some(value) => Poll::Ready(value),
                None => {
                    state.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }
}

/// Runs `f` on a new thread and returns its result, failing the test if it takes
/// longer than `limit` (a hang shows as a failure; the stuck thread is leaked).
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = thread.join();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => panic!("{what} ended without a result"),
        },
    }
}

/// Like [`tcp_pair`], with Nagle off on both sides, so tests that write a byte
/// at a time are not slowed by delayed acknowledgements.
pub async fn tcp_pair_nodelay() -> (ringo_reactor::net::TcpStream, ringo_reactor::net::TcpStream) {
    let (client, server) = tcp_pair().await;
    client
        .set_nodelay(true)
        .expect("set nodelay on the client side");
    server
        .set_nodelay(true)
        .expect("set nodelay on the server side");
    (client, server)
}

/// Echoes everything read on `stream` until end of stream or an error.
pub async fn echo<S: AsyncRead + AsyncWrite>(stream: S) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (n, filled) = stream.read(buf).await;
        let n = match n {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (written, slice) = stream.write_all(filled.slice(..n)).await;
        buf = slice.into_inner();
        if written.is_err() {
            return;
        }
    }
}

/// Reads from `stream` until end of stream; returns everything read.
pub async fn read_to_end<S: AsyncRead>(stream: &S) -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, back) = stream.read(buf).await;
        buf = back;
        match n? {
            0 => return Ok(all),
            n => all.extend_from_slice(buf.get(..n).expect("read within the buffer")),
        }
    }
}

/// Reads from `stream` into `seen` until it ends with `end`; returns it as
/// text. Fails the test if the stream ends first.
pub async fn read_until<S: AsyncRead>(stream: &S, seen: &mut Vec<u8>, end: &str) -> String {
    let mut buf = vec![0u8; 16 * 1024];
    while !seen.ends_with(end.as_bytes()) {
        let (n, back) = stream.read(buf).await;
        buf = back;
        match n.expect("peer read") {
            0 => panic!(
                "closed before {end:?}; got {:?}",
                String::from_utf8_lossy(seen)
            ),
            n => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(seen).into_owned()
}

/// Runs curl with `args` (after `-sS --max-time 10`) and returns its stdout;
/// fails the test if curl is missing (ci/install-deps.sh installs it) or fails.
pub fn curl(args: &[&str]) -> String {
    let output = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl (installed by ci/install-deps.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Bytes queued in the kernel for `fd`: received and unread (`FIONREAD`), or
/// written and not yet acknowledged (`TIOCOUTQ`), by `request`. What the
/// backpressure tests subtract to learn what a server holds itself.
pub fn queued(fd: std::os::fd::RawFd, request: libc::Ioctl) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: both requests write one int through the pointer, to a live local.
    let rc = unsafe { libc::ioctl(fd, request, &mut n) };
    assert_eq!(rc, 0, "ioctl: {}", std::io::Error::last_os_error());
    u64::try_from(n).expect("a byte count")
}

/// Writes all of `bytes` to `stream`, failing the test on error.
pub async fn write_all<S: AsyncWrite>(stream: &S, bytes: impl Into<Vec<u8>>) {
    let (result, _) = stream.write_all(bytes.into()).await;
    result.expect("peer write");
}

/// Serves `handle` on a free loopback port of the current runtime, one task
/// per accepted connection; returns the address.
pub fn spawn_server<F, Fut>(handle: F) -> std::net::SocketAddr
where
    F: Fn(ringo_reactor::net::TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = ringo_reactor::net::TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    drop(ringo_reactor::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(ringo_reactor::spawn(handle(stream)));
        }
    }));
    addr
}

/// Starts a thread with a runtime of `kind` that serves a loopback listener
/// until the process exits: `make` runs on that thread and returns the
/// handler, called once per accepted connection in its own task. Returns the
/// listener's address, or `None` when io_uring is declared unavailable.
pub fn server_thread<M, H, Fut>(kind: DriverKind, make: M) -> Option<std::net::SocketAddr>
where
    M: FnOnce() -> H + Send + 'static,
    H: FnMut(ringo_reactor::net::TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Some(rt) = runtime(kind) else {
            let _ = tx.send(None);
            return;
        };
        rt.block_on(async move {
            let listener = ringo_reactor::net::TcpListener::bind(any_local())
                .expect("bind a loopback listener");
            let addr = listener.local_addr().expect("listener address");
            tx.send(Some(addr)).expect("the test waits for the address");
            let mut handle = make();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                drop(ringo_reactor::spawn(handle(stream)));
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server thread starts")
}

/// Sends `request` over a blocking std connection to `addr` and reads until
/// the server closes the connection; a read stalled for 20 s fails the test.
pub fn exchange_until_close(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("set a read timeout");
    stream.write_all(request).expect("write the request");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("the server closes the connection");
    reply
}

/// An address every connect to is refused, held for as long as the guard
/// lives: a TCP socket bound to a free loopback port but never listening. A
/// port merely freed after use could be handed to another test's listener in
/// the meantime; a bound port cannot.
pub fn refused_addr() -> (std::os::fd::OwnedFd, std::net::SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a new socket nobody else owns.
    let guard = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_in; family and address are set below.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: binds our socket to a live sockaddr_in of the given length.
    let bound = unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
    let mut len = len;
    // SAFETY: getsockname writes at most `len` bytes into our sockaddr_in.
    let named =
        unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len) };
    assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
    (
        guard,
        std::net::SocketAddr::from(([127, 0, 0, 1], u16::from_be(addr.sin_port))),
    )
}

/// CPU time this thread has run, in nanoseconds (`/proc/thread-self/schedstat`),
/// for the `#[ignore]`d A/B measurements.
pub fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("read schedstat");
    let first = stat
        .split_whitespace()
        .next()
        .expect("schedstat has fields");
    first.parse().expect("schedstat starts with nanoseconds")
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `body` to completion on a compat runtime, failing after `limit`. For
/// tests of timer-only logic (middleware, no I/O), where one driver is enough.
pub fn block_on_within<F: Future>(limit: Duration, body: F) -> F::Output {
    let rt = Runtime::builder()
        .driver(DriverKind::Compat)
        .build()
        .expect("compat runtime");
    rt.block_on(async {
        ringo_reactor::time::timeout(limit, body)
            .await
            .expect("test body within the limit")
    })
}
