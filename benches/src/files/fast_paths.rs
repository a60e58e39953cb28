//! A/B of the file fast paths on io_uring, one setting against the other in
//! the same run, interleaved round by round:
//! - vectored writes: 16 buffers of 4 KiB as one `write_vectored_at` vs 16
//!   `write_at` (all in flight at once, as a caller would issue them);
//! - read-ahead advice: a cold sequential read of the test file in 128 KiB
//!   reads after `advise(Sequential)` vs no advice. "Cold" comes from
//!   `advise(DontNeed)` on this file alone, which drops its cached pages
//!   without touching anyone else's.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use ringo_reactor::fs::{Advice, File, OpenOptions};
use ringo_reactor::DriverKind;

/// Buffers per vectored write, and their size.
const PIECES: usize = 16;
const PIECE: usize = 4096;

/// Sequential read size for the advice A/B.
const SEQUENTIAL: usize = 128 * 1024;

/// One A/B: per round, how long A and B took for the same work.
pub struct AbResult {
    pub name: &'static str,
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

/// Runs both A/Bs for `rounds` rounds on `read_file` (and a scratch file).
pub fn run(read_file: &Path, rounds: usize, batches: usize) -> io::Result<Vec<AbResult>> {
    let rt = runtime()?;
    let scratch = std::env::temp_dir().join("ringo-bench-vectored");
    let mut vectored = AbResult {
        name: "file write 16 x 4KiB",
        a: "write_vectored_at",
        b: "16 x write_at",
        ratios: Vec::new(),
    };
    let mut advice = AbResult {
        name: "cold sequential read, 128 KiB reads",
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
    Ok(vec![vectored, advice])
}
