//! A/B of the compat driver's blocking pool size, the one knob of compat file
//! I/O: random 4 KiB reads with N in flight (16, 64, 256), from the page cache
//! and with `O_DIRECT` from disk, ringo on compat with
//! `Builder::blocking_threads` 16 against the default 256. Rounds interleave
//! the two (alternating which goes first); reads per second and process CPU
//! per read (pool threads included), medians with their spread.
//!
//! What it decides: whether the default stays. More threads than reads in
//! flight are never used (the pool grows on demand), so the settings can only
//! differ where N is above 16: from the page cache a read is CPU work, and
//! threads beyond the cores only take turns; from disk a read waits, and
//! each thread is one more read the device has queued.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::Duration;

use ringo_reactor::{Builder, DriverKind};

use super::readers::{self, Run};
use super::{median, spread, time_reads};

/// Reads in flight of each cell.
const IN_FLIGHT: [usize; 3] = [16, 64, 256];

/// The pool sizes compared: 16, and the default (256,
/// `ringo_compat::DEFAULT_MAX_BLOCKING_THREADS`, which was 16 before).
const THREADS: [usize; 2] = [16, 256];

/// One (source, N, threads) result over the rounds.
struct Row {
    direct: bool,
    in_flight: usize,
    threads: usize,
    rates: Vec<f64>,
    cpu_us: Vec<f64>,
}

/// Runs the A/B for `rounds` rounds of `duration` each on `path` (`len`
/// bytes, cached); returns its markdown section.
pub fn run(path: &Path, len: u64, duration: Duration, rounds: usize) -> io::Result<String> {
    let mut rows = Vec::new();
    for (direct, in_flight) in [false, true]
        .into_iter()
        .flat_map(|direct| IN_FLIGHT.map(|n| (direct, n)))
    {
        let first = rows.len();
        for threads in THREADS {
            rows.push(Row {
                direct,
                in_flight,
                threads,
                rates: Vec::new(),
                cpu_us: Vec::new(),
            });
        }
        let run = Run {
            in_flight,
            duration,
            direct,
        };
        for round in 0..rounds {
            for pick in [round % 2, 1 - round % 2] {
                let threads = THREADS[pick];
                let source = source(direct);
                eprint!("compat blocking pool {threads} threads, {source}, N={in_flight} ... ");
                let builder = Builder::new()
                    .driver(DriverKind::Compat)
                    .blocking_threads(threads);
                let row = &mut rows[first + pick];
                time_reads(&mut row.rates, &mut row.cpu_us, || {
                    readers::ringo(builder, path, len, run)
                })?;
            }
        }
    }
    Ok(markdown(&rows, duration, rounds))
}

fn source(direct: bool) -> &'static str {
    if direct {
        "O_DIRECT"
    } else {
        "page cache"
    }
}

fn markdown(rows: &[Row], duration: Duration, rounds: usize) -> String {
    let mut out = format!(
        "\n## Compat blocking pool size (A/B)\n\nRandom 4 KiB reads on compat, {duration:?} x {rounds} rounds, interleaved; medians (spread: min–max). Ratio: this row's over the {}-thread row's, per round.\n\n| source | N | blocking threads | reads/s | spread | CPU µs/read | spread | reads/s ratio | CPU/read ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        THREADS[1]
    );
    for row in rows {
        let base = rows
            .iter()
            .find(|r| {
                r.direct == row.direct && r.in_flight == row.in_flight && r.threads == THREADS[1]
            })
            .expect("every N has a default row");
        let ratio = |ours: &[f64], theirs: &[f64]| {
            let per_round: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| o / t).collect();
            median(&per_round)
        };
        let (lo, hi) = spread(&row.rates);
        let (clo, chi) = spread(&row.cpu_us);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {lo:.0}–{hi:.0} | {:.2} | {clo:.2}–{chi:.2} | {:.2}x | {:.2}x |",
            source(row.direct),
            row.in_flight,
            row.threads,
            median(&row.rates),
            median(&row.cpu_us),
            ratio(&row.rates, &base.rates),
            ratio(&row.cpu_us, &base.cpu_us),
        );
    }
    out
}
