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
