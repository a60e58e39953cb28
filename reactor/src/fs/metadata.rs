//! [`Metadata`]: what `statx` (or std's `metadata` off Linux) says about a file,
//! with the timestamps an HTTP server needs for `Last-Modified` and `ETag`.
//!
//! The file's type is kept as Unix keeps it, in `st_mode`'s `S_IFMT` bits,
//! on every system: on Windows they are made from std's file type, and the
//! rest of `st_mode` is zero. What only Unix has — permission bits, inode,
//! device, link count, owner — is `UnixFields`, absent on Windows along
//! with its accessors (std keeps them in the Unix-only `MetadataExt` too).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fmt, io};

/// Type, permissions, size, timestamps and identity of a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    len: u64,
    /// `st_mode`: type and, on Unix, permission bits.
    mode: u32,
    modified: Option<SystemTime>,
    accessed: Option<SystemTime>,
    created: Option<SystemTime>,
    #[cfg(unix)]
    unix: UnixFields,
}

/// What only Unix tells about a file.
#[cfg(unix)]
#[derive(Clone, Copy, PartialEq, Eq)]
struct UnixFields {
    ino: u64,
    dev: u64,
    nlink: u64,
    uid: u32,
    gid: u32,
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Metadata");
        f.field("len", &self.len)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("modified", &self.modified);
        #[cfg(unix)]
        f.field("ino", &self.unix.ino);
        f.finish_non_exhaustive()
    }
}

/// `st_mode`'s file type bits, and the types ringo tells apart: the values
/// of every Unix's `<sys/stat.h>` (Linux's, macOS's and FreeBSD's alike;
/// checked against `libc` by a test), used on Windows as well.
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

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
            unix: UnixFields {
                ino: stx.stx_ino,
                dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
                nlink: u64::from(stx.stx_nlink),
                uid: stx.stx_uid,
                gid: stx.stx_gid,
            },
        }
    }

    /// From std's metadata: the path off Linux, where there is no `statx`.
    #[cfg(all(unix, not(target_os = "linux")))]
    pub(crate) fn from_std(meta: &std::fs::Metadata) -> Metadata {
        use std::os::unix::fs::MetadataExt;
        Metadata {
            len: meta.len(),
            mode: meta.mode(),
            modified: meta.modified().ok(),
            accessed: meta.accessed().ok(),
            created: meta.created().ok(),
            unix: UnixFields {
                ino: meta.ino(),
                dev: meta.dev(),
                nlink: meta.nlink(),
                uid: meta.uid(),
                gid: meta.gid(),
            },
        }
    }

    /// From std's metadata, the file type as `S_IFMT` bits (a link is a
    /// link only from `symlink_metadata`, as on Unix).
    #[cfg(windows)]
    pub(crate) fn from_std(meta: &std::fs::Metadata) -> Metadata {
        let kind = meta.file_type();
        let mode = if kind.is_symlink() {
            S_IFLNK
        } else if kind.is_dir() {
            S_IFDIR
        } else if kind.is_file() {
            S_IFREG
        } else {
            0
        };
        Metadata {
            len: meta.len(),
            mode,
            modified: meta.modified().ok(),
            accessed: meta.accessed().ok(),
            created: meta.created().ok(),
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
        self.mode & S_IFMT
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type() == S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// Whether this is a symbolic link (only from [`symlink_metadata`](super::symlink_metadata)).
    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
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
}

/// Unix only: std keeps these in `std::os::unix::fs::MetadataExt`, and
/// Windows' std has no stable equivalent.
#[cfg(unix)]
impl Metadata {
    /// The permission bits (`0o7777` of `st_mode`). Unix only.
    pub fn permissions_mode(&self) -> u32 {
        self.mode & 0o7777
    }

    /// Type and permission bits together (`st_mode`). Unix only.
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Inode number. Unix only.
    pub fn ino(&self) -> u64 {
        self.unix.ino
    }

    /// Id of the device holding the file. Unix only.
    pub fn dev(&self) -> u64 {
        self.unix.dev
    }

    /// Number of hard links. Unix only.
    pub fn nlink(&self) -> u64 {
        self.unix.nlink
    }

    /// Owner's user id. Unix only.
    pub fn uid(&self) -> u32 {
        self.unix.uid
    }

    /// Owner's group id. Unix only.
    pub fn gid(&self) -> u32 {
        self.unix.gid
    }
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
        let path = crate::op::fs::os_path(path)?;
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

#[cfg(all(test, unix))]
mod tests {
    /// The type bits are `libc`'s on this system.
    #[test]
    #[allow(clippy::unnecessary_cast)] // `mode_t` is `u16` on some systems
    fn type_bits_are_libcs() {
        let ours = [
            super::S_IFMT,
            super::S_IFDIR,
            super::S_IFREG,
            super::S_IFLNK,
        ];
        let libcs = [libc::S_IFMT, libc::S_IFDIR, libc::S_IFREG, libc::S_IFLNK];
        assert_eq!(ours, libcs.map(|bits| bits as u32));
    }
}
