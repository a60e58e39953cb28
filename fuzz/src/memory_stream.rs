//! [`MemoryStream`]: a connection whose peer is a list of reads decided in
//! advance, for running whole protocol engines over fuzzed bytes.
//!
//! The HTTP server's request-gathering decoder is private to
//! `serve_connection`; fuzzing it through that public entry point over this
//! stream tests the decoder the server really uses without widening ringo's
//! API. Every operation completes at once, so a connection served over it
//! runs to its end in one `block_on` with no timer ever firing.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{ready, Ready};
use std::io;
use std::rc::Rc;

use ringo_reactor::buf::{BufResult, IoBuf, IoBufMut};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::runtime::{DriverKind, Runtime};

thread_local! {
    /// One runtime for all runs: a memory stream needs no driver, only an
    /// executor, and building one per input would cost more than the run.
    static RUNTIME: Runtime = Runtime::builder()
        .driver(DriverKind::Compat)
        .build()
        .expect("a compat runtime builds");
}

/// Runs `future` (a connection served over [`MemoryStream`]s) to its end on
/// this thread's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// One side of a connection: reads return the given chunks in order (each
/// cut to the reader's buffer if larger), then end of stream; writes are
/// kept. Clones share the stream, so a test keeps one to look at what the
/// other wrote.
#[derive(Debug, Default, Clone)]
pub struct MemoryStream {
    shared: Rc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    reads: RefCell<VecDeque<Vec<u8>>>,
    written: RefCell<Vec<u8>>,
    shut_down: Cell<bool>,
}

impl MemoryStream {
    /// A stream whose reads return `chunks`, one per read, then end of stream.
    pub fn new<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> MemoryStream {
        let reads = chunks
            .into_iter()
            .filter(|chunk| !chunk.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let shared = Shared {
            reads: RefCell::new(reads),
            ..Shared::default()
        };
        MemoryStream {
            shared: Rc::new(shared),
        }
    }

    /// Everything written so far.
    pub fn written(&self) -> Vec<u8> {
        self.shared.written.borrow().clone()
    }

    /// Bytes offered to readers and not read.
    pub fn unread(&self) -> usize {
        self.shared.reads.borrow().iter().map(Vec::len).sum()
    }

    /// True once the writer shut its half down.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shut_down.get()
    }

    fn fill<B: IoBufMut>(&self, buf: &mut B) -> usize {
        let mut reads = self.shared.reads.borrow_mut();
        let Some(chunk) = reads.front_mut() else {
            return 0;
        };
        let n = chunk.len().min(buf.bytes_total());
        // SAFETY: `stable_mut_ptr` is valid for writes of `bytes_total()`
        // bytes (IoBufMut's contract) and `n` is at most that; `chunk` is our
        // own Vec, so the regions cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), buf.stable_mut_ptr(), n) };
        // SAFETY: the first `n <= bytes_total()` bytes were just written.
        unsafe { buf.set_init(n) };
        chunk.drain(..n);
        if chunk.is_empty() {
            reads.pop_front();
        }
        n
    }

    fn keep<B: IoBuf>(&self, buf: &B) -> usize {
        let n = buf.bytes_init();
        // SAFETY: IoBuf's contract: `stable_ptr` points to `bytes_init()`
        // initialised bytes that nothing writes while `buf` lives.
        let bytes = unsafe { std::slice::from_raw_parts(buf.stable_ptr(), n) };
        self.shared.written.borrow_mut().extend_from_slice(bytes);
        n
    }
}

impl AsyncRead for MemoryStream {
    type Read<B: IoBufMut> = Ready<BufResult<usize, B>>;

    fn read<B: IoBufMut>(&self, mut buf: B) -> Self::Read<B> {
        let n = self.fill(&mut buf);
        ready((Ok(n), buf))
    }
}

impl AsyncWrite for MemoryStream {
    type Write<B: IoBuf> = Ready<BufResult<usize, B>>;

    fn write<B: IoBuf>(&self, buf: B) -> Self::Write<B> {
        if self.is_shut_down() {
            return ready((Err(io::ErrorKind::BrokenPipe.into()), buf));
        }
        let n = self.keep(&buf);
        ready((Ok(n), buf))
    }

    async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if self.is_shut_down() {
            return (Err(io::ErrorKind::BrokenPipe.into()), bufs);
        }
        let n = bufs.iter().map(|buf| self.keep(buf)).sum();
        (Ok(n), bufs)
    }

    async fn shutdown(&self) -> io::Result<()> {
        self.shared.shut_down.set(true);
        Ok(())
    }
}
