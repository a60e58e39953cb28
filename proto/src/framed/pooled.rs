//! The pooled read path of the framed engine ([`Framed::pooled`](super::Framed::pooled)):
//! the transport receives into the runtime's buffer pool, and frames are
//! decoded from the received buffers with as little copying as the codec
//! allows.
//!
//! Why: an owned read keeps a read buffer with room for the next read while
//! the connection waits, and on io_uring costs a submission per read. A pooled
//! receive holds no buffer while waiting (one multishot receive stays armed),
//! but hands over bytes in buffers the framed transport does not own. So:
//!
//! - While the read buffer is empty (a frame boundary), frames are decoded
//!   straight from the received buffer with [`Decoder::decode_slice`]; a codec
//!   that implements it copies nothing into the read buffer.
//! - What is left — the start of a frame that straddles buffers, or anything a
//!   codec cannot decode from a slice — is copied into the read buffer and
//!   decoded as usual. A straddling frame's rest is copied in steps that double
//!   what is buffered, so little past the frame's end is copied; once the frame
//!   is decoded, the bytes copied past it are given back to the received
//!   buffer, to be decoded from there.
//!
//! The received buffer being decoded is kept here between calls, like the
//! read buffer, so a caller that gives up loses nothing; it goes back to the
//! pool once decoded or copied. The read buffer's cap applies unchanged: a
//! frame is decoded from a slice only if it fits in the cap.

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;
use ringo_reactor::buf::PooledBuf;
use ringo_reactor::io::AsyncRead;

use crate::codec::Decoder;

/// Least copied at a time into a read buffer that holds the start of a frame.
/// Small, so little past a short frame's end is copied (and given back).
const STRADDLE_STEP: usize = 512;

/// A received buffer and how far into it decoding (or copying) has gone.
struct Held {
    buf: PooledBuf,
    pos: usize,
}

impl Held {
    fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

/// The pooled path's state; see the [module docs](self).
pub(crate) struct Pooled {
    held: Option<Held>,
    /// How many bytes at the end of the read buffer were copied from `held`
    /// in steps for a straddling frame: those may be given back.
    copied: usize,
}

impl Pooled {
    pub(crate) fn new() -> Pooled {
        Pooled {
            held: None,
            copied: 0,
        }
    }

    /// The state after a receive that brought `buf`.
    pub(crate) fn holding(buf: PooledBuf) -> Pooled {
        Pooled {
            held: Some(Held { buf, pos: 0 }),
            copied: 0,
        }
    }

    /// Bytes received and neither decoded nor copied into the read buffer.
    pub(crate) fn held(&self) -> usize {
        self.held.as_ref().map_or(0, |held| held.rest().len())
    }

    /// Whether a received buffer still has bytes to decode or copy.
    pub(crate) fn has_held(&self) -> bool {
        self.held() > 0
    }

    /// Decodes a frame straight from the received buffer (call only with the
    /// read buffer empty). `Ok(None)`: no whole frame within `max_buffer`
    /// bytes at its front, or nothing held.
    pub(crate) fn decode_front<D: Decoder>(
        &mut self,
        codec: &mut D,
        max_buffer: usize,
    ) -> Result<Option<D::Item>, D::Error> {
        let Some(held) = &mut self.held else {
            return Ok(None);
        };
        let rest = held.rest();
        let window = rest.get(..rest.len().min(max_buffer)).unwrap_or_default();
        let mut src = window;
        let item = codec.decode_slice(&mut src)?;
        if item.is_some() {
            held.pos += window.len() - src.len();
            self.release_if_done();
        }
        Ok(item)
    }

    /// Copies the next bytes of the received buffer to the end of `buf`,
    /// never past `max_buffer` bytes in all: everything left when `buf` is
    /// empty (the codec declined to decode it from the slice), else — `buf`
    /// holds the start of a frame — a step that doubles what `buf` holds.
    pub(crate) fn copy_into(&mut self, buf: &mut BytesMut, max_buffer: usize) {
        let Some(held) = &mut self.held else {
            return;
        };
        let rest = held.rest();
        let straddling = !buf.is_empty();
        let step = if straddling {
            buf.len().max(STRADDLE_STEP)
        } else {
            rest.len()
        };
        let n = rest
            .len()
            .min(step)
            .min(max_buffer.saturating_sub(buf.len()));
        buf.extend_from_slice(rest.get(..n).unwrap_or_default());
        held.pos += n;
        // Only steps for a straddling frame may be given back: bytes the codec
        // declined at a frame boundary are copied once, never again.
        self.copied = if straddling { self.copied + n } else { 0 };
    }

    /// After a frame was decoded from `buf`: when all that is left of `buf`
    /// was copied in steps for that frame (it ended inside them), those bytes
    /// go back to the received buffer, to be decoded from there.
    pub(crate) fn give_back(&mut self, buf: &mut BytesMut) {
        if let Some(held) = &mut self.held {
            if !buf.is_empty() && buf.len() <= self.copied {
                held.pos -= buf.len();
                buf.clear();
            }
        }
        self.copied = self.copied.min(buf.len());
        self.release_if_done();
    }

    /// Drops the received buffer, so it goes back to the pool, once every
    /// byte of it is decoded or copied for good.
    fn release_if_done(&mut self) {
        if self.copied == 0 && !self.has_held() {
            self.held = None;
        }
    }

    /// Moves everything held into `buf` (no cap: the caller takes the bytes
    /// over).
    pub(crate) fn drain_into(&mut self, buf: &mut BytesMut) {
        if let Some(held) = self.held.take() {
            buf.extend_from_slice(held.rest());
        }
        self.copied = 0;
    }

    /// Receives the next buffer (call only when nothing is held). The last
    /// one goes back to the pool first, so none is held while waiting.
    /// `Ok(false)` at end of stream; [`io::ErrorKind::Unsupported`] from a
    /// transport without a pooled receive.
    pub(crate) fn poll_receive<T: AsyncRead>(
        &mut self,
        io: &T,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        self.held = None;
        self.copied = 0;
        let received = std::task::ready!(io.poll_recv_pooled(cx))?;
        Poll::Ready(Ok(received
            .map(|buf| self.held = Some(Held { buf, pos: 0 }))
            .is_some()))
    }
}

impl fmt::Debug for Pooled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("held", &self.held())
            .finish()
    }
}
