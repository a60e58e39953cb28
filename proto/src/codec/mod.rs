//! Codecs: the conversion between a byte stream and a stream of frames.
//!
//! A [`Decoder`] turns bytes read from a transport into frames; an [`Encoder`]
//! turns frames into bytes to write. The shape is the one Rust users know from
//! tokio-util, so a codec written for ringo reads like one written for tokio.
//!
//! # The decoder contract
//!
//! [`Decoder::decode`] is called with everything read so far that no earlier call
//! consumed:
//!
//! - `Ok(Some(frame))`: one frame was decoded, and its bytes were removed from the
//!   front of the buffer. It is called again at once, since more frames may wait.
//! - `Ok(None)`: the buffer holds no whole frame yet. The transport reads more and
//!   calls again. A decoder may keep state between calls to avoid rescanning.
//! - `Err(e)`: the stream is corrupt (or over a limit) and cannot be resynchronised;
//!   the transport stops reading and reports the error. A malformed *message* that
//!   leaves the stream in sync may instead be returned as a frame.
//!
//! At end of stream, [`Decoder::decode_eof`] is called until it returns `Ok(None)`;
//! bytes left over after that are an error (the peer closed mid-frame).
//!
//! A codec may also implement [`Decoder::decode_slice`], which a pooled
//! [`Framed`](crate::Framed) uses to decode frames straight from the buffers
//! the transport received into, without copying them into its read buffer.
//!
//! Every decoder in ringo has finite default limits: a peer can never make a
//! decoder buffer without bound.

use std::io;

use bytes::BytesMut;

/// Decodes frames from a byte buffer. See the [module docs](self) for the contract.
pub trait Decoder {
    /// The frame this decoder produces.
    type Item;
    /// The error this decoder reports; I/O errors of the transport convert into it.
    type Error: From<io::Error>;

    /// Decodes one frame from the front of `src`, if a whole one is there.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error>;

    /// Decodes one frame straight from the front of `src`, bytes received
    /// into a pooled buffer that the transport has not copied into its read
    /// buffer, and advances `src` past the frame. A pooled
    /// [`Framed`](crate::Framed) calls it only when its read buffer is empty,
    /// so a frame that lies whole inside one received buffer is never copied
    /// into the read buffer. For a codec that removes bytes from the read
    /// buffer only with whole frames, an empty buffer is a frame boundary; one
    /// that removes a frame's first bytes early (keeping state) must answer
    /// `Ok(None)` until that frame is done.
    ///
    /// `Ok(None)` means `src` has no whole frame at its front: the transport
    /// then copies the rest of `src` into its read buffer and goes on with
    /// [`decode`](Decoder::decode). So this method must leave no state behind
    /// when it answers `Ok(None)`, and must decode exactly what `decode` would
    /// from a read buffer holding the same bytes. An error ends the stream, as
    /// one from `decode` does.
    ///
    /// The default answers `Ok(None)`, which is correct for every codec and
    /// copies every byte. It is worth implementing where a frame is built by
    /// copying its bytes anyway (into a `String`, say), not where `decode`
    /// hands out a zero-copy part of the read buffer (`BytesMut::split_to`).
    fn decode_slice(&mut self, src: &mut &[u8]) -> Result<Option<Self::Item>, Self::Error> {
        let _ = src;
        Ok(None)
    }

    /// True while the decoder takes no more bytes for now (it handed out a
    /// frame still being filled, whose consumer has not caught up): the
    /// transport then reads no more, and its poll answers `Pending` with no
    /// read in flight. The dispatcher must arrange its own wake-up (see
    /// [`Protocol::hold`](crate::pipeline::Protocol::hold)). The default never holds.
    #[inline]
    fn holds_reads(&self) -> bool {
        false
    }

    /// Decodes one frame at end of stream.
    ///
    /// The default calls [`decode`](Decoder::decode) and reports bytes that form no
    /// whole frame as [`io::ErrorKind::UnexpectedEof`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "stream closed with {} bytes of an unfinished frame",
                    src.len()
                ),
            )
            .into()),
        }
    }
}

/// Encodes frames of type `Item` into a byte buffer.
pub trait Encoder<Item> {
    /// The error this encoder reports; I/O errors of the transport convert into it.
    type Error: From<io::Error>;

    /// Appends the encoding of `item` to `dst`.
    fn encode(&mut self, item: Item, dst: &mut BytesMut) -> Result<(), Self::Error>;
}

pub mod bytes_codec;
pub mod length_delimited;
pub mod lines;

pub use bytes_codec::BytesCodec;
pub use length_delimited::{LengthDelimitedCodec, LengthDelimitedCodecError};
pub use lines::{LinesCodec, LinesCodecError};
