//! Files and directories with owned-buffer I/O, at `tokio::fs`'s coverage.
//!
//! - [`File`] and [`OpenOptions`]: positional (`read_at`, `write_at`) and
//!   cursor (`read`, `write`, `seek`) I/O, sync, `set_len`, `allocate`,
//!   `advise`, `metadata` with timestamps.
//! - Whole files: [`read`], [`read_to_string`], [`write()`].
//! - Paths: [`create_dir`], [`create_dir_all`], [`remove_file`], [`remove_dir`],
//!   [`remove_dir_all`], [`rename`], [`metadata`], [`symlink_metadata`],
//!   [`try_exists`], [`copy`], [`canonicalize`], [`set_permissions`],
//!   [`hard_link`], [`symlink`], [`read_link`], [`read_dir`].
//! - [`RootDir`]: open files only beneath a directory (`openat2`), for servers.
//!
//! How each runs:
//! - **io_uring**: native ops — `OPENAT`, `READ`, `WRITE`, `FSYNC`, `STATX`,
//!   `UNLINKAT`, `RENAMEAT`, `MKDIRAT`, `FALLOCATE`, `FADVISE`, `FTRUNCATE`.
//! - **compat**: the same calls on the driver's blocking thread pool — a disk
//!   read may block, and it must never block the loop thread.
//! - **Both**: operations the kernel has no io_uring op for (`read_dir`, `copy`,
//!   `canonicalize`, `set_permissions`, `remove_dir_all`, links) run std's call
//!   on a thread of their own.

mod blocking;
mod cursor;
mod file;
mod metadata;
mod open_options;
mod path_ops;
mod read_dir;
mod root_dir;
mod whole;

pub use file::{Advice, File};
pub use metadata::Metadata;
pub use open_options::OpenOptions;
pub use path_ops::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read_link, remove_dir,
    remove_dir_all, remove_file, rename, set_permissions, symlink, symlink_metadata, try_exists,
};
pub use read_dir::{read_dir, DirEntry, ReadDir};
pub use root_dir::RootDir;
pub use whole::{read, read_to_string, write};

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `path` as the NUL-terminated string the kernel takes.
///
/// # Errors
/// `InvalidInput` if the path holds a NUL byte.
pub(crate) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {:?} contains a NUL byte", path),
        )
    })
}
