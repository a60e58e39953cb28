//! [`Metadata`]: what `statx` (or std's `metadata` off Linux) says about a file,
//! with the timestamps an HTTP server needs for `Last-Modified` and `ETag`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fmt, io};

/// Type, permissions, size, timestamps and identity of a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    len: u64,
    mode: u32,
    modified: Option<SystemTime>,
    accessed: Option<SystemTime>,
    created: Option<SystemTime>,
    ino: u64,
    dev: u64,
    nlink: u64,
    uid: u32,
    gid: u32,
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("len", &self.len)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("modified", &self.modified)
            .field("ino", &self.ino)
            .finish_non_exhaustive()
    }
}

/// A time `secs` and `nanos` from the epoch (either side of it).
fn time(secs: i64, nanos: u32) -> Option<SystemTime> {
    let since = Duration::new(secs.unsigned_abs(), nanos);
    if secs >= 0 {
        UNIX_EPOCH.checked_add(since)
    } else {
        UNIX_EPOCH.checked_sub(since)
    }
}

impl Metadata {
    #[cfg(target_os = "linux")]
    pub(crate) fn from_statx(stx: &libc::statx) -> Metadata {
        let has = |bit: u32| stx.stx_mask & bit != 0;
        let at = |bit: u32, ts: libc::statx_timestamp| {
            if has(bit) {
                time(ts.tv_sec, ts.tv_nsec)
            } else {
                None
            }
        };
        Metadata {
            len: stx.stx_size,
            mode: u32::from(stx.stx_mode),
            modified: at(libc::STATX_MTIME, stx.stx_mtime),
            accessed: at(libc::STATX_ATIME, stx.stx_atime),
            created: at(libc::STATX_BTIME, stx.stx_btime),
            ino: stx.stx_ino,
            dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
            nlink: u64::from(stx.stx_nlink),
            uid: stx.stx_uid,
            gid: stx.stx_gid,
        }
    }

    /// From std's metadata: the path off Linux, where there is no `statx`.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn from_std(meta: &std::fs::Metadata) -> Metadata {
        use std::os::unix::fs::MetadataExt;
        Metadata {
            len: meta.len(),
            mode: meta.mode(),
            modified: meta.modified().ok(),
            accessed: meta.accessed().ok(),
            created: meta.created().ok(),
            ino: meta.ino(),
            dev: meta.dev(),
            nlink: meta.nlink(),
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn file_type(&self) -> u32 {
        self.mode & mode_bits(libc::S_IFMT)
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type() == mode_bits(libc::S_IFREG)
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == mode_bits(libc::S_IFDIR)
    }

    /// Whether this is a symbolic link (only from [`symlink_metadata`](super::symlink_metadata)).
    pub fn is_symlink(&self) -> bool {
        self.file_type() == mode_bits(libc::S_IFLNK)
    }

    /// The permission bits (`0o7777` of `st_mode`).
    pub fn permissions_mode(&self) -> u32 {
        self.mode & 0o7777
    }

    /// Type and permission bits together (`st_mode`).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Last modification time.
    ///
    /// # Errors
    /// `Unsupported` when the file system does not keep it.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.modified.ok_or_else(|| unsupported("modification"))
    }

    /// Last access time.
    ///
    /// # Errors
    /// `Unsupported` when the file system does not keep it.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.accessed.ok_or_else(|| unsupported("access"))
    }

    /// Creation (birth) time.
    ///
    /// # Errors
    /// `Unsupported` when the file system does not keep it.
    pub fn created(&self) -> io::Result<SystemTime> {
        self.created.ok_or_else(|| unsupported("creation"))
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Id of the device holding the file.
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        self.nlink
    }

    /// Owner's user id.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Owner's group id.
    pub fn gid(&self) -> u32 {
        self.gid
    }
}

/// A `mode_t` constant as `u32` (`mode_t` is `u16` on some systems).
#[allow(clippy::unnecessary_cast)]
const fn mode_bits(mode: libc::mode_t) -> u32 {
    mode as u32
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("the file system keeps no {what} time for this file"),
    )
}

/// Metadata of `path`, following a final symlink when `follow`.
pub(crate) async fn of_path(path: &Path, follow: bool) -> io::Result<Metadata> {
    #[cfg(target_os = "linux")]
    {
        use crate::op::statx::{Statx, Target};
        let path = super::c_path(path)?;
        let stx = crate::op::Op::new(Statx::new(Target::Path { path, follow })).await?;
        Ok(Metadata::from_statx(&stx))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let path = path.to_owned();
        super::blocking::asyncify(move || {
            let meta = if follow {
                std::fs::metadata(path)
            } else {
                std::fs::symlink_metadata(path)
            }?;
            Ok(Metadata::from_std(&meta))
        })
        .await
    }
}
