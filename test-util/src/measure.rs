//! A thread's CPU clock and a median, for the `#[ignore]`d A/B measurements.
//! Speed is never asserted in a timed test; these only compare two runs of
//! one process.

/// CPU time this thread has run, in nanoseconds (`/proc/thread-self/schedstat`).
#[cfg(target_os = "linux")]
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
