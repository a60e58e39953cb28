//! Raw bytes, unframed: [`BytesCodec`].
//!
//! Some users of a framed transport want no framing at all: a proxy, or a protocol
//! parsed elsewhere. This codec lets them keep the transport's buffering and owned
//! buffer I/O while seeing the bytes as they arrive.

use std::io;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Decoder, Encoder};

/// Passes bytes through unchanged: decoding yields everything buffered, encoding
/// appends the item.
///
/// The decoder has no limit of its own because it never holds bytes back: each call
/// hands over the whole buffer, so what is buffered is bounded by the transport's
/// maximum read buffer. Decoded items are split off the read buffer without copying.
///
/// # Example
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ringo_proto::codec::{BytesCodec, Decoder, Encoder};
///
/// let mut codec = BytesCodec::new();
/// let mut buf = BytesMut::from("abc");
/// assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(&b"abc"[..]));
/// assert_eq!(codec.decode(&mut buf).unwrap(), None);
///
/// codec.encode(Bytes::from_static(b"xyz"), &mut buf).unwrap();
/// assert_eq!(&buf[..], b"xyz");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BytesCodec {
    // Keeps construction to `new` and `default`, so a field can be added later.
    _private: (),
}

impl BytesCodec {
    /// Creates a codec.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Decoder for BytesCodec {
    type Item = BytesMut;
    type Error = io::Error;

    /// Returns everything buffered, or `None` if the buffer is empty.
    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        if src.is_empty() {
            return Ok(None);
        }
        Ok(Some(src.split()))
    }
}

impl Encoder<Bytes> for BytesCodec {
    type Error = io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Encoder<&[u8]> for BytesCodec {
    type Error = io::Error;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        dst.put_slice(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order, decoding after each one and at end of stream, and
    /// returns the concatenated output.
    fn decode_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut codec = BytesCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(bytes) = codec.decode(&mut buf).unwrap() {
                out.extend_from_slice(&bytes);
            }
        }
        while let Some(bytes) = codec.decode_eof(&mut buf).unwrap() {
            out.extend_from_slice(&bytes);
        }
        out
    }

    #[test]
    fn bytes_pass_through_however_the_input_is_split() {
        let cases: &[(&str, &[u8])] = &[
            ("empty", b""),
            ("one byte", b"a"),
            ("binary", b"\x00\xff\r\n\x00"),
        ];
        for (name, input) in cases {
            assert_eq!(decode_chunks(&[input]), *input, "{name}: whole");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(decode_chunks(&bytes), *input, "{name}: byte at a time");
            for at in 0..=input.len() {
                let (head, tail) = input.split_at(at);
                assert_eq!(
                    decode_chunks(&[head, tail]),
                    *input,
                    "{name}: split at {at}"
                );
            }
        }
    }

    #[test]
    fn decode_takes_the_whole_buffer_without_copying() {
        let mut buf = BytesMut::from("abc");
        let start = buf.as_ptr();
        let item = BytesCodec::new().decode(&mut buf).unwrap().unwrap();
        assert_eq!(item.as_ptr(), start);
        assert!(buf.is_empty());
    }

    #[test]
    fn decode_eof_with_nothing_left_ends_cleanly() {
        let mut codec = BytesCodec::new();
        let mut buf = BytesMut::from("tail");
        assert_eq!(
            codec.decode_eof(&mut buf).unwrap().as_deref(),
            Some(&b"tail"[..])
        );
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn encode_appends_bytes_and_slices() {
        let mut codec = BytesCodec::new();
        let mut buf = BytesMut::from("a");
        codec.encode(Bytes::from_static(b"bc"), &mut buf).unwrap();
        codec.encode(&b"de"[..], &mut buf).unwrap();
        codec.encode(&b""[..], &mut buf).unwrap();
        assert_eq!(&buf[..], b"abcde");
    }
}
