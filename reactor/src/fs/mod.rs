//! Files with owned-buffer, positional I/O: [`File`] and [`OpenOptions`].
//!
//! On io_uring, file ops go through the ring like socket ops. On compat they run
//! on a small blocking thread pool — a disk read may block, and it must never
//! block the loop thread.

mod file;
mod open_options;

pub use file::{File, Metadata};
pub use open_options::OpenOptions;
