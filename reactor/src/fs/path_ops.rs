//! Path operations, as `tokio::fs` and `std::fs` name them.
//!
//! Native io_uring ops where the kernel has one (`MKDIRAT`, `UNLINKAT`,
//! `RENAMEAT`, `STATX`), run on the compat blocking pool on the compat driver.
//! The rest — `copy`, `canonicalize`, `set_permissions`, `remove_dir_all`,
//! links — have no io_uring op and run std's call on a thread of their own
//! ([`asyncify`]), on both drivers.

use std::io;
use std::path::{Path, PathBuf};

use super::blocking::asyncify;
use super::metadata::{self, Metadata};
use crate::op::fs::os_path;
use crate::op::path::PathOp;
use crate::op::Op;

/// Creates the directory `path` (on Unix with mode `0o777` before the
/// umask, as std).
///
/// # Errors
/// `AlreadyExists` if something is there; `NotFound` if the parent is missing.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = os_path(path.as_ref())?;
    Op::new(PathOp::MakeDir { path }).await
}

/// Creates `path` and every missing parent; a directory already there is fine.
///
/// # Errors
/// As [`create_dir`], except `AlreadyExists` for a directory.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    // Walk up to the first ancestor that exists, then create downwards.
    let mut missing = Vec::new();
    let mut at = Some(path);
    while let Some(dir) = at.filter(|d| !d.as_os_str().is_empty()) {
        match metadata(dir).await {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => return Err(not_a_dir(dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(dir),
            Err(e) => return Err(e),
        }
        at = dir.parent();
    }
    for dir in missing.into_iter().rev() {
        match create_dir(dir).await {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_dir(dir).await => {}
            other => other?,
        }
    }
    Ok(())
}

async fn is_dir(path: &Path) -> bool {
    metadata(path).await.is_ok_and(|m| m.is_dir())
}

fn not_a_dir(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} exists and is not a directory", path.display()),
    )
}

/// Removes the file (or symlink) `path`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = os_path(path.as_ref())?;
    Op::new(PathOp::Remove { path, dir: false }).await
}

/// Removes the empty directory `path`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = os_path(path.as_ref())?;
    Op::new(PathOp::Remove { path, dir: true }).await
}

/// Removes `path` and everything under it (std's walk, on its own thread).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Moves `from` to `to`, replacing `to` if it exists.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (os_path(from.as_ref())?, os_path(to.as_ref())?);
    Op::new(PathOp::Rename { from, to }).await
}

/// Metadata of `path`, following symlinks.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    metadata::of_path(path.as_ref(), true).await
}

/// Metadata of `path` itself, not following a final symlink.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    metadata::of_path(path.as_ref(), false).await
}

/// Whether `path` exists (following symlinks); errors other than `NotFound`
/// are returned, not guessed at.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match metadata(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Copies the contents and permissions of `from` to `to`; returns the bytes
/// copied. std's copy uses `copy_file_range` where it can (`CopyFileExW` on
/// Windows), so the bytes stay in the kernel.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// The absolute path of `path`, with every symlink, `.` and `..` resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Sets the permission bits of `path`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: std::fs::Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// Makes `link` a hard link to `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// Makes `link` a symbolic link to `original`. Unix only: Windows tells a
/// link to a file from one to a directory (`symlink_file` and `symlink_dir`
/// there).
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(original, link)).await
}

/// Makes `link` a symbolic link to the file `original`. Windows only (Unix
/// has `symlink`); creating one needs the right to, or Developer Mode.
#[cfg(windows)]
pub async fn symlink_file(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::windows::fs::symlink_file(original, link)).await
}

/// Makes `link` a symbolic link to the directory `original`. Windows only,
/// as [`symlink_file`].
#[cfg(windows)]
pub async fn symlink_dir(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::windows::fs::symlink_dir(original, link)).await
}

/// Where the symbolic link `path` points.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}
