//! A thread's CPU clock and a median, for the `#[ignore]`d A/B measurements.
//! Speed is never asserted in a timed test; these only compare two runs of
//! one process.

/// CPU time this thread has run, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`,
/// which Linux, Apple and the BSDs all have).
#[cfg(unix)]
pub fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec`; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
