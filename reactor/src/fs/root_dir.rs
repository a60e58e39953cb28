//! [`RootDir`]: a directory that relative paths are opened *beneath*, never
//! outside — what a static file server needs to serve a tree safely.
//!
//! A path check in user space (reject `..`, then open) cannot see symlinks, and
//! resolving them first (`canonicalize`) leaves a race between the check and the
//! open. On Linux the kernel checks while it opens (`openat2` with
//! `RESOLVE_BENEATH`, see `op/open_beneath.rs`): `..` past the root, absolute
//! paths and symlinks leading out all fail with `EXDEV`. Elsewhere the open is
//! refused with `Unsupported`.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::File;

/// An open directory to open files beneath. Cheap to clone, `Send + Sync`:
/// one can serve every worker thread.
#[derive(Debug, Clone)]
pub struct RootDir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
}

impl RootDir {
    /// Opens the directory `path` (a blocking `open`, as for any set-up step).
    ///
    /// # Errors
    /// `NotFound`, or `NotADirectory` (`ENOTDIR`) if `path` is not a directory.
    pub fn open(path: impl AsRef<Path>) -> io::Result<RootDir> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = path.as_ref();
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(RootDir {
            fd: Arc::new(OwnedFd::from(dir)),
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
            let path = super::c_path(relative.as_ref())?;
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
