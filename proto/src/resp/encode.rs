//! The RESP encoder: [`Frame`]s to bytes, in the exact forms of the protocol spec
//! (<https://redis.io/docs/latest/develop/reference/protocol-spec/>).
//!
//! RESP2 types use their RESP2 encoding (null is `$-1\r\n`), so RESP2 clients
//! can read every reply built from them; the RESP3-only types use RESP3's.
//! Integers and lengths are formatted by hand, without `fmt`'s machinery, since
//! every frame has at least one.

use std::io;

use bytes::{BufMut, BytesMut};

use super::{Error, ErrorKind, Frame, RespCodec};
use crate::Encoder;

/// Most bytes a decimal `i64` or `usize` takes: 19 digits and a sign, or 20
/// digits.
const MAX_DECIMAL_LEN: usize = 20;

impl Encoder<Frame> for RespCodec {
    type Error = Error;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode(&item, dst)
    }
}

impl Encoder<&Frame> for RespCodec {
    type Error = Error;

    /// Appends `item` to `dst`. On error (a simple string or error containing CR
    /// or LF, anywhere in the frame) `dst` is left as it was.
    ///
    /// Encoding recurses once per nesting level: frames built by the caller
    /// are trusted not to nest absurdly deep, as decoded ones cannot.
    fn encode(&mut self, item: &Frame, dst: &mut BytesMut) -> Result<(), Error> {
        let start = dst.len();
        let encoded = encode_frame(item, dst);
        if encoded.is_err() {
            dst.truncate(start);
        }
        encoded
    }
}

fn encode_frame(frame: &Frame, dst: &mut BytesMut) -> Result<(), Error> {
    match frame {
        Frame::Simple(text) => put_line(dst, b'+', text)?,
        Frame::Error(text) => put_line(dst, b'-', text)?,
        Frame::BigNumber(digits) => put_line(dst, b'(', digits)?,
        Frame::Integer(value) => {
            dst.reserve(1 + MAX_DECIMAL_LEN + 2);
            dst.put_u8(b':');
            put_decimal(dst, value.unsigned_abs(), *value < 0);
            dst.put_slice(b"\r\n");
        }
        Frame::Bulk(data) => put_bulk(dst, b'$', data),
        Frame::BulkError(data) => put_bulk(dst, b'!', data),
        Frame::Null => dst.put_slice(b"$-1\r\n"),
        Frame::Boolean(true) => dst.put_slice(b"#t\r\n"),
        Frame::Boolean(false) => dst.put_slice(b"#f\r\n"),
        Frame::Double(value) => put_double(dst, *value)?,
        Frame::Verbatim { format, text } => {
            put_header(dst, b'=', format.len() + 1 + text.len());
            dst.reserve(format.len() + 1 + text.len() + 2);
            dst.put_slice(format);
            dst.put_u8(b':');
            dst.put_slice(text);
            dst.put_slice(b"\r\n");
        }
        Frame::Array(items) => put_aggregate(dst, b'*', items)?,
        Frame::Set(items) => put_aggregate(dst, b'~', items)?,
        Frame::Push(items) => put_aggregate(dst, b'>', items)?,
        Frame::Map(entries) => {
            put_header(dst, b'%', entries.len());
            for (key, value) in entries {
                encode_frame(key, dst)?;
                encode_frame(value, dst)?;
            }
        }
    }
    Ok(())
}

/// `<type><text>\r\n`, refusing text that would end the line early.
fn put_line(dst: &mut BytesMut, type_byte: u8, text: &[u8]) -> Result<(), Error> {
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(ErrorKind::LineContainsNewline.into());
    }
    dst.reserve(1 + text.len() + 2);
    dst.put_u8(type_byte);
    dst.put_slice(text);
    dst.put_slice(b"\r\n");
    Ok(())
}

/// `<type><len>\r\n<data>\r\n`.
fn put_bulk(dst: &mut BytesMut, type_byte: u8, data: &[u8]) {
    dst.reserve(1 + MAX_DECIMAL_LEN + 2 + data.len() + 2);
    put_header(dst, type_byte, data.len());
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// `<type><len>\r\n` then each element.
fn put_aggregate(dst: &mut BytesMut, type_byte: u8, items: &[Frame]) -> Result<(), Error> {
    put_header(dst, type_byte, items.len());
    items.iter().try_for_each(|item| encode_frame(item, dst))
}

/// `<type><len>\r\n`.
fn put_header(dst: &mut BytesMut, type_byte: u8, len: usize) {
    dst.reserve(1 + MAX_DECIMAL_LEN + 2);
    dst.put_u8(type_byte);
    // usize is at most 64 bits on every target Rust supports.
    put_decimal(dst, len as u64, false);
    dst.put_slice(b"\r\n");
}

/// The decimal digits of `magnitude`, after a `-` if `negative`.
fn put_decimal(dst: &mut BytesMut, mut magnitude: u64, negative: bool) {
    let mut digits = [0u8; MAX_DECIMAL_LEN];
    let mut start = digits.len();
    // Fill from the end; u64::MAX has 20 digits, so `start` never underflows.
    for slot in digits.iter_mut().rev() {
        // `magnitude % 10` is below 10, so the cast keeps it.
        *slot = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        start -= 1;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        dst.put_u8(b'-');
    }
    dst.put_slice(digits.get(start..).unwrap_or_default());
}

/// `,<value>\r\n`. Finite values use Rust's shortest round-trip form (`1.5`,
/// `1e300`), which fits the spec's grammar; the others are the spec's `inf`,
/// `-inf` and `nan`.
fn put_double(dst: &mut BytesMut, value: f64) -> Result<(), Error> {
    use std::fmt::Write;

    dst.put_u8(b',');
    if value.is_nan() {
        dst.put_slice(b"nan");
    } else if value == f64::INFINITY {
        dst.put_slice(b"inf");
    } else if value == f64::NEG_INFINITY {
        dst.put_slice(b"-inf");
    } else {
        // `BytesMut`'s `write_str` fails only if its length would overflow usize.
        write!(dst, "{value:?}").map_err(|_| io::Error::other("double does not fit the buffer"))?;
    }
    dst.put_slice(b"\r\n");
    Ok(())
}
