//! A response body read from a file range, chunk by chunk, as the client takes
//! it: the server pulls the next chunk only once the previous one is written,
//! so a client that stops reading holds at most one chunk plus the server's
//! write backlog, however large the file.
//!
//! A file that ends before the promised length (truncated while being served)
//! makes the stream fail: the server then closes the connection with the body
//! cut short — no padding, no garbage — and the client sees a short body.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use ringo_reactor::buf::BufResult;
use ringo_reactor::fs::File;

use crate::{Error, ErrorKind};

/// Most bytes one chunk reads: large enough that a big file costs few reads,
/// small enough to bound what a stalled client holds.
pub(crate) const CHUNK: usize = 128 * 1024;

type Read = Pin<Box<dyn Future<Output = BufResult<usize, Vec<u8>>>>>;

/// The chunks of `len` bytes of a file from `offset`.
pub(crate) struct FileChunks {
    file: Rc<File>,
    offset: u64,
    remaining: u64,
    reading: Option<Read>,
}

impl FileChunks {
    pub(crate) fn new(file: File, offset: u64, len: u64) -> FileChunks {
        FileChunks {
            file: Rc::new(file),
            offset,
            remaining: len,
            reading: None,
        }
    }
}

impl Stream for FileChunks {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let reading = this.reading.get_or_insert_with(|| {
            let want = usize::try_from(this.remaining)
                .unwrap_or(usize::MAX)
                .min(CHUNK);
            let (file, offset) = (this.file.clone(), this.offset);
            Box::pin(async move { file.read_at(Vec::with_capacity(want), offset).await })
        });
        let (result, mut buf) = std::task::ready!(reading.as_mut().poll(cx));
        this.reading = None;
        let item = match result {
            Ok(0) => {
                this.remaining = 0;
                Err(Error::with_source(
                    ErrorKind::Inner,
                    "the file ended before its length: truncated while being served",
                ))
            }
            Ok(n) => {
                buf.truncate(n);
                this.offset += n as u64;
                this.remaining -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => {
                this.remaining = 0;
                Err(Error::with_source(ErrorKind::Inner, e))
            }
        };
        Poll::Ready(Some(item))
    }
}
