//! The contenders of the random-read cells: each keeps `in_flight` random
//! 4 KiB reads of one file outstanding for a fixed time, the way its users
//! would write it, and counts completed reads.
//!
//! - ringo on io_uring and on compat: one runtime thread, `in_flight` tasks
//!   each awaiting `File::read_at` in a loop (compat runs the reads on its
//!   blocking pool);
//! - tokio: a current-thread runtime, `in_flight` tasks each awaiting
//!   `spawn_blocking(pread)` — what `tokio::fs` does inside;
//! - std: `in_flight` threads each calling `pread` in a loop.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringo_reactor::buf::AlignedBuf;
use ringo_reactor::fs::OpenOptions;
use ringo_reactor::{Builder, DriverKind};

/// Bytes per read, and their alignment for `O_DIRECT`.
pub const READ: usize = 4096;

/// Who does the reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    RingoUring,
    RingoCompat,
    TokioSpawnBlocking,
    StdThreads,
}

impl Reader {
    pub const ALL: [Reader; 4] = [
        Reader::RingoUring,
        Reader::RingoCompat,
        Reader::TokioSpawnBlocking,
        Reader::StdThreads,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reader::RingoUring => "ringo (io_uring)",
            Reader::RingoCompat => "ringo (compat pool)",
            Reader::TokioSpawnBlocking => "tokio spawn_blocking",
            Reader::StdThreads => "std threads (pread)",
        }
    }
}

/// One run's setting.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub in_flight: usize,
    pub duration: Duration,
    /// Open with `O_DIRECT` and read into aligned buffers.
    pub direct: bool,
}

/// A small xorshift: a random 4 KiB-aligned offset below `len`.
#[derive(Clone, Copy)]
pub struct Offsets {
    state: u64,
    blocks: u64,
}

impl Offsets {
    pub fn new(seed: u64, len: u64) -> Offsets {
        Offsets {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            blocks: (len / READ as u64).max(1),
        }
    }

    pub fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % self.blocks * READ as u64
    }
}

/// Reads done by `reader` in `run`; errors if any read fails or comes short.
pub fn reads(reader: Reader, path: &Path, len: u64, run: Run) -> std::io::Result<u64> {
    match reader {
        Reader::RingoUring => ringo(Builder::new().driver(DriverKind::Uring), path, len, run),
        Reader::RingoCompat => ringo(Builder::new().driver(DriverKind::Compat), path, len, run),
        Reader::TokioSpawnBlocking => tokio_blocking(path, len, run),
        Reader::StdThreads => std_threads(path, len, run),
    }
}

/// Counts one read's result: a full read adds one, anything else is an error.
pub fn count(read: std::io::Result<usize>, done: &mut u64) -> std::io::Result<()> {
    match read? {
        READ => {
            *done += 1;
            Ok(())
        }
        n => Err(std::io::Error::other(format!(
            "short read: {n} of {READ} bytes"
        ))),
    }
}

/// Sums the reads of joined tasks or threads.
fn total<E: std::fmt::Debug>(
    results: impl IntoIterator<Item = Result<std::io::Result<u64>, E>>,
) -> std::io::Result<u64> {
    let mut total = 0;
    for result in results {
        total += result.map_err(|e| std::io::Error::other(format!("reader: {e:?}")))??;
    }
    Ok(total)
}

/// The open flags of a run: `O_DIRECT` for the uncached cells. macOS has no
/// such flag (its `F_NOCACHE` is an `fcntl`), so there those cells are
/// refused rather than measured through the page cache.
pub(super) fn open_flags(direct: bool) -> std::io::Result<i32> {
    match direct {
        false => Ok(0),
        #[cfg(any(target_os = "linux", target_os = "freebsd"))]
        true => Ok(libc::O_DIRECT),
        #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
        true => Err(std::io::ErrorKind::Unsupported.into()),
    }
}

fn std_file(path: &Path, direct: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(open_flags(direct)?)
        .open(path)
}

/// Reads done by ringo on a runtime from `builder` (which picks the driver).
pub fn ringo(builder: Builder, path: &Path, len: u64, run: Run) -> std::io::Result<u64> {
    let rt = builder.build()?;
    rt.block_on(async {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(open_flags(run.direct)?)
            .open(path)
            .await?;
        let file = Rc::new(file);
        let end = Instant::now() + run.duration;
        let mut tasks = Vec::new();
        for i in 0..run.in_flight {
            let file = file.clone();
            tasks.push(ringo_reactor::spawn(async move {
                let mut offsets = Offsets::new(i as u64 + 1, len);
                let mut buf = AlignedBuf::new(READ, READ)?;
                let mut done = 0u64;
                while Instant::now() < end {
                    let (n, back) = file.read_at(buf, offsets.next()).await;
                    buf = back;
                    count(n, &mut done)?;
                }
                Ok::<u64, std::io::Error>(done)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        total(results)
    })
}

fn tokio_blocking(path: &Path, len: u64, run: Run) -> std::io::Result<u64> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let file = Arc::new(std_file(path, run.direct)?);
    rt.block_on(async {
        let end = Instant::now() + run.duration;
        let mut tasks = Vec::new();
        for i in 0..run.in_flight {
            let file = file.clone();
            tasks.push(tokio::spawn(async move {
                let mut offsets = Offsets::new(i as u64 + 1, len);
                let mut buf = AlignedBuf::new(READ, READ)?;
                let mut done = 0u64;
                while Instant::now() < end {
                    let (file, offset) = (file.clone(), offsets.next());
                    let (n, back) = tokio::task::spawn_blocking(move || {
                        let n = file.read_at(&mut buf, offset);
                        (n, buf)
                    })
                    .await
                    .map_err(std::io::Error::other)?;
                    buf = back;
                    count(n, &mut done)?;
                }
                Ok::<u64, std::io::Error>(done)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        total(results)
    })
}

fn std_threads(path: &Path, len: u64, run: Run) -> std::io::Result<u64> {
    let file = Arc::new(std_file(path, run.direct)?);
    let end = Instant::now() + run.duration;
    let threads: Vec<_> = (0..run.in_flight)
        .map(|i| {
            let file = file.clone();
            std::thread::spawn(move || {
                let mut offsets = Offsets::new(i as u64 + 1, len);
                let mut buf = AlignedBuf::new(READ, READ)?;
                let mut done = 0u64;
                while Instant::now() < end {
                    count(file.read_at(&mut buf, offsets.next()), &mut done)?;
                }
                Ok::<u64, std::io::Error>(done)
            })
        })
        .collect();
    total(threads.into_iter().map(|thread| thread.join()))
}
