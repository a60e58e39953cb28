//! The runtime's test hooks, gathered behind one hidden entry each:
//! [`Simulate`] (passed to `Builder::simulate`) makes the io_uring driver
//! act as on a kernel lacking a feature, so tests exercise every fallback on
//! a kernel that has them all; [`Stats`] (from `Runtime::stats`) counts what
//! tests assert on. Neither is part of the stable API: they change with the
//! driver's internals, so they stay out of the docs.

/// Kernel features the io_uring driver acts as if it lacked (all `false` by
/// default: nothing simulated). Ignored by the compat driver.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Simulate {
    /// io_uring set-up fails with this errno, as a seccomp filter, the
    /// `io_uring_disabled` sysctl or the memlock limit would.
    pub uring_setup_error: Option<i32>,
    /// No `IORING_OP_MSG_RING`: cross-runtime wakes go through the eventfd.
    pub no_msg_ring: bool,
    /// No provided buffer rings: pooled receives use the free-list path
    /// compat uses.
    pub no_provided_buffers: bool,
    /// No multishot accept: listeners submit one single-shot accept per
    /// connection, as before Linux 5.19.
    pub no_multishot_accept: bool,
    /// No `IORING_OP_SEND_ZC`: zero-copy sends go out as plain sends.
    pub no_send_zc: bool,
    /// No linked timeouts: op deadlines use the timer wheel and a cancel, as
    /// on compat.
    pub no_link_timeout: bool,
    /// The kernel refuses a registered file table: sockets use plain fds even
    /// with `Builder::registered_fds` set.
    pub no_registered_fds: bool,
    /// The kernel refuses to register fixed buffers (as past
    /// `RLIMIT_MEMLOCK`): a `FixedBufPool` works unregistered, its reads and
    /// writes going out as plain ones.
    pub no_registered_buffers: bool,
    /// No `IORING_FEAT_RECVSEND_BUNDLE`: pooled stream receives arm plain
    /// multishot receives, one buffer per completion, as before Linux 6.10.
    pub no_recv_bundle: bool,
    /// The kernel refuses splice through io_uring (as before Linux 5.7): the
    /// first splice of a copy or `send_file` fails with `EINVAL`, it falls
    /// back to a buffered copy, and later ones are buffered from the start.
    pub no_splice: bool,
    /// No `cachestat(2)` (before Linux 6.5): file sends on io_uring splice
    /// through io-wq, not `sendfile(2)` on the loop thread for cached files.
    pub no_cachestat: bool,
}

/// What a runtime counts for tests and diagnostics.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operation slots taken: ops in flight, and completions not yet
    /// collected. Zero once every op (a dropped zero-copy send included) is
    /// done.
    pub op_slots: usize,
    /// Spawned tasks that have started and not yet ended (a task counts from
    /// its first poll), to check a connection's tasks all end.
    pub live_tasks: usize,
    /// How many sends went zero-copy, and how many of their notifications came.
    pub zero_copy: ZeroCopyStats,
    /// How often other threads woke this runtime from sleep, by path.
    pub wakes: WakeStats,
    /// Slots of the registered file table holding a socket now; 0 on compat
    /// or with the table off.
    pub registered_fds_in_use: u32,
    /// Bytes copies and `send_file` have spliced out to sockets; 0 on compat.
    pub spliced_bytes: u64,
    /// Bytes `send_file` has sent with `sendfile(2)`: every file send on
    /// compat, cached ones on io_uring.
    pub sendfile_bytes: u64,
}

/// How often other threads woke a sleeping runtime, by path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WakeStats {
    /// Wakes posted into this runtime's ring by another io_uring runtime's
    /// `IORING_OP_MSG_RING`.
    pub msg_ring: u64,
    /// Wakes through the driver's own wake handle: the eventfd on io_uring,
    /// mio's waker on compat.
    pub eventfd: u64,
}

/// Zero-copy sends of one runtime.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZeroCopyStats {
    /// Sends submitted as `IORING_OP_SEND_ZC`.
    pub sends: u64,
    /// Their notifications: the kernel let go of the buffer.
    pub notifications: u64,
}
