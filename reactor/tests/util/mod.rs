//! Test helpers: run a test body once per driver.
//!
//! `both_drivers!` turns `async fn name() { .. }` into a module `name` with two
//! tests, `name::uring` and `name::compat`, so a failure names its driver. The
//! uring case fails when io_uring cannot be set up — it never skips — unless the
//! run declares a machine without io_uring with `RINGO_TEST_NO_URING=1`.
//! Every body runs under a time limit, so a bug shows as a failure, not a hang.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

use std::future::Future;
use std::time::Duration;

use ringo_reactor::{DriverKind, Runtime};

/// How long one test body may run before it counts as hung.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

/// A runtime on `kind`, or `None` when io_uring is declared unavailable.
pub fn runtime(kind: DriverKind) -> Option<Runtime> {
    match Runtime::builder().driver(kind).build() {
        Ok(rt) => {
            assert_eq!(rt.driver_kind(), kind, "runtime reports the driver it was asked for");
            Some(rt)
        }
        Err(e) if kind == DriverKind::Uring && std::env::var_os("RINGO_TEST_NO_URING").is_some() => {
            eprintln!("io_uring unavailable and RINGO_TEST_NO_URING is set; not running this case: {e}");
            None
        }
        Err(e) => panic!("cannot build a {kind} runtime (set RINGO_TEST_NO_URING=1 on machines without io_uring): {e}"),
    }
}

/// Runs `body` on a fresh runtime of `kind`, failing if it takes over [`TEST_LIMIT`].
pub fn run_on<F, Fut>(kind: DriverKind, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(rt) = runtime(kind) else { return };
    rt.block_on(async {
        ringo_reactor::time::timeout(TEST_LIMIT, body())
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
