//! The both-drivers harness: every I/O test runs once on io_uring and once on
//! compat in one `cargo test`, each under a time limit so a hang is a failure.

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::{Builder, DriverKind, Runtime};

/// How long one test body may run before it counts as hung.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

/// Every driver kind this platform has, for tests that build their own
/// runtimes: both on Linux.
#[cfg(target_os = "linux")]
pub const KINDS: [DriverKind; 2] = [DriverKind::Uring, DriverKind::Compat];
/// Every driver kind this platform has, for tests that build their own
/// runtimes: compat only, since io_uring is Linux's.
#[cfg(not(target_os = "linux"))]
pub const KINDS: [DriverKind; 1] = [DriverKind::Compat];

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
    F: FnOnce(Rc<Runtime>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(rt) = runtime_from(kind, builder) else {
        return;
    };
    let rt = Rc::new(rt);
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

/// Runs `body` with `kind`, a test that builds its own runtimes: on uring only
/// where a uring runtime can be built, or fails as [`runtime`] does.
pub fn on_driver(kind: DriverKind, body: impl FnOnce(DriverKind)) {
    if kind == DriverKind::Uring && runtime(kind).is_none() {
        return;
    }
    body(kind);
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

/// Defines a test that runs once per driver: `name::uring` and `name::compat`
/// (`name::uring` only on Linux, the one platform with io_uring).
#[macro_export]
macro_rules! both_drivers {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            $(#[$meta])*
            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                $crate::run_on($crate::reactor::DriverKind::Uring, body);
            }

            $(#[$meta])*
            #[test]
            fn compat() {
                $crate::run_on($crate::reactor::DriverKind::Compat, body);
            }
        }
    };
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

            fn body($kind: $crate::reactor::DriverKind) $body

            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                $crate::on_driver($crate::reactor::DriverKind::Uring, body);
            }

            #[test]
            fn compat() {
                $crate::on_driver($crate::reactor::DriverKind::Compat, body);
            }
        }
    };
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                $crate::on_driver($crate::reactor::DriverKind::Uring, super::$name);
            }

            #[test]
            fn compat() {
                $crate::on_driver($crate::reactor::DriverKind::Compat, super::$name);
            }
        }
    )*};
}
