//! [`RootDir`]: a directory that relative paths are opened *beneath*, never
//! outside — what a static file server needs to serve a tree safely.
//!
//! A path check in user space (reject `..`, then open) cannot see symlinks, and
//! resolving them first (`canonicalize`) leaves a race between the check and the
//! open. On Linux the kernel checks while it opens (`openat2` with
//! `RESOLVE_BENEATH`, see `op/open_beneath.rs`): `..` past the root, absolute
//! paths and symlinks leading out all fail with `EXDEV`. Elsewhere (Windows
//! included) the open is refused with `Unsupported`; the directory itself
//! still opens, so a program is written once and fails at the first open.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::File;
use crate::op::fs::OwnedFile;

/// An open directory to open files beneath. Cheap to clone, `Send + Sync`:
/// one can serve every worker thread.
#[derive(Debug, Clone)]
pub struct RootDir {
    fd: Arc<OwnedFile>,
    path: PathBuf,
}

/// Opens the directory `path`: `O_DIRECTORY` makes anything else fail with
/// `ENOTDIR`.
#[cfg(unix)]
fn open_dir(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
}

/// Opens the directory `path`: a directory's handle needs
/// `FILE_FLAG_BACKUP_SEMANTICS`, which opens files too, so the type is
/// checked after.
#[cfg(windows)]
fn open_dir(path: &Path) -> io::Result<std::fs::File> {
    use std::os::windows::fs::OpenOptionsExt;
    /// `FILE_FLAG_BACKUP_SEMANTICS` of `<winbase.h>` (`windows-sys` has it
    /// behind a feature this crate does not otherwise need).
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    if !dir.metadata()?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", path.display()),
        ));
    }
    Ok(dir)
}

impl RootDir {
    /// Opens the directory `path` (a blocking `open`, as for any set-up step).
    ///
    /// # Errors
    /// `NotFound`, or `NotADirectory` (`ENOTDIR`) if `path` is not a directory.
    pub fn open(path: impl AsRef<Path>) -> io::Result<RootDir> {
        let path = path.as_ref();
        Ok(RootDir {
            fd: Arc::new(OwnedFile::from(open_dir(path)?)),
            path: path.to_owned(),
        })
    }

    /// The path the directory was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `relative` for reading, if it resolves inside this directory.
    ///
    /// # Errors
    /// `EXDEV` (kind `CrossesDevices`) when the path leads outside — by `..`,
    /// by being absolute, or through a symlink; `ELOOP` for a magic link; the
    /// open's own errors otherwise (`NotFound`, `PermissionDenied`);
    /// `InvalidInput` for a NUL byte; `Unsupported` off Linux.
    pub async fn open_file(&self, relative: impl AsRef<Path>) -> io::Result<File> {
        #[cfg(target_os = "linux")]
        {
            let path = crate::op::fs::os_path(relative.as_ref())?;
            let op =
                crate::op::open_beneath::OpenBeneath::new(self.fd.clone(), path, libc::O_RDONLY);
            Ok(File::from_owned(crate::op::Op::new(op).await?))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = relative;
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "opening beneath a directory needs Linux's openat2",
            ))
        }
    }
}
