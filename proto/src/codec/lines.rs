//! Newline-delimited UTF-8 text: [`LinesCodec`].
//!
//! Line protocols (text commands, JSON lines, logs) frame each message as the text
//! before a `\n`. The codec also drops a `\r` just before the `\n`, so peers that end
//! lines with `\r\n` work unchanged.
//!
//! Unlike tokio-util's `LinesCodec`, whose `new()` accepts lines of any length,
//! [`LinesCodec::new`] caps a line at 64 KiB: with no cap, a peer
//! that never sends `\n` makes the decoder buffer everything it sends, without bound.

use std::{error, fmt, io, str};

use bytes::{BufMut, BytesMut};

use super::{Decoder, Encoder};

/// The longest line [`LinesCodec::new`] accepts, in bytes of text; documented,
/// with why, there.
const DEFAULT_MAX_LINE_LENGTH: usize = 64 * 1024;

/// Decodes `\n`- or `\r\n`-terminated UTF-8 lines into `String`s, and encodes strings
/// as lines ended by `\n`.
///
/// The decoder keeps the offset it has already scanned, so a long line arriving in
/// many reads is scanned once in all, not once per read. It also decodes lines
/// straight from received buffers ([`Decoder::decode_slice`]), so on a pooled
/// [`Framed`](crate::Framed) a line is copied once, into its `String`.
///
/// # Errors and the stream
///
/// A line over the limit is an error that ends the stream: the codec cannot tell
/// where the next line starts without buffering the long one, which is what the
/// limit forbids. The line stays in the buffer, and a further call returns the
/// same error. A line that is not valid UTF-8 is an error too; it has been removed
/// from the buffer when the error is returned, so a caller driving the codec by
/// hand may decode on, but a transport closes the stream as for any error.
///
/// # Example
///
/// ```
/// use bytes::BytesMut;
/// use ringo_proto::codec::{Decoder, Encoder, LinesCodec};
///
/// let mut codec = LinesCodec::new();
/// let mut buf = BytesMut::from("hello\r\nwor");
/// assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some("hello"));
/// assert_eq!(codec.decode(&mut buf).unwrap(), None);
/// buf.extend_from_slice(b"ld\n");
/// assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some("world"));
///
/// codec.encode("ping", &mut buf).unwrap();
/// assert_eq!(&buf[..], b"ping\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinesCodec {
    /// Where the next scan for `\n` starts: the bytes of the buffer before this index
    /// hold no `\n`. Zero whenever the buffer starts with a new line.
    next_index: usize,
    /// The longest line accepted, in bytes of text without its terminator.
    max_length: usize,
}

impl LinesCodec {
    /// Creates a codec that accepts lines of up to 64 KiB of text, not counting
    /// the `\n` or `\r\n` that ends each.
    ///
    /// A longer line fails with [`LinesCodecError::MaxLineLengthExceeded`] as
    /// soon as its first byte past the limit is buffered, whether or not its end
    /// has arrived, so no more than the limit plus two bytes of a line is ever
    /// scanned. 64 KiB is far above any line a text protocol sends in practice
    /// (SMTP caps a command line at 512 bytes and a text line at 1000, RFC 5321
    /// §4.5.3.1), yet keeps a connection's worst case small.
    pub fn new() -> Self {
        Self::with_max_length(DEFAULT_MAX_LINE_LENGTH)
    }

    /// Creates a codec that accepts lines of up to `max_length` bytes of text, not
    /// counting the `\n` or `\r\n` that ends each.
    pub fn with_max_length(max_length: usize) -> Self {
        Self {
            next_index: 0,
            max_length,
        }
    }

    /// Returns the longest line this codec accepts, in bytes without the terminator.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Turns a line's bytes, terminator removed, into a `String`.
    fn text(line: &[u8]) -> Result<String, LinesCodecError> {
        str::from_utf8(line)
            .map(str::to_owned)
            .map_err(LinesCodecError::InvalidUtf8)
    }
}

impl Default for LinesCodec {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns how many bytes of `bytes` are text when they are followed by `\n`: all of
/// them, less a final `\r`.
fn text_length(bytes: &[u8]) -> usize {
    match bytes.last() {
        Some(b'\r') => bytes.len() - 1,
        _ => bytes.len(),
    }
}

impl Decoder for LinesCodec {
    type Item = String;
    type Error = LinesCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        // A line within the limit has its `\n` at index `max_length + 1` at the latest
        // (text, then `\r`), so nothing past that window needs scanning.
        let end = src.len().min(self.max_length.saturating_add(2));
        if self.next_index > end {
            // The caller replaced the buffer rather than appending to it, against the
            // decoder contract: what was scanned is gone, so scan from the start.
            self.next_index = 0;
        }
        let start = self.next_index;
        let window = src.get(start..end).unwrap_or_default();
        let Some(newline) = window.iter().position(|&b| b == b'\n') else {
            self.next_index = end;
            // Everything buffered is text so far, except a final `\r` that a `\n`
            // may yet follow.
            let seen = src.get(..end).map_or(0, text_length);
            if seen > self.max_length {
                return Err(LinesCodecError::MaxLineLengthExceeded {
                    limit: self.max_length,
                });
            }
            return Ok(None);
        };
        let newline = start + newline;
        let length = src.get(..newline).map_or(0, text_length);
        if length > self.max_length {
            return Err(LinesCodecError::MaxLineLengthExceeded {
                limit: self.max_length,
            });
        }
        self.next_index = 0;
        let line = src.split_to(newline + 1);
        Self::text(line.get(..length).unwrap_or_default()).map(Some)
    }

    /// Decodes a line as [`decode`](Decoder::decode) does, from the received
    /// bytes straight into its `String`. Without a `\n` in the window a line
    /// within the limit would fit, it answers `None` and leaves the limit to
    /// `decode`, which then sees the same bytes.
    fn decode_slice(&mut self, src: &mut &[u8]) -> Result<Option<String>, LinesCodecError> {
        let end = src.len().min(self.max_length.saturating_add(2));
        let Some(newline) = src
            .get(..end)
            .and_then(|w| w.iter().position(|&b| b == b'\n'))
        else {
            return Ok(None);
        };
        let length = src.get(..newline).map_or(0, text_length);
        if length > self.max_length {
            return Err(LinesCodecError::MaxLineLengthExceeded {
                limit: self.max_length,
            });
        }
        let (line, rest) = src.split_at(newline + 1);
        *src = rest;
        Self::text(line.get(..length).unwrap_or_default()).map(Some)
    }

    /// Decodes a line as [`decode`](Decoder::decode) does; at end of stream, the text
    /// after the last `\n` (less a final `\r`) is the last line.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        if let Some(line) = self.decode(src)? {
            return Ok(Some(line));
        }
        if src.is_empty() {
            return Ok(None);
        }
        // `decode` found no `\n` and no more than `max_length` bytes of text, so the
        // rest is one whole line within the limit.
        self.next_index = 0;
        let line = src.split();
        Self::text(line.get(..text_length(&line)).unwrap_or_default()).map(Some)
    }
}

/// Appends `line` and a `\n`.
///
/// A line containing `\n` is refused: the peer would read it as two lines and fall
/// out of step with the messages sent. A line ending in `\r` is refused too, since
/// the peer would drop that `\r` as part of a `\r\n` terminator. The line length is
/// not checked against [`LinesCodec::max_length`], which limits what this codec
/// accepts, not what the peer does.
impl<T: AsRef<str>> Encoder<T> for LinesCodec {
    type Error = LinesCodecError;

    fn encode(&mut self, line: T, dst: &mut BytesMut) -> Result<(), LinesCodecError> {
        let line = line.as_ref();
        if let Some(index) = line.find('\n') {
            return Err(LinesCodecError::NewlineInLine { index });
        }
        if line.ends_with('\r') {
            return Err(LinesCodecError::TrailingCarriageReturn);
        }
        dst.reserve(line.len() + 1);
        dst.put_slice(line.as_bytes());
        dst.put_u8(b'\n');
        Ok(())
    }
}

/// An error of [`LinesCodec`].
#[derive(Debug)]
#[non_exhaustive]
pub enum LinesCodecError {
    /// Decoding: a line has more bytes of text than the codec's limit. The stream
    /// cannot continue (see [`LinesCodec`]).
    MaxLineLengthExceeded {
        /// The codec's limit, in bytes of text per line.
        limit: usize,
    },
    /// Decoding: a line is not valid UTF-8. The line has been consumed.
    InvalidUtf8(str::Utf8Error),
    /// Encoding: the line contains a `\n`, which would split it in two.
    NewlineInLine {
        /// The byte index of the first `\n` in the line.
        index: usize,
    },
    /// Encoding: the line ends with `\r`, which the peer would drop.
    TrailingCarriageReturn,
    /// The transport failed.
    Io(io::Error),
}

impl fmt::Display for LinesCodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxLineLengthExceeded { limit } => write!(f, "line length over limit {limit}"),
            Self::InvalidUtf8(_) => f.write_str("line is not valid utf-8"),
            Self::NewlineInLine { index } => {
                write!(f, "line to encode has a newline at byte {index}")
            }
            Self::TrailingCarriageReturn => {
                f.write_str("line to encode ends with a carriage return")
            }
            Self::Io(_) => f.write_str("line stream i/o failed"),
        }
    }
}

impl error::Error for LinesCodecError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            Self::InvalidUtf8(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for LinesCodecError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order to a fresh codec with limit `max`, decoding after each
    /// chunk, then decodes at end of stream. Returns the lines and the first error.
    /// With `slices`, decodes as a pooled `Framed` does: straight from a chunk while
    /// nothing is buffered, copying only what `decode_slice` leaves.
    fn decode_chunks(max: usize, chunks: &[&[u8]], slices: bool) -> (Vec<String>, Option<String>) {
        let mut codec = LinesCodec::with_max_length(max);
        let mut buf = BytesMut::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            let mut rest = *chunk;
            while slices && buf.is_empty() {
                match codec.decode_slice(&mut rest) {
                    Ok(Some(line)) => lines.push(line),
                    Ok(None) => break,
                    Err(e) => return (lines, Some(e.to_string())),
                }
            }
            buf.extend_from_slice(rest);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(line)) => lines.push(line),
                    Ok(None) => break,
                    Err(e) => return (lines, Some(e.to_string())),
                }
            }
        }
        loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => return (lines, None),
                Err(e) => return (lines, Some(e.to_string())),
            }
        }
    }

    /// Decodes `input` whole, one byte at a time, and split in two at every index,
    /// asserting all give `expected`.
    fn assert_decodes(name: &str, max: usize, input: &[u8], expected: (&[&str], Option<&str>)) {
        let want = (
            expected.0.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            expected.1.map(str::to_owned),
        );
        for slices in [false, true] {
            let name = format!("{name} (from slices: {slices})");
            assert_eq!(decode_chunks(max, &[input], slices), want, "{name}: whole");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(
                decode_chunks(max, &bytes, slices),
                want,
                "{name}: byte at a time"
            );
            for at in 0..=input.len() {
                let (head, tail) = input.split_at(at);
                assert_eq!(
                    decode_chunks(max, &[head, tail], slices),
                    want,
                    "{name}: split at {at}"
                );
            }
        }
    }

    #[test]
    fn lines_decode_the_same_however_the_input_is_split() {
        let cases: &[(&str, &[u8], &[&str])] = &[
            ("empty input", b"", &[]),
            ("one line", b"hello\n", &["hello"]),
            ("crlf is stripped", b"hello\r\n", &["hello"]),
            ("empty lines", b"\n\r\n\n", &["", "", ""]),
            ("many lines", b"a\nbb\r\nccc\n", &["a", "bb", "ccc"]),
            ("lone cr inside a line is kept", b"a\rb\n", &["a\rb"]),
            ("cr cr lf strips one cr", b"a\r\r\n", &["a\r"]),
            ("utf-8 text", "héllo wörld\n".as_bytes(), &["héllo wörld"]),
            ("unterminated last line", b"a\nlast", &["a", "last"]),
            (
                "unterminated last line with cr",
                b"a\nlast\r",
                &["a", "last"],
            ),
            ("lone cr at eof is an empty line", b"\r", &[""]),
        ];
        for (name, input, lines) in cases {
            assert_decodes(name, 16, input, (lines, None));
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let cases: &[(&str, &[u8], &[&str], &str)] = &[
            (
                "invalid utf-8",
                b"ok\n\xff\xfe\n",
                &["ok"],
                "line is not valid utf-8",
            ),
            (
                "invalid utf-8 at eof",
                b"\xc3",
                &[],
                "line is not valid utf-8",
            ),
            (
                "truncated utf-8 before lf",
                b"\xc3\n",
                &[],
                "line is not valid utf-8",
            ),
            (
                "line over limit",
                b"abcde\n",
                &[],
                "line length over limit 4",
            ),
            (
                "line over limit with crlf",
                b"abcde\r\n",
                &[],
                "line length over limit 4",
            ),
            (
                "line over limit without end",
                b"abcdefghij",
                &[],
                "line length over limit 4",
            ),
            (
                "cr not before lf counts",
                b"abcd\rx\n",
                &[],
                "line length over limit 4",
            ),
            (
                "long line after a good one",
                b"ab\nabcdefgh\n",
                &["ab"],
                "line length over limit 4",
            ),
        ];
        for (name, input, lines, error) in cases {
            assert_decodes(name, 4, input, (lines, Some(error)));
        }
    }

    #[test]
    fn line_length_limit_holds_at_n_and_fails_at_n_plus_one() {
        type Case<'a> = (&'a str, usize, &'a [u8], (&'a [&'a str], Option<&'a str>));
        let over = Some("line length over limit 4");
        let cases: &[Case] = &[
            ("n with lf", 4, b"abcd\n", (&["abcd"], None)),
            ("n with crlf", 4, b"abcd\r\n", (&["abcd"], None)),
            ("n at eof", 4, b"abcd", (&["abcd"], None)),
            ("n with cr at eof", 4, b"abcd\r", (&["abcd"], None)),
            ("n plus one with lf", 4, b"abcde\n", (&[], over)),
            ("n plus one with crlf", 4, b"abcde\r\n", (&[], over)),
            ("n plus one at eof", 4, b"abcde", (&[], over)),
            (
                "zero limit takes empty lines",
                0,
                b"\n\r\n",
                (&["", ""], None),
            ),
            (
                "zero limit refuses one byte",
                0,
                b"a\n",
                (&[], Some("line length over limit 0")),
            ),
        ];
        for (name, max, input, expected) in cases {
            assert_decodes(name, *max, input, *expected);
        }
    }

    #[test]
    fn default_limit_is_64_kib() {
        let mut codec = LinesCodec::new();
        assert_eq!(codec.max_length(), DEFAULT_MAX_LINE_LENGTH);
        let mut buf = BytesMut::from(&[b'a'; DEFAULT_MAX_LINE_LENGTH][..]);
        buf.extend_from_slice(b"\n");
        let line = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(line.len(), DEFAULT_MAX_LINE_LENGTH);
        buf.extend_from_slice(&[b'a'; DEFAULT_MAX_LINE_LENGTH + 1]);
        let error = codec.decode(&mut buf).unwrap_err();
        assert_eq!(error.to_string(), "line length over limit 65536");
    }

    #[test]
    fn over_limit_error_repeats_and_keeps_the_buffer() {
        let mut codec = LinesCodec::with_max_length(2);
        let mut buf = BytesMut::from("abc\n");
        for _ in 0..2 {
            let error = codec.decode(&mut buf).unwrap_err();
            assert!(matches!(
                error,
                LinesCodecError::MaxLineLengthExceeded { limit: 2 }
            ));
        }
        assert_eq!(&buf[..], b"abc\n");
    }

    #[test]
    fn invalid_utf8_line_is_consumed_so_the_next_line_decodes() {
        let mut codec = LinesCodec::new();
        let mut buf = BytesMut::from(&b"\xff\nok\n"[..]);
        let error = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(error, LinesCodecError::InvalidUtf8(_)));
        assert!(error::Error::source(&error).is_some());
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some("ok"));
    }

    #[test]
    fn a_long_partial_line_is_not_rescanned() {
        let mut codec = LinesCodec::new();
        let mut buf = BytesMut::new();
        for _ in 0..100 {
            buf.extend_from_slice(b"0123456789");
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
            assert_eq!(codec.next_index, buf.len());
        }
        buf.extend_from_slice(b"\nnext");
        assert_eq!(codec.decode(&mut buf).unwrap().map(|l| l.len()), Some(1000));
        assert_eq!(codec.next_index, 0);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(codec.next_index, 4);
    }

    #[test]
    fn a_buffer_cleared_by_the_caller_does_not_confuse_the_scan_offset() {
        let mut codec = LinesCodec::new();
        let mut buf = BytesMut::from("partial");
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.clear();
        buf.extend_from_slice(b"x\n");
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn encoded_lines_decode_to_the_same_strings() {
        let lines = ["", "hello", "a\rb", "héllo", "tab\tand space "];
        let mut codec = LinesCodec::new();
        let mut buf = BytesMut::new();
        for line in lines {
            codec.encode(line, &mut buf).unwrap();
        }
        codec.encode(String::from("owned"), &mut buf).unwrap();
        assert_eq!(
            &buf[..],
            "\nhello\na\rb\nhéllo\ntab\tand space \nowned\n".as_bytes()
        );
        let (decoded, error) = decode_chunks(DEFAULT_MAX_LINE_LENGTH, &[&buf], true);
        assert_eq!(error, None);
        assert_eq!(decoded, [&lines[..], &["owned"]].concat());
    }

    #[test]
    fn lines_that_would_desynchronise_the_peer_are_not_encoded() {
        let cases = [
            ("newline", "a\nb", "line to encode has a newline at byte 1"),
            (
                "only a newline",
                "\n",
                "line to encode has a newline at byte 0",
            ),
            (
                "crlf inside",
                "ab\r\n",
                "line to encode has a newline at byte 3",
            ),
            (
                "trailing cr",
                "ab\r",
                "line to encode ends with a carriage return",
            ),
        ];
        for (name, line, expected) in cases {
            let mut buf = BytesMut::from("kept");
            let error = LinesCodec::new().encode(line, &mut buf).unwrap_err();
            assert_eq!(error.to_string(), expected, "{name}");
            assert_eq!(&buf[..], b"kept", "{name}: nothing written");
        }
    }

    #[test]
    fn io_errors_convert_and_keep_their_source() {
        let error = LinesCodecError::from(io::Error::other("boom"));
        assert_eq!(error.to_string(), "line stream i/o failed");
        assert_eq!(
            error::Error::source(&error)
                .map(|e| e.to_string())
                .as_deref(),
            Some("boom")
        );
    }
}
