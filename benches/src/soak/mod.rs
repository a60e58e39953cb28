//! `--soak`: load held, faults survived, bad inputs tried, nothing lost.
//!
//! Each of `hello_http` and `mini_redis`, on each driver, runs as its own
//! process while client threads of ours mix good keep-alive, pipelined,
//! byte-at-a-time, half-closing and stalled-reader connections (every answer
//! checked) with faults: resets mid-request, closes with answers unread,
//! random garbage. Afterwards the server must still answer, its open fd
//! count must be back where it was before the load, and its resident memory
//! must not have grown past [`RSS_GROWTH_LIMIT`]; the RSS and fd counts are
//! sampled throughout, so a slow leak shows as a slope in the series.
//!
//! The short version is a test (`benches/tests/soak.rs`, seconds per
//! server); the long one is `cargo run --release -p ringo-benches -- --soak`.

mod client;
mod wire;

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Rng, Scenario, Tally};
use wire::{Sender, Wire};

use crate::proc;
use crate::servers::{self, Protocol, RunningServer, ServerSpec};

/// Client threads, each running one connection at a time.
const THREADS: u64 = 8;

/// Load before the baseline is taken, so buffers and pools a server grows
/// once are not counted as growth.
const WARMUP: Duration = Duration::from_secs(1);

/// Most the server's resident memory may grow from the baseline to the end.
pub const RSS_GROWTH_LIMIT: u64 = 32 * 1024 * 1024;

/// How long the server has to close its side of the last connections.
const FD_SETTLE: Duration = Duration::from_secs(10);

/// What to soak, and for how long.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Seconds of load per server and driver.
    pub seconds: u64,
    /// Seconds between samples of RSS and fds.
    pub sample_every: u64,
    /// `uring`, `compat` or both.
    pub drivers: Vec<String>,
}

/// What the soak of one server on one driver found.
#[derive(Debug)]
struct Report {
    server: &'static str,
    driver: &'static str,
    seconds: f64,
    /// Connections per scenario, in [`Scenario::ALL`] order.
    connections: [u64; 8],
    /// Failed connections per scenario.
    failures: [u64; 8],
    first_failure: Option<String>,
    answered: u64,
    garbage: u64,
    alive: bool,
    fds: (usize, usize),
    rss: (u64, u64, u64),
    /// (seconds since the load started, RSS bytes, open fds).
    series: Vec<(f64, u64, usize)>,
}

impl Report {
    fn passed(&self) -> bool {
        self.failures.iter().all(|&n| n == 0)
            && self.alive
            && self.fds.1 <= self.fds.0
            && self.rss.2.saturating_sub(self.rss.0) <= RSS_GROWTH_LIMIT
    }
}

/// Soaks every server on every driver asked for; writes `soak.md` into
/// `out_dir`. `Ok(false)` when any soak failed (each failure is printed).
pub fn run(options: &SoakOptions, out_dir: &Path) -> io::Result<bool> {
    let mut reports = Vec::new();
    for spec in servers::all(None, None) {
        let (wire, server) = match spec.protocol {
            Protocol::Http => (Wire::Http, "hello_http"),
            Protocol::Resp => (Wire::Resp, "mini_redis"),
            _ => continue,
        };
        let Some(driver) = spec.name.strip_prefix("ringo-") else {
            continue;
        };
        if !options.drivers.iter().any(|d| d == driver) || spec.idle_only {
            continue;
        }
        if !spec.program.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} is not built: cargo build [--release] -p ringo-service --examples",
                    spec.program.display()
                ),
            ));
        }
        println!("soak: {server} on {driver} for {} s", options.seconds);
        let report = soak_one(&spec, wire, server, options)?;
        println!("{}", row(&report));
        if let Some(failure) = &report.first_failure {
            println!("  first failure: {failure}");
        }
        reports.push(report);
    }
    let passed = reports.iter().all(Report::passed);
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(out_dir.join("soak.md"), markdown(&reports, options))?;
    println!(
        "soak: {} (table in {})",
        if passed { "passed" } else { "FAILED" },
        out_dir.join("soak.md").display()
    );
    Ok(passed)
}

fn soak_one(
    spec: &ServerSpec,
    wire: Wire,
    server: &'static str,
    options: &SoakOptions,
) -> io::Result<Report> {
    let running = RunningServer::start(spec, crate::SERVER_CPU)?;
    let pid = running.pid();
    load(wire, running.addr, WARMUP, 0, |_| {});
    let fds_before = settle_fds(pid, usize::MAX)?;
    let rss_before = proc::rss_bytes(pid)?;

    let started = Instant::now();
    let mut series = vec![(0.0, rss_before, fds_before)];
    let every = Duration::from_secs(options.sample_every.max(1));
    let mut next_sample = every;
    let totals = load(
        wire,
        running.addr,
        Duration::from_secs(options.seconds),
        1,
        |elapsed| {
            if elapsed >= next_sample {
                next_sample += every;
                if let (Ok(rss), Ok(fds)) = (proc::rss_bytes(pid), open_fds(pid)) {
                    series.push((elapsed.as_secs_f64(), rss, fds));
                }
            }
        },
    );
    let seconds = started.elapsed().as_secs_f64();

    let fds_after = settle_fds(pid, fds_before)?;
    let mut rng = Rng::new(u64::MAX);
    let last = Sender {
        thread: THREADS,
        connection: u64::MAX,
    };
    let alive = client::run(wire, running.addr, last, Scenario::KeepAlive, &mut rng).is_ok();
    let rss_after = proc::rss_bytes(pid)?;
    let rss_peak = series
        .iter()
        .map(|s| s.1)
        .chain([rss_after])
        .max()
        .unwrap_or(rss_after);
    series.push((seconds, rss_after, fds_after));
    Ok(Report {
        server,
        driver: spec.name.trim_start_matches("ringo-"),
        seconds,
        connections: totals.connections,
        failures: totals.failures,
        first_failure: totals.first_failure,
        answered: totals.tally.answered,
        garbage: totals.tally.garbage,
        alive,
        fds: (fds_before, fds_after),
        rss: (rss_before, rss_peak, rss_after),
        series,
    })
}

/// What all client threads did.
#[derive(Debug, Default)]
struct Totals {
    connections: [u64; 8],
    failures: [u64; 8],
    first_failure: Option<String>,
    tally: Tally,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        for i in 0..8 {
            self.connections[i] += other.connections[i];
            self.failures[i] += other.failures[i];
        }
        self.tally.answered += other.tally.answered;
        self.tally.garbage += other.tally.garbage;
        self.first_failure = self.first_failure.take().or(other.first_failure);
    }
}

/// Runs [`THREADS`] client threads against `addr` for `duration` (seeded by
/// `round`), calling `tick` with the time elapsed about every 100 ms.
fn load(
    wire: Wire,
    addr: SocketAddr,
    duration: Duration,
    round: u64,
    mut tick: impl FnMut(Duration),
) -> Totals {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || client_thread(wire, addr, thread, round, &stop))
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < duration {
        std::thread::sleep(Duration::from_millis(100).min(duration));
        tick(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let mut totals = Totals::default();
    for thread in threads {
        match thread.join() {
            Ok(part) => totals.add(part),
            Err(_) => totals.first_failure = Some("a client thread panicked".into()),
        }
    }
    totals
}

fn client_thread(
    wire: Wire,
    addr: SocketAddr,
    thread: u64,
    round: u64,
    stop: &AtomicBool,
) -> Totals {
    let mut rng = Rng::new(round * THREADS + thread);
    let mut totals = Totals::default();
    let mut connection = 0;
    while !stop.load(Ordering::Relaxed) {
        let scenario = Scenario::pick(&mut rng);
        let index = Scenario::ALL
            .iter()
            .position(|&s| s == scenario)
            .unwrap_or(0);
        let sender = Sender { thread, connection };
        connection += 1;
        totals.connections[index] += 1;
        match client::run(wire, addr, sender, scenario, &mut rng) {
            Ok(tally) => {
                totals.tally.answered += tally.answered;
                totals.tally.garbage += tally.garbage;
            }
            Err(e) => {
                totals.failures[index] += 1;
                totals.first_failure.get_or_insert_with(|| {
                    format!("{scenario:?} (thread {thread}, connection {connection}): {e}")
                });
            }
        }
    }
    totals
}

/// The open fds of `pid`.
fn open_fds(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// Waits up to [`FD_SETTLE`] for `pid`'s fd count to reach `target` or
/// below (`usize::MAX`: to stop changing for half a second); returns the
/// count it ended at.
fn settle_fds(pid: u32, target: usize) -> io::Result<usize> {
    let started = Instant::now();
    let mut last = open_fds(pid)?;
    let mut steady_since = Instant::now();
    while started.elapsed() < FD_SETTLE {
        std::thread::sleep(Duration::from_millis(50));
        let now = open_fds(pid)?;
        if now <= target {
            return Ok(now);
        }
        if now != last {
            last = now;
            steady_since = Instant::now();
        } else if target == usize::MAX && steady_since.elapsed() >= Duration::from_millis(500) {
            return Ok(now);
        }
    }
    Ok(last)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One markdown table row of `report`.
fn row(r: &Report) -> String {
    let good: u64 = Scenario::ALL
        .iter()
        .zip(r.connections)
        .filter(|(s, _)| s.is_good())
        .map(|(_, n)| n)
        .sum();
    let faults: u64 = r.connections.iter().sum::<u64>() - good;
    let failures: u64 = r.failures.iter().sum();
    format!(
        "| {} | {} | {:.0} | {good} | {} | {faults} | {} | {failures} | {} | {} → {} | {:.1} → {:.1} → {:.1} | {} |",
        r.server,
        r.driver,
        r.seconds,
        r.answered,
        r.garbage,
        if r.alive { "yes" } else { "NO" },
        r.fds.0,
        r.fds.1,
        mib(r.rss.0),
        mib(r.rss.1),
        mib(r.rss.2),
        if r.passed() { "pass" } else { "FAIL" },
    )
}

fn markdown(reports: &[Report], options: &SoakOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Soak: {} s per server and driver, {THREADS} client threads\n",
        options.seconds
    );
    let _ = writeln!(out, "| server | driver | s | good connections | good requests answered right | fault connections | garbage bytes | failures | alive after | fds before → after | RSS MiB base → peak → end | verdict |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for report in reports {
        let _ = writeln!(out, "{}", row(report));
    }
    let _ = writeln!(
        out,
        "\nConnections per scenario ({}):\n",
        Scenario::ALL.map(|s| format!("{s:?}")).join(", ")
    );
    for r in reports {
        let _ = writeln!(
            out,
            "- {} {}: {:?}, failed {:?}",
            r.server, r.driver, r.connections, r.failures
        );
        if let Some(failure) = &r.first_failure {
            let _ = writeln!(out, "  - first failure: {failure}");
        }
    }
    let _ = writeln!(out, "\nRSS (MiB) and open fds over time (s):\n");
    for r in reports {
        let points: Vec<String> = r
            .series
            .iter()
            .map(|(t, rss, fds)| format!("{t:.0}s {:.1}/{fds}", mib(*rss)))
            .collect();
        let _ = writeln!(out, "- {} {}: {}", r.server, r.driver, points.join(", "));
    }
    out
}
