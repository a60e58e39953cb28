//! File cells: random 4 KiB reads of one file with N reads in flight, ringo on
//! io_uring vs ringo's compat pool vs tokio's `spawn_blocking` vs std threads
//! (see `readers.rs`), from the page cache and with `O_DIRECT` from disk.
//!
//! Unlike the server cells these run in the runner's own process: the figure
//! is the *process* CPU time (`CLOCK_PROCESS_CPUTIME_ID`: every thread,
//! including pool threads and io_uring's io-wq workers) per read, beside
//! reads per second. Rounds interleave the readers, and each ratio is the
//! median of per-round ratios, with its spread — a shared machine is noisy.
//!
//! Then two A/Bs: the io_uring file fast paths (`fast_paths.rs`: vectored
//! writes, read-ahead advice, registered buffers) and the size of compat's
//! blocking pool (`blocking_pool.rs`).

mod blocking_pool;
mod fast_paths;
mod readers;

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use readers::{Reader, Run, READ};

/// The reads in flight of each cell.
const IN_FLIGHT: [usize; 4] = [1, 16, 64, 256];

/// How long and how often to measure, and how big a file.
#[derive(Debug, Clone, Copy)]
pub struct FileTiming {
    pub duration: Duration,
    pub rounds: usize,
    pub file_len: u64,
}

impl FileTiming {
    pub fn quick() -> FileTiming {
        FileTiming {
            duration: Duration::from_millis(250),
            rounds: 1,
            file_len: 128 << 20,
        }
    }

    pub fn full() -> FileTiming {
        FileTiming {
            duration: Duration::from_secs(1),
            rounds: 5,
            file_len: 1 << 30,
        }
    }
}

/// One (cell, reader) result over the rounds.
struct Row {
    cell: String,
    reader: Reader,
    /// Reads per second, each round.
    rates: Vec<f64>,
    /// Process CPU µs per read, each round.
    cpu_us: Vec<f64>,
}

fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `reads` (which says how many reads it made), prints its rate and
/// process CPU per read, and appends them to `rates` and `cpu_us`.
fn time_reads(
    rates: &mut Vec<f64>,
    cpu_us: &mut Vec<f64>,
    reads: impl FnOnce() -> io::Result<u64>,
) -> io::Result<()> {
    let (cpu, wall) = (process_cpu(), Instant::now());
    let reads = reads()?;
    let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
    let rate = reads as f64 / wall.as_secs_f64();
    let per_read = cpu.as_secs_f64() * 1e6 / reads.max(1) as f64;
    eprintln!("{rate:.0} reads/s, {per_read:.2} µs CPU/read");
    rates.push(rate);
    cpu_us.push(per_read);
    Ok(())
}

/// The test file: `len` bytes of non-zero data, made once and reused.
fn test_file(len: u64) -> io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("ringo-bench-reads-{len}"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == len) {
        return Ok(path);
    }
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8 + 1).collect();
    let mut file = std::fs::File::create(&path)?;
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        io::Write::write_all(&mut file, &block[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(path)
}

/// Reads the whole file once, so the page-cached cells hit the cache.
fn warm(path: &Path) -> io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    io::copy(&mut file, &mut io::sink()).map(drop)
}

/// Runs the file cells; returns the markdown section for the results file.
pub fn run(timing: FileTiming, filter: Option<&str>) -> io::Result<String> {
    let path = test_file(timing.file_len)?;
    warm(&path)?;
    let mut rows: Vec<Row> = Vec::new();
    for direct in [false, true] {
        for in_flight in IN_FLIGHT {
            let source = if direct { "O_DIRECT" } else { "page cache" };
            let cell = format!("file random 4KiB reads, {source}, N={in_flight}");
            if filter.is_some_and(|f| !cell.contains(f)) {
                continue;
            }
            let run = Run {
                in_flight,
                duration: timing.duration,
                direct,
            };
            let first = rows.len();
            for reader in Reader::ALL {
                rows.push(Row {
                    cell: cell.clone(),
                    reader,
                    rates: Vec::new(),
                    cpu_us: Vec::new(),
                });
            }
            for _ in 0..timing.rounds {
                for (i, reader) in Reader::ALL.into_iter().enumerate() {
                    eprint!("{cell} — {} ... ", reader.name());
                    let row = &mut rows[first + i];
                    time_reads(&mut row.rates, &mut row.cpu_us, || {
                        readers::reads(reader, &path, timing.file_len, run)
                    })?;
                }
            }
        }
    }
    let mut out = markdown(&rows, timing);
    if filter.is_none_or(|f| "file fast paths".contains(f)) {
        let (batches, reads) = if timing.rounds > 1 {
            (2000, 200_000)
        } else {
            (200, 20_000)
        };
        let results = fast_paths::run(&path, timing.rounds.max(3), batches, reads)?;
        out.push_str(&ab_markdown(&results));
    }
    if filter.is_none_or(|f| "compat file pool".contains(f)) {
        let rounds = timing.rounds.max(3);
        out.push_str(&blocking_pool::run(
            &path,
            timing.file_len,
            timing.duration,
            rounds,
        )?);
    }
    Ok(out)
}

fn ab_markdown(results: &[fast_paths::AbResult]) -> String {
    let mut out = "\n## File fast paths (io_uring A/B)\n\nTime of B over time of A for the same work, per round (above 1: A is faster); median and spread.\n\n| work | A | B | B/A time | spread |\n|---|---|---|---:|---:|\n".to_owned();
    for result in results {
        let (lo, hi) = spread(&result.ratios);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2}x | {lo:.2}–{hi:.2} |",
            result.name,
            result.a,
            result.b,
            median(&result.ratios)
        );
    }
    out
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn spread(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// Per round: ringo io_uring's reads per CPU-second over `reader`'s.
fn efficiency_ratios(uring: &Row, other: &Row) -> Vec<f64> {
    uring
        .cpu_us
        .iter()
        .zip(&other.cpu_us)
        .map(|(ours, theirs)| theirs / ours)
        .collect()
}

fn markdown(rows: &[Row], timing: FileTiming) -> String {
    let mut out = format!(
        "## File cells\n\nRandom {READ}-byte reads of a {} MiB file, {:?} x {} rounds, interleaved; medians (spread: min–max over rounds). CPU is the whole process's (pool and io-wq threads included). Ratio: ringo io_uring's reads per CPU-second over the row's.\n\n| cell | reader | reads/s | spread | CPU µs/read | io_uring reads/CPU-s ratio | spread |\n|---|---|---:|---:|---:|---:|---:|\n",
        timing.file_len >> 20,
        timing.duration,
        timing.rounds
    );
    for row in rows {
        let uring = rows
            .iter()
            .find(|r| r.cell == row.cell && r.reader == Reader::RingoUring)
            .expect("every cell has an io_uring row");
        let ratios = efficiency_ratios(uring, row);
        let (lo, hi) = spread(&row.rates);
        let (rlo, rhi) = spread(&ratios);
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {lo:.0}–{hi:.0} | {:.2} | {:.2}x | {rlo:.2}–{rhi:.2} |",
            row.cell,
            row.reader.name(),
            median(&row.rates),
            median(&row.cpu_us),
            median(&ratios),
        );
    }
    out
}
