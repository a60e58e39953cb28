//! [`OpenOptions`]: how to open a file, as in std.

use std::io;
use std::path::Path;

use super::{c_path, File};
use crate::op::{fs::Open, Op};

/// Options for opening a file, mirroring `std::fs::OpenOptions`.
///
/// # Examples
/// ```
/// use ringo_reactor::fs::OpenOptions;
///
/// ringo_reactor::run(async {
///     let path = std::env::temp_dir().join(format!("ringo-doc-{}", std::process::id()));
///     let file = OpenOptions::new().write(true).create(true).truncate(true).open(&path).await?;
///     let (written, _) = file.write_at(b"hi".to_vec(), 0).await;
///     assert_eq!(written?, 2);
///     std::fs::remove_file(&path)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: libc::mode_t,
    custom_flags: libc::c_int,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off; new files get mode `0o666` (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Open for appending (`O_APPEND`).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate to length 0 on open.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// Permission bits for a created file (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode as libc::mode_t;
        self
    }

    /// Extra `open(2)` flags, such as `libc::O_DIRECT` or `libc::O_NOATIME`.
    /// The access mode bits (`O_ACCMODE`) are ignored: [`read`](Self::read) and
    /// [`write`](Self::write) set those.
    ///
    /// With `O_DIRECT`, reads and writes must use buffers, offsets and lengths
    /// aligned to the device's block size (see
    /// [`AlignedBuf`](crate::buf::AlignedBuf)), or the kernel answers `EINVAL`.
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags & !libc::O_ACCMODE;
        self
    }

    fn flags(&self) -> io::Result<libc::c_int> {
        let access = match (self.read, self.write || self.append) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "open options allow neither reading nor writing",
                ))
            }
        };
        let mut flags = access | self.custom_flags;
        if self.append {
            flags |= libc::O_APPEND;
        }
        if self.truncate {
            flags |= libc::O_TRUNC;
        }
        if self.create_new {
            flags |= libc::O_CREAT | libc::O_EXCL;
        } else if self.create {
            flags |= libc::O_CREAT;
        }
        Ok(flags)
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let path = c_path(path.as_ref())?;
        let fd = Op::new(Open::new(path, flags, self.mode)).await?;
        Ok(File::from_owned(fd))
    }
}
