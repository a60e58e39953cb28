//! [`File`]: positional, owned-buffer file I/O.
//!
//! A `File` is the same on every system; what owns its fd or handle
//! (`OwnedFile`) and how it converts to std's come from `op/fs.rs`. Only
//! the raw fd (Unix) or raw handle (Windows) traits differ, at the end.

use std::io;
use std::path::Path;

use super::blocking::asyncify;
use super::{Metadata, OpenOptions};
use crate::buf::{BufResult, FixedBuf, IoBuf, IoBufMut};
use crate::fd::SharedFd;
use crate::op::file_ctl::{Ctl, FileCtl};
use crate::op::fs::{self as fs_op, OwnedFile, ReadAt, WriteAt};
use crate::op::fs_vectored::{ReadvAt, WritevAt};
use crate::op::Op;

/// An open file.
///
/// I/O is positional (`read_at`, `write_at`, which take `&self`, so several
/// tasks may read one file at once), or at the file's own cursor (`read`,
/// `write`, `seek`, `read_to_end`, `write_all`, which take `&mut self`). The
/// cursor lives in this value, not in the kernel: a [`try_clone`](File::try_clone)
/// starts at the same position and then moves on its own.
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
#[derive(Debug)]
pub struct File {
    fd: SharedFd,
    /// Where cursor I/O reads and writes next.
    pub(super) pos: u64,
}

/// What [`File::advise`] tells the kernel about how the file will be read
/// (`posix_fadvise`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// No particular pattern (the default).
    Normal,
    /// Front to back: the kernel reads ahead further.
    Sequential,
    /// At random: the kernel stops reading ahead.
    Random,
    /// Soon: the kernel starts reading the range into the page cache now.
    WillNeed,
    /// Not again soon: the kernel may drop the range's cached pages.
    DontNeed,
}

impl Advice {
    /// The `POSIX_FADV_*` value. Only Linux builds advise (`FileCtl` answers
    /// `Unsupported` elsewhere, before reading this), so other targets need
    /// no constant.
    #[cfg(not(target_os = "linux"))]
    fn raw(self) -> i32 {
        0
    }

    /// The `POSIX_FADV_*` value.
    #[cfg(target_os = "linux")]
    fn raw(self) -> i32 {
        match self {
            Advice::Normal => libc::POSIX_FADV_NORMAL,
            Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
            Advice::Random => libc::POSIX_FADV_RANDOM,
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
        }
    }
}

impl File {
    pub(crate) fn from_owned(fd: OwnedFile) -> File {
        File {
            fd: SharedFd::new(fd),
            pos: 0,
        }
    }

    /// A handle to the fd, for ops built outside this module (splice).
    pub(crate) fn shared_fd(&self) -> SharedFd {
        self.fd.clone()
    }

    /// Opens an existing file for reading.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates (or truncates) a file for writing.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Reads at most `buf.bytes_total()` bytes from `offset` into the start of
    /// `buf`. `Ok(0)` means `offset` is at or past the end of the file.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, offset: u64) -> BufResult<usize, B> {
        Op::new(ReadAt::new(self.fd.clone(), buf, offset)).await
    }

    /// Like [`read_at`](File::read_at), into a buffer of a [`FixedBufPool`]:
    /// at most `buf.capacity()` bytes from `offset` into its start, the length
    /// set to the bytes read. Where the pool is registered with this runtime's
    /// io_uring this is `IORING_OP_READ_FIXED`, which skips pinning the
    /// buffer's pages for the op; elsewhere (compat, a refused registration)
    /// it is exactly `read_at`.
    ///
    /// Dropping the future in flight is safe: the buffer goes back to its pool
    /// only once the kernel is done with it.
    ///
    /// [`FixedBufPool`]: crate::buf::FixedBufPool
    pub async fn read_fixed_at(&self, buf: FixedBuf, offset: u64) -> BufResult<usize, FixedBuf> {
        Op::new(ReadAt::fixed(self.fd.clone(), buf, offset)).await
    }

    /// Like [`write_at`](File::write_at), from a buffer of a
    /// [`FixedBufPool`]: some of its `len()` bytes at `offset`; returns how
    /// many. `IORING_OP_WRITE_FIXED` where the pool is registered with this
    /// runtime's io_uring, exactly `write_at` elsewhere.
    ///
    /// [`FixedBufPool`]: crate::buf::FixedBufPool
    pub async fn write_fixed_at(&self, buf: FixedBuf, offset: u64) -> BufResult<usize, FixedBuf> {
        Op::new(WriteAt::fixed(self.fd.clone(), buf, offset)).await
    }

    /// Reads until `buf` is full, from `offset` on.
    ///
    /// # Errors
    /// [`io::ErrorKind::UnexpectedEof`] if the file ends first.
    pub async fn read_exact_at<B: IoBufMut>(&self, buf: B, offset: u64) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let mut buf = buf;
        let mut filled = 0;
        while filled < total {
            let (result, slice) = self
                .read_at(buf.slice(filled..), offset + filled as u64)
                .await;
            buf = slice.into_inner();
            match result {
                Ok(0) => {
                    let message = format!("file ended after {filled} of {total} bytes");
                    return (
                        Err(io::Error::new(io::ErrorKind::UnexpectedEof, message)),
                        buf,
                    );
                }
                Ok(n) => filled += n,
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Writes some of `buf`'s initialised bytes at `offset`; returns how many.
    pub async fn write_at<B: IoBuf>(&self, buf: B, offset: u64) -> BufResult<usize, B> {
        Op::new(WriteAt::new(self.fd.clone(), buf, offset)).await
    }

    /// Reads from `offset` into `bufs` in order, each from its start, in one op
    /// (`preadv`); returns the bytes read in all. A short count fills the
    /// first buffers only.
    ///
    /// # Errors
    /// As `read_at`; `EINVAL` past the system's `IOV_MAX` (1024) buffers.
    pub async fn read_vectored_at<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
        offset: u64,
    ) -> BufResult<usize, Vec<B>> {
        Op::new(ReadvAt::new(self.fd.clone(), bufs, offset)).await
    }

    /// Writes the initialised bytes of `bufs` in order at `offset`, in one op
    /// (`pwritev`); returns the bytes written in all (a short count is possible,
    /// as for `write_at`).
    ///
    /// # Errors
    /// As `write_at`; `EINVAL` past the system's `IOV_MAX` (1024) buffers.
    pub async fn write_vectored_at<B: IoBuf>(
        &self,
        bufs: Vec<B>,
        offset: u64,
    ) -> BufResult<usize, Vec<B>> {
        Op::new(WritevAt::new(self.fd.clone(), bufs, offset)).await
    }

    /// Writes all of `buf`'s initialised bytes at `offset`.
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, offset: u64) -> BufResult<(), B> {
        let total = buf.bytes_init();
        let mut buf = buf;
        let mut written = 0;
        while written < total {
            let (result, slice) = self
                .write_at(buf.slice(written..total), offset + written as u64)
                .await;
            buf = slice.into_inner();
            match result {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => written += n,
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Flushes data and metadata to the device.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.ctl(Ctl::Sync { data_only: false }).await
    }

    /// Flushes data (and only the metadata needed to read it back) to the device.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.ctl(Ctl::Sync { data_only: true }).await
    }

    /// Truncates or extends the file to `len` bytes (an extension reads as zeros).
    /// The cursor does not move.
    ///
    /// On io_uring this is `IORING_OP_FTRUNCATE` (Linux 6.9); an older kernel
    /// refuses the op (`EINVAL`), and std's `set_len` runs on a thread instead.
    /// (Windows file calls never answer Winsock's `EINVAL`: no retry there.)
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        match self.ctl(Ctl::SetLen { len }).await {
            Err(e)
                if e.raw_os_error() == Some(crate::sys::c::EINVAL)
                    && i64::try_from(len).is_ok() =>
            {
                let file = std::fs::File::from(fs_op::duplicate(&self.fd)?);
                asyncify(move || file.set_len(len)).await
            }
            other => other,
        }
    }

    /// Reserves disk space for `len` bytes from `offset` (`fallocate` mode 0),
    /// extending the file if needed, so later writes there cannot fail with
    /// `ENOSPC`. Linux only (`Unsupported` elsewhere, Windows included).
    pub async fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.ctl(Ctl::Allocate {
            mode: 0,
            offset,
            len,
        })
        .await
    }

    /// Tells the kernel how `len` bytes from `offset` will be read (0 means to
    /// the end of the file). A hint: it changes read-ahead and caching, never
    /// results. Linux only (`Unsupported` elsewhere, Windows included).
    pub async fn advise(&self, offset: u64, len: u32, advice: Advice) -> io::Result<()> {
        self.ctl(Ctl::Advise {
            offset,
            len,
            advice: advice.raw(),
        })
        .await
    }

    async fn ctl(&self, ctl: Ctl) -> io::Result<()> {
        Op::new(FileCtl::new(self.fd.clone(), ctl)).await
    }

    /// Type, permissions, size, timestamps and identity: on Linux a `statx`
    /// made at once on this thread (an open file's does not wait on the
    /// disk, and io_uring's would be a trip to a worker thread), elsewhere
    /// std's `metadata` on a thread.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        #[cfg(target_os = "linux")]
        {
            use crate::op::statx::{open_file_now, Statx, Target};
            // At once, on this thread (see `open_file_now`); the op where a
            // sandbox refuses the call.
            let stx = match open_file_now(&self.fd) {
                Ok(stx) => stx,
                Err(_) => Op::new(Statx::new(Target::Fd(self.fd.clone()))).await?,
            };
            Ok(Metadata::from_statx(&stx))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let file = std::fs::File::from(fs_op::duplicate(&self.fd)?);
            asyncify(move || file.metadata().map(|m| Metadata::from_std(&m))).await
        }
    }

    /// A second handle to the same open file (`dup`, `DuplicateHandle`): it
    /// shares the file's flags and data, and starts with this handle's cursor.
    pub fn try_clone(&self) -> io::Result<File> {
        let mut file = File::from_owned(fs_op::duplicate(&self.fd)?);
        file.pos = self.pos;
        Ok(file)
    }

    /// Adopts a std file. Cursor I/O starts at offset 0, whatever std's position.
    pub fn from_std(file: std::fs::File) -> File {
        File::from_owned(OwnedFile::from(file))
    }

    /// Into a std file (blocking I/O), its position set to this file's cursor.
    ///
    /// # Errors
    /// Setting the position failed.
    pub fn into_std(self) -> io::Result<std::fs::File> {
        use std::io::Seek;
        let pos = self.pos;
        let mut file = fs_op::into_std(self.fd.into_owned());
        file.seek(io::SeekFrom::Start(pos))?;
        Ok(file)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.raw()
    }
}

#[cfg(unix)]
impl std::os::fd::IntoRawFd for File {
    fn into_raw_fd(self) -> std::os::fd::RawFd {
        crate::sys::into_raw(self.fd.into_owned())
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawHandle for File {
    fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
        self.fd.raw() as std::os::windows::io::RawHandle
    }
}

#[cfg(windows)]
impl std::os::windows::io::IntoRawHandle for File {
    fn into_raw_handle(self) -> std::os::windows::io::RawHandle {
        crate::sys::into_raw(self.fd.into_owned()) as std::os::windows::io::RawHandle
    }
}
