//! Tests that run in a child process of their test binary, for cases that
//! change process-wide state (the fd limit, signal handlers) which the other
//! tests of the binary must not see, and the process-wide measures such cases
//! check: open fds and CPU time.
//!
//! A case calls [`in_child`]: in the parent it is false, and the case starts
//! itself again with [`run_in_child`]; in the child it runs its body.

#[cfg(unix)]
use std::collections::BTreeSet;
use std::time::Duration;

/// Set in the environment of a child started by [`run_in_child`].
const CHILD: &str = "RINGO_TEST_CHILD";

/// Whether this process is a child started by [`run_in_child`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `name` (its full path, as the harness names it) alone in a
/// child process of this binary, and fails if it fails, takes over a minute,
/// or does not run.
pub fn run_in_child(name: &str) {
    let exe = std::env::current_exe().expect("current exe");
    let name = name.to_string();
    let output = crate::within(Duration::from_secs(60), "child test", move || {
        std::process::Command::new(exe)
            .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
    })
    .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the case:\n{stdout}"
    );
}

/// The fds this process has open, from `/proc/self/fd` (counting the one
/// that lists them).
#[cfg(target_os = "linux")]
fn open_fd_numbers() -> BTreeSet<u64> {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The fds this process has open, probed with `fcntl(F_GETFD)` below the fd
/// limit (capped at 65536): the BSDs list `/dev/fd` fully only with fdescfs
/// mounted. Tests compare counts taken the same way, so the Linux listing's
/// own fd is no difference that matters.
#[cfg(all(unix, not(target_os = "linux")))]
fn open_fd_numbers() -> BTreeSet<u64> {
    // SAFETY: getdtablesize takes no arguments and only reads the limit.
    let limit = unsafe { libc::getdtablesize() }.clamp(0, 1 << 16);
    (0..limit)
        // SAFETY: F_GETFD only reads the flags of `fd`, or fails with EBADF.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .map(|fd| fd as u64)
        .collect()
}

/// The highest fd this process has open.
#[cfg(unix)]
pub fn highest_fd() -> u64 {
    open_fd_numbers().last().copied().unwrap_or(2)
}

/// The number of fds this process has open (counting the one that lists them).
#[cfg(unix)]
pub fn open_fds() -> usize {
    open_fd_numbers().len()
}

/// Sets the soft `RLIMIT_NOFILE` to `limit` (never above the hard limit):
/// new fds must then be numbered below it.
#[cfg(unix)]
pub fn set_fd_limit(limit: u64) {
    let mut rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rlimit` is a live, writable struct of the type getrlimit fills.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) };
    assert_eq!(got, 0, "getrlimit");
    rlimit.rlim_cur = (limit as libc::rlim_t).min(rlimit.rlim_max);
    // SAFETY: `rlimit` is a live, initialised struct; only the soft limit moved,
    // and never above the hard limit.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) };
    assert_eq!(set, 0, "setrlimit");
}

/// Lowers the soft fd limit to leave room for about `free` more fds — new fds
/// take the lowest free numbers, and an open fd at or past the limit (one
/// inherited from the parent, say) stays open — and returns the exact room,
/// counted by opening fds until `EMFILE` and closing them again.
#[cfg(unix)]
pub fn leave_free_fds(free: usize) -> usize {
    use std::os::fd::{FromRawFd, OwnedFd};
    let open = open_fd_numbers();
    let mut limit = 0;
    let mut found = 0;
    while found < free {
        if !open.contains(&limit) {
            found += 1;
        }
        limit += 1;
    }
    set_fd_limit(limit);
    let mut probes = Vec::new();
    loop {
        // SAFETY: F_DUPFD_CLOEXEC duplicates stderr, which stays open; the
        // result is checked.
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            assert_eq!(
                err.raw_os_error(),
                Some(libc::EMFILE),
                "probing the fd room: {err}"
            );
            return probes.len();
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        probes.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// CPU time (user + system) this process has used.
#[cfg(unix)]
pub fn cpu_time() -> Duration {
    // SAFETY: `rusage` is a plain C struct; all-zeroes is a valid value, and
    // getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable rusage.
    let ret = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(ret, 0, "getrusage");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}
