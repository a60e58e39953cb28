//! Test helpers for proto's integration tests: run a test body once per driver.
//!
//! proto cannot import reactor's test helpers (they are not part of its crate),
//! so this is proto's own copy of the idea. `both_drivers!` turns
//! `async fn name() { .. }` into a module `name` with two tests, `name::uring` and
//! `name::compat`, so a failure names its driver. The uring case fails when
//! io_uring cannot be set up — it never skips — unless the run declares a machine
//! without io_uring with `RINGO_TEST_NO_URING=1`. Every body runs under a time
//! limit, so a bug shows as a failure, not a hang.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

use std::future::Future;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
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
        Err(e)
            if kind == DriverKind::Uring && std::env::var_os("RINGO_TEST_NO_URING").is_some() =>
        {
            eprintln!(
                "io_uring unavailable and RINGO_TEST_NO_URING is set; not running this case: {e}"
            );
            None
        }
        Err(e) => panic!(
            "cannot build a {kind} runtime (set RINGO_TEST_NO_URING=1 on machines without io_uring): {e}"
        ),
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

/// A connected loopback TCP pair on the current runtime: (client side, server
/// side). Nagle is off on both, so tests that write a byte at a time are not
/// slowed by delayed acknowledgements.
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("literal address"))
        .expect("bind a loopback listener");
    let addr = listener.local_addr().expect("listener address");
    let accept = ringo_reactor::spawn(async move { listener.accept().await });
    let client = TcpStream::connect(addr).await.expect("connect to loopback");
    let (server, _) = accept
        .await
        .expect("accept task")
        .expect("accept a loopback connection");
    client
        .set_nodelay(true)
        .expect("set nodelay on the client side");
    server
        .set_nodelay(true)
        .expect("set nodelay on the server side");
    (client, server)
}

/// Writes all of `bytes` to `stream`, failing the test on error.
pub async fn write_all(stream: &TcpStream, bytes: impl Into<Vec<u8>>) {
    let (result, _) = stream.write_all(bytes.into()).await;
    result.expect("peer write");
}

/// Reads from `stream` until end of stream.
pub async fn read_to_end(stream: &TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (result, back) = stream.read(buf).await;
        buf = back;
        match result.expect("peer read") {
            0 => return out,
            n => out.extend_from_slice(buf.get(..n).expect("read within buffer")),
        }
    }
}
