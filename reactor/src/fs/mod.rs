//! Files and directories with owned-buffer I/O, at `tokio::fs`'s coverage.
//!
//! - [`File`] and [`OpenOptions`]: positional (`read_at`, `write_at`) and
//!   cursor (`read`, `write`, `seek`) I/O, sync, `set_len`, `allocate`,
//!   `advise`, `metadata` with timestamps.
//! - Whole files: [`read`], [`read_to_string`], [`write()`].
//! - Paths: [`create_dir`], [`create_dir_all`], [`remove_file`], [`remove_dir`],
//!   [`remove_dir_all`], [`rename`], [`metadata`], [`symlink_metadata`],
//!   [`try_exists`], [`copy`], [`canonicalize`], [`set_permissions`],
//!   [`hard_link`], `symlink` (Unix; `symlink_file` and `symlink_dir` on
//!   Windows), [`read_link`], [`read_dir`].
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
//!
//! Windows has only the compat driver, and every call above runs there on
//! the blocking pool or a thread, through std (`op/fs/windows.rs`). What
//! only Unix has is left out there, each item saying so: the `mode` and
//! `custom_flags` of [`OpenOptions`], the Unix fields of [`Metadata`]
//! (`mode`, `ino`, `dev`, `nlink`, `uid`, `gid`), and `symlink` (std's
//! `symlink_file` and `symlink_dir` take its place). [`RootDir`] opens, but
//! its `open_file` is `Unsupported`, as everywhere but Linux.

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
#[cfg(unix)]
pub use path_ops::symlink;
pub use path_ops::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read_link, remove_dir,
    remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, try_exists,
};
#[cfg(windows)]
pub use path_ops::{symlink_dir, symlink_file};
pub use read_dir::{read_dir, DirEntry, ReadDir};
pub use root_dir::RootDir;
pub use whole::{read, read_to_string, write};
