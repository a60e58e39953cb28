//! Cursor I/O on a [`File`]: `read`, `write`, `seek`, `read_to_end`,
//! `write_all` — the `std::io::Read`/`Write`/`Seek` shape, with owned buffers.
//!
//! The cursor is a plain `u64` in the `File`, and every call is a positional
//! read or write at it, so no call depends on the kernel's file position (which
//! io_uring ops racing on one fd would make meaningless). The methods take
//! `&mut self`: one cursor, one caller at a time.

use std::io::{self, SeekFrom};

use super::File;
use crate::buf::{BufResult, IoBuf, IoBufMut};

/// Spare capacity [`File::read_to_end`] makes room for when the file's size
/// gives no better guess: one read of 64 KiB at a time.
const READ_TO_END_STEP: usize = 64 * 1024;

impl File {
    /// Reads at the cursor into the start of `buf` and moves the cursor past the
    /// bytes read; `Ok(0)` at the end of the file.
    pub async fn read<B: IoBufMut>(&mut self, buf: B) -> BufResult<usize, B> {
        let (result, buf) = self.read_at(buf, self.pos).await;
        if let Ok(n) = result {
            self.pos += n as u64;
        }
        (result, buf)
    }

    /// Writes some of `buf` at the cursor and moves the cursor past them.
    pub async fn write<B: IoBuf>(&mut self, buf: B) -> BufResult<usize, B> {
        let (result, buf) = self.write_at(buf, self.pos).await;
        if let Ok(n) = result {
            self.pos += n as u64;
        }
        (result, buf)
    }

    /// Writes all of `buf` at the cursor and moves the cursor past it.
    pub async fn write_all<B: IoBuf>(&mut self, buf: B) -> BufResult<(), B> {
        let len = buf.bytes_init() as u64;
        let (result, buf) = self.write_all_at(buf, self.pos).await;
        if result.is_ok() {
            self.pos += len;
        }
        (result, buf)
    }

    /// Appends everything from the cursor to the end of the file to `buf`;
    /// returns how many bytes were appended. The cursor ends at the end.
    pub async fn read_to_end(&mut self, mut buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
        let start = buf.len();
        let hint = match self.metadata().await {
            Ok(meta) => usize::try_from(meta.len().saturating_sub(self.pos)).unwrap_or(0),
            Err(e) => return (Err(e), buf),
        };
        // Room for the whole rest of the file plus one byte, so a file that did
        // not grow ends with one more read that returns 0.
        buf.reserve(hint.saturating_add(1));
        loop {
            if buf.len() == buf.capacity() {
                buf.reserve(READ_TO_END_STEP);
            }
            let len = buf.len();
            let (result, slice) = self.read(buf.slice(len..)).await;
            buf = slice.into_inner();
            match result {
                Ok(0) => return (Ok(buf.len() - start), buf),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
    }

    /// Moves the cursor; returns the new position from the start.
    ///
    /// # Errors
    /// `InvalidInput` for a position before the start (or past `u64::MAX`).
    pub async fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(at) => {
                self.pos = at;
                return Ok(at);
            }
            SeekFrom::Current(delta) => (self.pos, delta),
            SeekFrom::End(delta) => (self.metadata().await?.len(), delta),
        };
        let pos = base.checked_add_signed(delta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("seek to {base} {delta:+} is outside 0..=u64::MAX"),
            )
        })?;
        self.pos = pos;
        Ok(pos)
    }

    /// The cursor's position from the start, without moving it.
    pub fn stream_position(&self) -> u64 {
        self.pos
    }
}
