//! [`Root`]: the served directory, and opening a request's path beneath it.
//!
//! On Linux the kernel opens beneath the root (`openat2` with
//! `RESOLVE_BENEATH`, [`RootDir::open_file`]): `..`, absolute paths and
//! symlinks leading out fail in the open itself. Elsewhere `RootDir` cannot
//! open beneath, so the path is resolved first — `canonicalize` on the
//! blocking pool, which follows every symlink — and served only if what it
//! names lies inside the root's own canonical path; the file is then opened
//! by that resolved, symlink-free path. What is left is a race, not a
//! traversal: someone who may rewrite the served tree could swap a directory
//! for a symlink between the check and the open. Request paths never reach
//! this far with `..`, a drive or a device name in them (`request_path.rs`).
//! Linux kernels before 5.6 have no `openat2` (`ENOSYS`; compat runs there)
//! and take the same resolved path.

use std::io;
use std::path::{Path, PathBuf};

use http::StatusCode;
use ringo_reactor::fs::{File, Metadata, RootDir};

/// The directory a [`ServeDir`](super::ServeDir) serves. Cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Root {
    dir: RootDir,
    /// The root's own path with every symlink resolved: what a resolved
    /// request path must start with (off Linux, or without `openat2`).
    canonical: PathBuf,
}

/// What a path beneath the root names.
pub(super) enum Found {
    /// A regular file, open for reading, and its metadata.
    File(File, Metadata),
    /// A directory.
    Dir,
    /// Anything else (a device, a socket, a FIFO): never served.
    Other,
}

impl Root {
    /// Opens the directory `path` (a blocking set-up step).
    pub(super) fn open(path: &Path) -> io::Result<Root> {
        let dir = RootDir::open(path)?;
        Ok(Root {
            canonical: std::fs::canonicalize(path)?,
            dir,
        })
    }

    /// The path the root was opened with.
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What `relative` (`.` for the root itself) names beneath the root; an
    /// open that fails is answered by [`open_error`](super::open_error), a
    /// failing `stat` of what opened with 500.
    pub(super) async fn find(&self, relative: &Path) -> Result<Found, StatusCode> {
        let file = self.open_file(relative).await?;
        let Some(file) = file else {
            return Ok(Found::Dir);
        };
        let meta = file
            .metadata()
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(if meta.is_file() {
            Found::File(file, meta)
        } else if meta.is_dir() {
            Found::Dir
        } else {
            Found::Other
        })
    }

    /// `relative` opened beneath the root by the kernel (a directory opens
    /// too, and [`find`](Root::find) tells it apart by its metadata); by the
    /// resolved path where the kernel has no `openat2`.
    #[cfg(target_os = "linux")]
    async fn open_file(&self, relative: &Path) -> Result<Option<File>, StatusCode> {
        use std::sync::atomic::{AtomicBool, Ordering};
        /// Set at the first `ENOSYS`: the kernel will not grow the call.
        static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match self.dir.open_file(relative).await {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                opened => return opened.map(Some).map_err(super::open_error),
            }
        }
        self.open_resolved(relative).await
    }

    #[cfg(not(target_os = "linux"))]
    async fn open_file(&self, relative: &Path) -> Result<Option<File>, StatusCode> {
        self.open_resolved(relative).await
    }

    /// `relative` resolved, checked to lie inside the root, and opened by its
    /// resolved path; `None` for a directory (Windows opens one only with
    /// flags a plain open does not pass).
    async fn open_resolved(&self, relative: &Path) -> Result<Option<File>, StatusCode> {
        use ringo_reactor::fs;
        let resolved: PathBuf = fs::canonicalize(self.dir.path().join(relative))
            .await
            .map_err(super::open_error)?;
        if !resolved.starts_with(&self.canonical) {
            return Err(StatusCode::NOT_FOUND);
        }
        let meta = fs::metadata(&resolved).await.map_err(super::open_error)?;
        if meta.is_dir() {
            return Ok(None);
        }
        let file = File::open(&resolved).await.map_err(super::open_error)?;
        Ok(Some(file))
    }
}
