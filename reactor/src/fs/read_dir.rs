//! [`read_dir`]: a directory's entries, read in batches on a thread.
//!
//! io_uring has no op for `getdents`, so each batch of up to [`BATCH`] entries
//! is read by std on a thread of its own ([`asyncify`]) — on both drivers. A
//! batch bounds the memory one step holds, however large the directory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::blocking::asyncify;

/// Entries read per trip to a thread: large enough that a directory of
/// thousands costs a few trips, small enough to bound memory.
const BATCH: usize = 256;

/// One directory entry.
#[derive(Debug)]
pub struct DirEntry {
    path: PathBuf,
    file_type: std::fs::FileType,
}

impl DirEntry {
    /// The full path: the directory's path joined with [`file_name`](Self::file_name).
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.path.file_name().unwrap_or_default().to_owned()
    }

    /// The entry's type, as the directory listing gives it (a symlink is a
    /// symlink, not what it points to).
    pub fn file_type(&self) -> std::fs::FileType {
        self.file_type
    }
}

/// An open directory listing; see [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    /// `None` once std's listing has ended (or failed).
    std: Option<std::fs::ReadDir>,
    ready: VecDeque<io::Result<DirEntry>>,
}

/// Opens `path` for listing.
///
/// # Examples
/// ```
/// ringo_reactor::run(async {
///     let mut names = Vec::new();
///     let mut dir = ringo_reactor::fs::read_dir(".").await?;
///     while let Some(entry) = dir.next_entry().await? {
///         names.push(entry.file_name());
///     }
///     assert!(!names.is_empty());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        std: Some(std),
        ready: VecDeque::new(),
    })
}

impl ReadDir {
    /// The next entry, or `None` at the end. Entries come in the directory's
    /// order; `.` and `..` are skipped.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        if self.ready.is_empty() {
            if let Some(mut std) = self.std.take() {
                let (std, batch) = asyncify(move || {
                    let batch: VecDeque<_> = std.by_ref().take(BATCH).map(entry).collect();
                    let more = batch.len() == BATCH;
                    Ok((more.then_some(std), batch))
                })
                .await?;
                self.std = std;
                self.ready = batch;
            }
        }
        self.ready.pop_front().transpose()
    }
}

fn entry(std: io::Result<std::fs::DirEntry>) -> io::Result<DirEntry> {
    let std = std?;
    Ok(DirEntry {
        path: std.path(),
        file_type: std.file_type()?,
    })
}
