//! Building an io_uring: which set-up flags to try, in what order, and the
//! one-time probes of what the running kernel offers.
//!
//! Kept apart from the driver's run-time paths (submit, park, reap) because it
//! runs once per runtime and is where kernel versions and refusals are dealt
//! with: everything here answers "what ring do we get", never "what does this
//! completion mean".

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use io_uring::{IoUring, Probe};

use crate::runtime::{Config, UringFeatures};

/// Ring set-ups to try when SQPOLL is asked for, best first. The kernel
/// refuses `DEFER_TASKRUN` with SQPOLL, so it is never tried.
const SQPOLL_SETUPS: [UringFeatures; 3] = [
    setup(true, false, true, true),
    setup(true, false, false, true),
    setup(false, false, false, true),
];
/// Ring set-ups to try otherwise (or when every SQPOLL one is refused).
const SETUPS: [UringFeatures; 3] = [
    setup(true, true, true, false),
    setup(false, false, true, false),
    setup(false, false, false, false),
];

/// The set-up flags of one attempt; the opcodes (`msg_ring`, `send_zc`),
/// `link_timeout`, `registered_fds` and `recv_bundle` are settled after the
/// ring exists.
const fn setup(
    single_issuer: bool,
    defer_taskrun: bool,
    coop_taskrun: bool,
    sqpoll: bool,
) -> UringFeatures {
    UringFeatures {
        single_issuer,
        defer_taskrun,
        coop_taskrun,
        sqpoll,
        msg_ring: false,
        send_zc: false,
        link_timeout: false,
        registered_fds: 0,
        recv_bundle: false,
    }
}

/// Builds the ring, trying set-ups best first. With SQPOLL asked for, any
/// refusal of an SQPOLL set-up (EINVAL for a flag mix the kernel lacks, EPERM
/// for unprivileged users on old kernels, …) means "no SQPOLL", never "no
/// io_uring": the plain set-ups follow. Among those, a kernel that lacks a flag
/// answers EINVAL and the next one is tried; any other error ends the attempt.
pub(super) fn build_ring(config: &Config) -> io::Result<(IoUring, UringFeatures)> {
    if let Some(errno) = config.simulate.uring_setup_error {
        return Err(io::Error::from_raw_os_error(errno));
    }
    if let Some(idle_ms) = config.sqpoll_idle_ms {
        for features in SQPOLL_SETUPS {
            if let Ok(ring) = try_build(config, features, idle_ms) {
                return Ok((ring, features));
            }
        }
    }
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for features in SETUPS {
        match try_build(config, features, 0) {
            Ok(ring) => return Ok((ring, features)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// One ring set-up attempt with the flags of `features`.
fn try_build(config: &Config, features: UringFeatures, sqpoll_idle_ms: u32) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder.setup_cqsize(config.ring_entries.saturating_mul(4));
    if features.single_issuer {
        builder.setup_single_issuer();
    }
    if features.defer_taskrun {
        builder.setup_defer_taskrun();
    }
    if features.coop_taskrun {
        builder.setup_coop_taskrun();
    }
    if features.sqpoll {
        builder.setup_sqpoll(sqpoll_idle_ms);
    }
    builder.build(config.ring_entries)
}

/// A new close-on-exec descriptor for the file `fd` names.
pub(super) fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only creates a descriptor, for the open ring fd the
    // caller holds; the result is checked.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Whether the running kernel's version is at least `major.minor` (from
/// `uname`); `false` when it cannot be read.
pub(super) fn kernel_at_least(major: u32, minor: u32) -> bool {
    // SAFETY: `utsname` is plain bytes; all-zero is a valid value.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uname` fills the struct it is given, a live local.
    if unsafe { libc::uname(&mut name) } != 0 {
        return false;
    }
    let release: String = name
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

/// The opcodes the kernel knows (`IORING_REGISTER_PROBE`, asked once per
/// ring); `None` when it cannot say, which counts as knowing none of the
/// optional ones.
pub(super) fn probe_opcodes(ring: &IoUring) -> Option<Probe> {
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .ok()
        .map(|()| probe)
}

/// Whether `probe` lists `opcode` and the test hook `denied` does not deny it.
pub(super) fn supports(probe: Option<&Probe>, opcode: u8, denied: bool) -> bool {
    !denied && probe.is_some_and(|probe| probe.is_supported(opcode))
}
