//! What the runner reads about processes: CPU time, memory, CPU pinning.
//!
//! Server CPU time comes from `/proc/PID/task/*/schedstat` (nanoseconds on CPU,
//! summed over threads): far finer than the 10 ms ticks of `/proc/PID/stat`,
//! and it counts the server's own work whatever the client costs — the fair
//! measure when client and server share a small machine.

use std::fs;
use std::io;
use std::time::Duration;

/// Total CPU time used so far by every thread of `pid`.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let mut total = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(Duration::from_nanos(total))
}

/// Resident memory of `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc status"))?;
    Ok(kib * 1024)
}

/// Pins `pid` (0: the calling thread) to `cpu`.
#[cfg(target_os = "linux")]
pub fn pin(pid: u32, cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bit set; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of the set we own; `cpu` is below the
    // number of CPUs, which is far below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: passes a pointer to our live set with its exact size.
    let ret = unsafe {
        libc::sched_setaffinity(
            pid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pinning is Linux's `sched_setaffinity`; elsewhere the runner runs unpinned.
#[cfg(not(target_os = "linux"))]
pub fn pin(_pid: u32, _cpu: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "CPU pinning needs Linux's sched_setaffinity",
    ))
}

/// Number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The kernel version and CPU model, for the results file.
pub fn machine() -> (String, String) {
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    (kernel, cpu)
}

/// What the io_uring driver gets on this kernel with the defaults the servers
/// run with: the ring set-up flags and the features probed, for the results
/// file (a reader comparing runs across kernels needs them).
pub fn uring_features() -> String {
    let runtime = ringo_reactor::Runtime::builder()
        .driver(ringo_reactor::DriverKind::Uring)
        .build();
    let features = match runtime.map(|rt| rt.uring_features()) {
        Ok(Some(features)) => features,
        Ok(None) => return "unavailable".to_owned(),
        Err(e) => return format!("unavailable ({e})"),
    };
    let named = [
        ("SINGLE_ISSUER", features.single_issuer),
        ("DEFER_TASKRUN", features.defer_taskrun),
        ("COOP_TASKRUN", features.coop_taskrun),
        ("MSG_RING", features.msg_ring),
        ("SEND_ZC", features.send_zc),
        ("LINK_TIMEOUT", features.link_timeout),
        ("RECVSEND_BUNDLE", features.recv_bundle),
    ];
    let present: Vec<&str> = named
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    present.join(", ")
}
