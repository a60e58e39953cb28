//! [`OpenOptions`]: how to open a file, as in std.
//!
//! The options become the platform's way to open ([`OpenHow`]) in one
//! function per platform, `how`: `open(2)` flags and a mode on Unix, std's
//! `OpenOptions` on Windows, where `mode` and `custom_flags` (`O_*` flags)
//! do not exist.

use std::io;
use std::path::Path;

use super::File;
use crate::op::fs::{os_path, Open, OpenHow};
use crate::op::Op;

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
    #[cfg(unix)]
    mode: libc::mode_t,
    #[cfg(unix)]
    custom_flags: libc::c_int,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off; on Unix new files get mode `0o666` (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            #[cfg(unix)]
            mode: 0o666,
            #[cfg(unix)]
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

    /// Permission bits for a created file (before the umask). Unix only.
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode as libc::mode_t;
        self
    }

    /// Extra `open(2)` flags, such as `libc::O_DIRECT` or `libc::O_NOATIME`.
    /// The access mode bits (`O_ACCMODE`) are ignored: [`read`](Self::read) and
    /// [`write`](Self::write) set those. Unix only.
    ///
    /// With `O_DIRECT`, reads and writes must use buffers, offsets and lengths
    /// aligned to the device's block size (see
    /// [`AlignedBuf`](crate::buf::AlignedBuf)), or the kernel answers `EINVAL`.
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags & !libc::O_ACCMODE;
        self
    }

    /// `open(2)` flags (close-on-exec) and mode.
    #[cfg(unix)]
    fn how(&self) -> io::Result<OpenHow> {
        let access = match (self.read, self.write || self.append) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => return Err(no_access()),
        };
        let mut flags = access | self.custom_flags | libc::O_CLOEXEC;
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
        Ok(OpenHow {
            flags,
            mode: self.mode,
        })
    }

    /// std's options, the same ones set (std opens a file not inheritable).
    #[cfg(windows)]
    fn how(&self) -> io::Result<OpenHow> {
        if !(self.read || self.write || self.append) {
            return Err(no_access());
        }
        let mut how = OpenHow::new();
        how.read(self.read)
            .write(self.write)
            .append(self.append)
            .truncate(self.truncate)
            .create(self.create)
            .create_new(self.create_new);
        Ok(how)
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let how = self.how()?;
        let path = os_path(path.as_ref())?;
        let fd = Op::new(Open::new(path, how)).await?;
        Ok(File::from_owned(fd))
    }
}

fn no_access() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "open options allow neither reading nor writing",
    )
}
