//! [`File`]: positional, owned-buffer file I/O.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::OpenOptions;
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::fd::SharedFd;
use crate::op::fs::{Fsync, ReadAt, WriteAt};
use crate::op::Op;

/// An open file. All I/O is positional (`read_at`, `write_at`): there is no
/// shared cursor, so concurrent reads of one file from several tasks are safe.
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
#[derive(Debug)]
pub struct File {
    fd: SharedFd,
}

/// A file's size and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    len: u64,
    mode: libc::mode_t,
}

impl Metadata {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// The permission bits.
    pub fn permissions_mode(&self) -> libc::mode_t {
        self.mode & 0o7777
    }
}

impl File {
    pub(crate) fn from_owned(fd: OwnedFd) -> File {
        File {
            fd: SharedFd::new(fd),
        }
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
        Op::new(Fsync::new(self.fd.clone(), false)).await
    }

    /// Flushes data (and only the metadata needed to read it back) to the device.
    pub async fn sync_data(&self) -> io::Result<()> {
        Op::new(Fsync::new(self.fd.clone(), true)).await
    }

    /// Size and type. Runs `fstat` directly: on an open fd it reads cached inode
    /// data and does not wait on the disk.
    pub fn metadata(&self) -> io::Result<Metadata> {
        // SAFETY: `stat` is a plain C struct for which all-zero is valid.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `stat` is a live local of the right type; the fd is owned by self.
        if unsafe { libc::fstat(self.fd.raw(), &mut stat) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Metadata {
            len: stat.st_size as u64,
            mode: stat.st_mode,
        })
    }

    /// Adopts a std file.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            fd: SharedFd::new(OwnedFd::from(file)),
        }
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl IntoRawFd for File {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}
