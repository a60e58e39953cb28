//! A/B of the file fast paths on io_uring, one setting against the other in
//! the same run, interleaved round by round:
//! - vectored writes: 16 buffers of 4 KiB as one `write_vectored_at` vs 16
//!   `write_at` (all in flight at once, as a caller would issue them);
//! - read-ahead advice: a cold sequential read of the test file in 128 KiB
//!   reads after `advise(Sequential)` vs no advice. "Cold" comes from
//!   `advise(DontNeed)` on this file alone, which drops its cached pages
//!   without touching anyone else's;
//! - registered buffers: random 4 KiB reads, N in flight (16, 64), each task
//!   reading into a buffer of a registered `FixedBufPool` with
//!   `read_fixed_at` vs into a page-aligned buffer of its own with `read_at`;
//!   from the page cache (what the issue asked), and with `O_DIRECT`, where
//!   a plain read makes the kernel pin its buffer's page and a registered one
//!   does not. Wall and process CPU time, since the machine is shared. These
//!   run first, while the file is still cached: the advice A/B evicts it.

use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringo_reactor::buf::{AlignedBuf, FixedBufPool};
use ringo_reactor::fs::{Advice, File, OpenOptions};
use ringo_reactor::DriverKind;

use super::process_cpu;
use super::readers::{self, count, Offsets, READ};

/// Buffers per vectored write, and their size.
const PIECES: usize = 16;
const PIECE: usize = 4096;

/// Sequential read size for the advice A/B.
const SEQUENTIAL: usize = 128 * 1024;

/// Reads in flight in the registered-buffer A/B.
const FIXED_IN_FLIGHT: [usize; 2] = [16, 64];

/// One A/B: per round, how long A and B took for the same work.
pub struct AbResult {
    pub name: String,
    pub a: &'static str,
    pub b: &'static str,
    /// B's time over A's, per round (above 1: A is faster).
    pub ratios: Vec<f64>,
}

fn runtime() -> io::Result<ringo_reactor::Runtime> {
    ringo_reactor::Builder::new()
        .driver(DriverKind::Uring)
        .build()
}

/// Time for `batches` writes of 16 x 4 KiB, vectored or not.
async fn write_batches(file: &File, batches: usize, vectored: bool) -> io::Result<Duration> {
    let start = Instant::now();
    for batch in 0..batches {
        let offset = (batch * PIECES * PIECE) as u64 % (64 << 20);
        if vectored {
            let bufs = vec![vec![7u8; PIECE]; PIECES];
            file.write_vectored_at(bufs, offset).await.0?;
        } else {
            let writes: Vec<_> = (0..PIECES)
                .map(|i| {
                    let buf = vec![7u8; PIECE];
                    ringo_reactor::spawn({
                        let file = file.try_clone();
                        async move { file?.write_all_at(buf, offset + (i * PIECE) as u64).await.0 }
                    })
                })
                .collect();
            for write in writes {
                write
                    .await
                    .map_err(|e| io::Error::other(format!("{e:?}")))??;
            }
        }
    }
    Ok(start.elapsed())
}

/// Time to read `path` front to back cold, with or without sequential advice.
async fn cold_sequential_read(path: &Path, advise: bool) -> io::Result<Duration> {
    let file = File::open(path).await?;
    file.advise(0, 0, Advice::DontNeed).await?;
    if advise {
        file.advise(0, 0, Advice::Sequential).await?;
    }
    let len = file.metadata().await?.len();
    let start = Instant::now();
    let mut buf = vec![0u8; SEQUENTIAL];
    let mut offset = 0;
    while offset < len {
        let (n, back) = file.read_at(buf, offset).await;
        buf = back;
        match n? {
            0 => break,
            n => offset += n as u64,
        }
    }
    Ok(start.elapsed())
}

/// Wall and process CPU time for `reads` random 4 KiB reads of `file`
/// (`len` bytes long), `in_flight` tasks each doing its share in a loop, into
/// buffers of `pool` with `read_fixed_at`, or (`None`) into page-aligned
/// buffers of their own with `read_at`. Both start from the same offsets.
async fn random_reads(
    file: &Rc<File>,
    len: u64,
    in_flight: usize,
    reads: usize,
    pool: Option<&FixedBufPool>,
) -> io::Result<(Duration, Duration)> {
    let (start, cpu) = (Instant::now(), process_cpu());
    let mut tasks = Vec::new();
    for i in 0..in_flight {
        let file = file.clone();
        let fixed = match pool {
            Some(pool) => Some(
                pool.try_get()
                    .ok_or_else(|| io::Error::other("the pool has a buffer per task"))?,
            ),
            None => None,
        };
        let mut plain = AlignedBuf::new(READ, READ)?;
        tasks.push(ringo_reactor::spawn(async move {
            let mut offsets = Offsets::new(i as u64 + 1, len);
            let mut fixed = fixed;
            let mut done = 0u64;
            for _ in 0..reads / in_flight {
                let n = match fixed.take() {
                    Some(buf) => {
                        let (n, back) = file.read_fixed_at(buf, offsets.next()).await;
                        fixed = Some(back);
                        n
                    }
                    None => {
                        let (n, back) = file.read_at(plain, offsets.next()).await;
                        plain = back;
                        n
                    }
                };
                count(n, &mut done)?;
            }
            Ok::<u64, io::Error>(done)
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| io::Error::other(format!("{e:?}")))??;
    }
    Ok((start.elapsed(), process_cpu() - cpu))
}

/// The registered-buffer A/B: per source (page cache; `O_DIRECT`, where the
/// kernel pins the pages of every plain read) and number in flight, the wall
/// and the process CPU time, each a result. `O_DIRECT` runs do a tenth of
/// the reads: they wait for the disk.
async fn fixed_reads(read_file: &Path, rounds: usize, reads: usize) -> io::Result<Vec<AbResult>> {
    let mut results = Vec::new();
    for direct in [false, true] {
        // macOS has no `O_DIRECT`: only the page-cache rows there.
        let Ok(flags) = readers::open_flags(direct) else {
            continue;
        };
        let (source, reads) = match direct {
            false => ("page cache", reads),
            true => ("O_DIRECT", reads / 10),
        };
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(read_file)
            .await?;
        let len = file.metadata().await?.len();
        let file = Rc::new(file);
        for in_flight in FIXED_IN_FLIGHT {
            let pool = FixedBufPool::new(in_flight, READ)?;
            if !pool.is_registered() {
                return Err(io::Error::other(
                    "the kernel refused to register the buffers: the A/B would compare read_at with itself",
                ));
            }
            let (mut wall, mut cpu) = (Vec::new(), Vec::new());
            for round in 0..rounds {
                // Alternate which goes first, so a drift of the machine favours neither.
                let (a, b) = if round % 2 == 0 {
                    let a = random_reads(&file, len, in_flight, reads, Some(&pool)).await?;
                    (a, random_reads(&file, len, in_flight, reads, None).await?)
                } else {
                    let b = random_reads(&file, len, in_flight, reads, None).await?;
                    (
                        random_reads(&file, len, in_flight, reads, Some(&pool)).await?,
                        b,
                    )
                };
                wall.push(b.0.as_secs_f64() / a.0.as_secs_f64());
                cpu.push(b.1.as_secs_f64() / a.1.as_secs_f64());
            }
            for (measure, ratios) in [("wall", wall), ("CPU", cpu)] {
                results.push(AbResult {
                    name: format!("random 4 KiB reads, {source}, N={in_flight}: {measure}"),
                    a: "read_fixed_at (registered)",
                    b: "read_at",
                    ratios,
                });
            }
        }
    }
    Ok(results)
}

/// Runs the A/Bs for `rounds` rounds on `read_file` (and a scratch file):
/// `batches` vectored-write batches and `reads` random reads per run.
pub fn run(
    read_file: &Path,
    rounds: usize,
    batches: usize,
    reads: usize,
) -> io::Result<Vec<AbResult>> {
    let rt = runtime()?;
    let mut results = rt.block_on(fixed_reads(read_file, rounds, reads))?;
    let scratch = std::env::temp_dir().join("ringo-bench-vectored");
    let mut vectored = AbResult {
        name: "file write 16 x 4KiB".to_owned(),
        a: "write_vectored_at",
        b: "16 x write_at",
        ratios: Vec::new(),
    };
    let mut advice = AbResult {
        name: "cold sequential read, 128 KiB reads".to_owned(),
        a: "advise(Sequential)",
        b: "no advice",
        ratios: Vec::new(),
    };
    rt.block_on(async {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&scratch)
            .await?;
        for _ in 0..rounds {
            let a = write_batches(&file, batches, true).await?;
            let b = write_batches(&file, batches, false).await?;
            vectored.ratios.push(b.as_secs_f64() / a.as_secs_f64());
            let a = cold_sequential_read(read_file, true).await?;
            let b = cold_sequential_read(read_file, false).await?;
            advice.ratios.push(b.as_secs_f64() / a.as_secs_f64());
        }
        Ok::<(), io::Error>(())
    })?;
    let _ = std::fs::remove_file(&scratch);
    results.extend([vectored, advice]);
    Ok(results)
}
