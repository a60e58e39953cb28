//! Runtime configuration: the driver choice, ring and pool sizes, and the
//! io_uring options, gathered by [`Builder`] into the [`Config`] that the
//! driver and the runtime are built from.
//!
//! Each io_uring feature the kernel may lack can be simulated missing
//! (`Builder::simulate`, a hidden test hook), so tests can exercise every
//! fallback on a kernel that has them all.

use std::fmt;
use std::io;
use std::time::Duration;

use super::Simulate;
use crate::buf::{DEFAULT_RECV_BUFFERS, DEFAULT_RECV_BUFFER_SIZE};
use crate::Runtime;

/// Which I/O driver a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverKind {
    /// io_uring where the kernel allows it, else compat. Only a request: a
    /// running runtime reports the driver it picked.
    Auto,
    /// io_uring; building the runtime fails where it is unavailable.
    Uring,
    /// The mio readiness driver (epoll, kqueue), available everywhere.
    Compat,
}

impl DriverKind {
    /// The name used by `RINGO_DRIVER` and in logs: `auto`, `uring` or `compat`.
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Auto => "auto",
            DriverKind::Uring => "uring",
            DriverKind::Compat => "compat",
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DriverKind {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<DriverKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(DriverKind::Auto),
            "uring" | "io_uring" => Ok(DriverKind::Uring),
            "compat" => Ok(DriverKind::Compat),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown driver {other:?}: expected auto, uring or compat"),
            )),
        }
    }
}

/// io_uring set-up flags the running ring was built with (each probed; the ring
/// falls back to fewer when the kernel refuses one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UringFeatures {
    /// `IORING_SETUP_SINGLE_ISSUER` (Linux 6.0).
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN` (Linux 6.1).
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN` (Linux 5.19).
    pub coop_taskrun: bool,
    /// `IORING_SETUP_SQPOLL`: a kernel thread polls the submission queue (see
    /// [`Builder::sqpoll`]). Set only when requested and granted; the kernel
    /// refuses it together with `DEFER_TASKRUN` and `COOP_TASKRUN`, so an
    /// SQPOLL ring runs without those.
    pub sqpoll: bool,
    /// `IORING_OP_MSG_RING` (Linux 5.18): other io_uring runtimes wake this one
    /// by posting a completion into its ring, and this one wakes them the same
    /// way, instead of writing an eventfd. Probed once when the ring is built.
    pub msg_ring: bool,
    /// `IORING_OP_SEND_ZC` (Linux 6.0): TCP writes can send zero-copy (see
    /// [`Builder::zero_copy_send_threshold`]). Probed once when the ring is built.
    pub send_zc: bool,
    /// `IORING_OP_LINK_TIMEOUT`: a read or write with a deadline
    /// ([`ReadFuture::timeout`](crate::io::ReadFuture::timeout)) goes to the
    /// kernel as the op linked to a timeout, one SQE pair, instead of a timer
    /// in the wheel plus a cancel when it fires. Every kernel this driver runs
    /// on has it; `false` only for a one-entry SQ (the pair needs two).
    pub link_timeout: bool,
    /// Slots in the ring's registered file table (see
    /// [`Builder::registered_fds`]); 0 when none was asked for or the kernel
    /// refused one (sparse tables need Linux 5.19).
    pub registered_fds: u32,
    /// `IORING_FEAT_RECVSEND_BUNDLE` (Linux 6.10): a pooled stream receive
    /// ([`TcpStream::recv_pooled`](crate::net::TcpStream::recv_pooled)) arms a
    /// bundled multishot receive, whose every completion may fill several pool
    /// buffers in one go; each receive still returns one buffer. Read from the
    /// ring's feature bits once, when the ring is built.
    pub recv_bundle: bool,
}

/// Default io_uring submission queue size, in entries; documented on
/// [`Builder::ring_entries`].
const DEFAULT_RING_ENTRIES: u32 = 1024;

/// Default tasks per loop turn; documented on [`Builder::event_interval`].
const DEFAULT_EVENT_INTERVAL: u32 = 128;

/// Default zero-copy threshold, `None` (plain sends only); why is documented on
/// [`Builder::zero_copy_send_threshold`].
const DEFAULT_ZERO_COPY_SEND_THRESHOLD: Option<usize> = None;

/// Settings a runtime is built from.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) driver: DriverKind,
    pub(crate) ring_entries: u32,
    pub(crate) blocking_threads: usize,
    pub(crate) event_interval: u32,
    /// Test hook: kernel features to act as if missing.
    pub(crate) simulate: Simulate,
    /// `Some(idle)`: ask for an SQPOLL ring whose kernel thread sleeps after
    /// `idle` milliseconds without submissions.
    pub(crate) sqpoll_idle_ms: Option<u32>,
    /// Buffers in the receive buffer pool.
    pub(crate) recv_buffers: usize,
    /// Bytes per receive buffer.
    pub(crate) recv_buffer_size: usize,
    /// TCP writes of at least this many bytes send zero-copy; `None`: never.
    pub(crate) zero_copy_send_threshold: Option<usize>,
    /// Slots of the registered file table to ask for; 0: none.
    pub(crate) registered_fds: u32,
}

/// Configures and builds a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    config: Config,
    driver_set: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults, each given on its setter: the `Auto`
    /// driver (unless `RINGO_DRIVER` says otherwise), 1024 ring entries, 256
    /// blocking threads, 128 tasks per loop turn, 256 receive buffers of
    /// 16 KiB, no SQPOLL, no zero-copy sends and no registered files.
    pub fn new() -> Builder {
        Builder {
            config: Config {
                driver: DriverKind::Auto,
                ring_entries: DEFAULT_RING_ENTRIES,
                blocking_threads: ringo_compat::DEFAULT_MAX_BLOCKING_THREADS,
                event_interval: DEFAULT_EVENT_INTERVAL,
                simulate: Simulate::default(),
                sqpoll_idle_ms: None,
                recv_buffers: DEFAULT_RECV_BUFFERS,
                recv_buffer_size: DEFAULT_RECV_BUFFER_SIZE,
                zero_copy_send_threshold: DEFAULT_ZERO_COPY_SEND_THRESHOLD,
                registered_fds: 0,
            },
            driver_set: false,
        }
    }

    /// Chooses the driver, overriding `RINGO_DRIVER`.
    pub fn driver(mut self, kind: DriverKind) -> Builder {
        self.config.driver = kind;
        self.driver_set = true;
        self
    }

    /// io_uring submission queue entries (rounded up to a power of two by the
    /// kernel); default 1024. The completion queue is four times larger. More
    /// entries let more I/O go out per `io_uring_enter`; a full submission
    /// queue is submitted and refilled, never an error.
    pub fn ring_entries(mut self, entries: u32) -> Builder {
        self.config.ring_entries = entries.max(1);
        self
    }

    /// Maximum threads of the compat driver's blocking pool (file I/O);
    /// default 256 ([`ringo_compat::DEFAULT_MAX_BLOCKING_THREADS`], which says
    /// why).
    pub fn blocking_threads(mut self, threads: usize) -> Builder {
        self.config.blocking_threads = threads.max(1);
        self
    }

    /// Tasks run per loop turn before I/O and timers are polled again; default
    /// 128. Lower favours I/O latency, higher favours throughput of ready tasks.
    pub fn event_interval(mut self, tasks: u32) -> Builder {
        self.config.event_interval = tasks.max(1);
        self
    }

    /// Asks for an io_uring with a kernel submission-polling thread
    /// (`IORING_SETUP_SQPOLL`) that sleeps after `idle` without new submissions
    /// (rounded down to whole milliseconds, at least one). Off by default.
    ///
    /// # When it helps
    /// A busy server whose profile is dominated by `io_uring_enter` calls, or
    /// whose core keeps going idle between requests, when a whole core may be
    /// spent on it: the kernel thread picks submissions up from shared memory,
    /// so a loop turn that has I/O to submit but nothing to wait for makes no
    /// syscall at all, and the core never sleeps, so a completion wakes the
    /// loop without the cost of leaving an idle state.
    ///
    /// # What it costs
    /// The kernel thread spins for `idle` after every submission, whether or
    /// not more come; under steady load it never sleeps and takes all the CPU
    /// its core has to spare. After `idle` without submissions it sleeps, and
    /// the next submission pays a syscall to wake it. The thread (`iou-sqp-PID`,
    /// one of the process's threads) inherits the CPU affinity of the thread
    /// that builds the runtime: pinned, it shares that core with the loop. The
    /// kernel also refuses SQPOLL together with `DEFER_TASKRUN` and
    /// `COOP_TASKRUN`, so an SQPOLL ring runs without them.
    ///
    /// It trades a whole core for throughput and latency: worth it only where
    /// nothing else needs that core. The measurements behind this are in
    /// `benches/README.md` ("Runtime options, measured").
    ///
    /// # Where the kernel refuses it
    /// Old kernels allow SQPOLL only to privileged users (EPERM), and a kernel
    /// may refuse it for other reasons. The runtime is then built on a normal
    /// ring — with [`DriverKind::Auto`] and with [`DriverKind::Uring`] alike;
    /// SQPOLL never decides between io_uring and compat — and
    /// [`UringFeatures::sqpoll`] reports `false`. The compat driver has no
    /// such thread: there the option is accepted and ignored.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = ringo_reactor::Runtime::builder()
    ///     .sqpoll(Duration::from_millis(10))
    ///     .build()?;
    /// if let Some(features) = rt.uring_features() {
    ///     println!("sqpoll granted: {}", features.sqpoll);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sqpoll(mut self, idle: Duration) -> Builder {
        let ms = u32::try_from(idle.as_millis()).unwrap_or(u32::MAX);
        self.config.sqpoll_idle_ms = Some(ms.max(1));
        self
    }

    /// Sizes the runtime's receive [`BufferPool`](crate::buf::BufferPool):
    /// `count` buffers of `size` bytes, clamped to
    /// [`MAX_RECV_BUFFERS`](crate::buf::MAX_RECV_BUFFERS) and
    /// [`MAX_RECV_BUFFER_SIZE`](crate::buf::MAX_RECV_BUFFER_SIZE) (and to at
    /// least 1). The pool is mapped on the first pooled receive, and its pages
    /// are backed as buffers are used.
    ///
    /// Default: 256 buffers of 16 KiB, 4 MiB of address space per runtime.
    /// 256 lets that many connections have bytes in hand at once; idle
    /// connections hold none, so a server with far more connections than that
    /// still fits, and at the limit a receive waits for a buffer to come back
    /// (the connection is not lost). 16 KiB is the size of the largest TLS
    /// record and of the buffer the owned-buffer examples read into; one
    /// receive returns at most `size` bytes.
    pub fn recv_buffers(mut self, count: usize, size: usize) -> Builder {
        self.config.recv_buffers = count;
        self.config.recv_buffer_size = size;
        self
    }

    /// TCP writes ([`AsyncWrite::write`](crate::io::AsyncWrite::write) and
    /// what is built on it) of at least `threshold` bytes go out as zero-copy
    /// sends (`IORING_OP_SEND_ZC`); smaller ones, and all of them with `None`
    /// (the default: off, see below why), as plain sends.
    /// [`TcpStream::send_zc`](crate::net::TcpStream::send_zc) sends zero-copy
    /// whatever the size. Unix streams never do: the kernel has no zero-copy
    /// for them.
    ///
    /// # What it trades
    /// A zero-copy send skips copying the bytes into the socket's buffers, but
    /// pins the pages, costs a second completion, and resolves — handing the
    /// buffer back — only once the kernel lets go of it: for TCP, when the
    /// peer has acknowledged the bytes. A stream's next write waits that round
    /// trip, and a peer that stops reading holds the buffer (a dropped write's
    /// too: the runtime keeps it until then; dropping the runtime waits for it
    /// up to its shutdown limit, then leaks it rather than free it).
    ///
    /// # Why it is off by default
    /// On loopback (where the kernel copies zero-copy bytes on delivery, so
    /// what would be saved between hosts is not measured) small sends were
    /// slower and dearer zero-copy, and large ones only slightly cheaper, too
    /// little to pay for the round trip every large write would then wait; a
    /// bulk sender between hosts should measure `Some(256 * 1024)`. The
    /// figures are in `benches/README.md` ("Runtime options, measured").
    ///
    /// On compat, and where the kernel lacks `SEND_ZC`
    /// ([`UringFeatures::send_zc`]), the setting is accepted and every write
    /// is a plain send.
    pub fn zero_copy_send_threshold(mut self, threshold: Option<usize>) -> Builder {
        self.config.zero_copy_send_threshold = threshold;
        self
    }

    /// Gives the io_uring ring a table of `slots` registered ("fixed") file
    /// descriptors for the sockets the runtime owns. Off (0) by default.
    ///
    /// # When it helps
    /// Every io_uring op on a plain fd makes the kernel look the fd up and take
    /// a reference on its file (`fget`/`fput`); an op on a registered socket
    /// names its slot in the ring's table and skips that (its share of an echo
    /// server's CPU is in `benches/README.md`, "Runtime options, measured").
    ///
    /// # What it costs
    /// A socket takes a slot with one extra syscall (at its first op) and gives
    /// it back with another (when it is closed): worth it for long-lived
    /// connections, not for a connection per request. Sockets keep their normal
    /// fd as well, so socket options, `shutdown`, `into_raw_fd` and the compat
    /// driver work as before.
    ///
    /// # When the table is full
    /// A socket that finds no free slot names its plain fd, exactly as without
    /// the table, and tries again on its next op; the table size is a hint for
    /// the expected number of open sockets, never a limit on them.
    ///
    /// # Where it is not available
    /// The table is clamped to the process's `RLIMIT_NOFILE` (a registered
    /// socket also holds a normal fd) and to the kernel's limit of 2^20 slots.
    /// A kernel that refuses it (before Linux 5.19) leaves the feature off;
    /// [`UringFeatures::registered_fds`] reports the granted size (0: off). The
    /// compat driver has no ring: there the option is accepted and ignored.
    ///
    /// # Examples
    /// ```
    /// let rt = ringo_reactor::Runtime::builder().registered_fds(1024).build()?;
    /// if let Some(features) = rt.uring_features() {
    ///     println!("registered file slots: {}", features.registered_fds);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn registered_fds(mut self, slots: u32) -> Builder {
        self.config.registered_fds = slots;
        self
    }

    /// Makes the io_uring driver act as if the kernel lacked the features
    /// `simulate` names, so tests exercise the fallbacks. For testing (and
    /// A/B runs); not part of the stable API.
    #[doc(hidden)]
    pub fn simulate(mut self, simulate: Simulate) -> Builder {
        self.config.simulate = simulate;
        self
    }

    /// Builds the runtime on the current thread.
    ///
    /// # Errors
    /// `RINGO_DRIVER` names no driver; io_uring was required and could not be set
    /// up (the error says why); or the compat poller could not be created.
    pub fn build(self) -> io::Result<Runtime> {
        let mut config = self.config;
        if !self.driver_set {
            if let Ok(value) = std::env::var("RINGO_DRIVER") {
                config.driver = value.parse()?;
            }
        }
        Runtime::from_config(&config)
    }
}
