//! ringo's shared test helpers, one dev-dependency for every crate's
//! integration tests instead of a file each test binary includes by path.
//!
//! - [`drivers`]: run a test body once per driver. `both_drivers!` turns
//!   `async fn name() { .. }` into a module `name` with two tests,
//!   `name::uring` and `name::compat`, so a failure names its driver;
//!   `on_both_drivers!` does the same for a plain `fn name(kind: DriverKind)`
//!   that builds its own runtimes. The uring case fails when io_uring cannot
//!   be set up — it never skips — unless the run declares a machine without
//!   io_uring with `RINGO_TEST_NO_URING=1`. Every body runs under a time limit,
//!   so a bug shows as a failure, not a hang.
//! - [`pool`]: the same for the receive buffer pool's three paths.
//! - [`peers`]: loopback peers (pairs, echo, read-to-end, servers on a task
//!   or on their own thread, a refused address).
//! - [`data`]: deterministic byte patterns and temporary directories.
//! - [`oneshot`]: a cross-thread one-shot channel built on a bare `Waker`.
//! - [`queues`]: the bytes a socket's kernel queues hold, for backpressure tests.
//! - [`curl()`], [`measure`] and [`process`]: the outside tools, CPU clocks and
//!   child-process cases some tests need.
//! - [`wine`]: whether the tests run under Wine, for the few results Wine
//!   reports differently from Windows.
//! - `tls` (feature `tls`): test certificates made at run time, and helpers
//!   for the real TLS peers (openssl, curl, redis-cli).
//!
//! Test files bring it in as `use ringo_test_util as util;`, so helpers read
//! `util::tcp_pair()`, and import the macros they use by name.
//!
//! It depends on nothing but `ringo_reactor`, `libc` and std, so every crate
//! above the reactor (and the reactor's own integration tests) can use it.

pub mod curl;
pub mod data;
pub mod drivers;
pub mod measure;
pub mod oneshot;
pub mod peers;
pub mod pool;
pub mod process;
#[cfg(unix)]
pub mod queues;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wine;

pub use curl::curl;
pub use data::{pattern, TempDir};
pub use drivers::{
    block_on_limited, block_on_within, on_driver, run_on, run_with, run_with_runtime, runtime,
    runtime_from, unless_no_uring, within, KINDS, TEST_LIMIT,
};
pub use measure::median;
pub use measure::thread_cpu_ns;
#[cfg(unix)]
pub use peers::pipe;
pub use peers::{
    any_local, echo, exchange_until_close, listener_thread, read_to_end, read_until, refused_addr,
    server_thread, spawn_server, tcp_pair, tcp_pair_nodelay, write_all,
};
pub use pool::{all_buffers_back, pool_exhaustion_loses_nothing, with_pool_provided};

/// The reactor, for the macros to name its types whatever the caller imports.
#[doc(hidden)]
pub use ringo_reactor as reactor;
