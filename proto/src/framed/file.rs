//! File bodies on a framed transport: a [`FileRange`] is written into the
//! byte stream after the frames encoded before it, straight from the file to
//! the transport where the transport can, else read into the write buffer.
//!
//! Why here: a large file copied through user space costs a read into a
//! buffer and a write out of it per chunk, where `splice` (io_uring) or
//! `sendfile` (compat) move the page-cache pages to the socket without the
//! bytes ever reaching user space ([`AsyncWrite::send_file`]). A transport
//! that cannot (TLS must encrypt the bytes; pipes, in-memory test transports)
//! answers `Unsupported`, and the range is read in chunks ([`FileChunks`])
//! into the write buffer and written like encoded frames. The same
//! "try, fall back" shape as the pooled read path (`pooled.rs`).
//!
//! Either way the codec never sees the bytes: it frames and counts the range
//! (an HTTP body of `content-length` bytes needs no framing around them), and
//! the caller — the pipelined dispatcher — sends it between two parts.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use ringo_reactor::buf::BufResult;
use ringo_reactor::fs::File;
use ringo_reactor::io::{AsyncWrite, SendFile};

/// Most bytes one chunk of [`FileChunks`] reads (see there).
const FILE_CHUNK: usize = 128 * 1024;

/// `len` bytes of a file from `offset`: a body written from the file rather
/// than from memory.
///
/// Cheap to clone (the file is shared), so a dispatcher can take the range
/// out of the part that carried it before encoding the part.
#[derive(Clone)]
pub struct FileRange {
    file: Rc<File>,
    offset: u64,
    len: u64,
}

impl FileRange {
    /// The `len` bytes of `file` from `offset`. The file's cursor is neither
    /// used nor moved.
    pub fn new(file: File, offset: u64, len: u64) -> FileRange {
        FileRange {
            file: Rc::new(file),
            offset,
            len,
        }
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the range starts in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes the range holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for a range of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The range's bytes as a stream of chunks read from the file.
    pub fn chunks(self) -> FileChunks {
        FileChunks {
            file: self.file,
            offset: self.offset,
            remaining: self.len,
            reading: None,
        }
    }
}

impl fmt::Debug for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRange")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A read of one chunk, owning its file handle and buffer.
type Read = Pin<Box<dyn Future<Output = BufResult<usize, Vec<u8>>>>>;

/// The bytes of a [`FileRange`], at most 128 KiB per item (large enough that
/// a big file costs few reads, small enough to bound what a stalled peer
/// holds), read as the stream is polled: a consumer that stops polling holds
/// at most one chunk, however large the range.
///
/// A file that ends before the range does (truncated while being read)
/// fails the stream with [`io::ErrorKind::UnexpectedEof`]; nothing follows
/// an error.
pub struct FileChunks {
    file: Rc<File>,
    offset: u64,
    remaining: u64,
    reading: Option<Read>,
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let reading = this.reading.get_or_insert_with(|| {
            let want = usize::try_from(this.remaining)
                .unwrap_or(usize::MAX)
                .min(FILE_CHUNK);
            let (file, offset) = (this.file.clone(), this.offset);
            Box::pin(async move { file.read_at(Vec::with_capacity(want), offset).await })
        });
        let (result, mut buf) = std::task::ready!(reading.as_mut().poll(cx));
        this.reading = None;
        let item = match result {
            Ok(0) => {
                let message = format!(
                    "the file ended {} bytes before the range: truncated while being read",
                    this.remaining
                );
                this.remaining = 0;
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, message))
            }
            Ok(n) => {
                buf.truncate(n);
                this.offset += n as u64;
                this.remaining -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.poll_next(cx),
            Err(e) => {
                this.remaining = 0;
                Err(e)
            }
        };
        Poll::Ready(Some(item))
    }
}

impl fmt::Debug for FileChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileChunks")
            .field("offset", &self.offset)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// A file range being written; kept by the write engine between polls, so a
/// caller that stops polling loses nothing.
pub(crate) enum FileSend {
    /// The transport sends it (zero-copy) once the bytes encoded before it
    /// are written; `len` is what it must send.
    Transport { send: SendFile, len: u64 },
    /// The transport cannot: chunks are read into the write buffer.
    Copy(FileChunks),
}

impl FileSend {
    /// Starts writing `range` to `io`: through its file send where it has
    /// one, else by copying.
    pub(crate) fn start<T: AsyncWrite>(io: &T, range: FileRange) -> io::Result<FileSend> {
        match io.send_file(range.file(), range.offset(), range.len()) {
            Ok(send) => Ok(FileSend::Transport {
                send,
                len: range.len(),
            }),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(FileSend::Copy(range.chunks())),
            Err(e) => Err(e),
        }
    }
}

/// The error of a transport's file send that sent `sent` of `len` bytes: the
/// file ended first.
pub(crate) fn ended_early(sent: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the file ended after {sent} of {len} bytes: truncated while being sent"),
    )
}

impl fmt::Debug for FileSend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSend::Transport { len, .. } => {
                f.debug_struct("Transport").field("len", len).finish()
            }
            FileSend::Copy(chunks) => f.debug_tuple("Copy").field(chunks).finish(),
        }
    }
}
