//! The decoder's fast path for what a server reads nearly always: a command,
//! `*<n>\r\n` then `n` bulk strings, that has arrived whole.
//!
//! # Why a second path
//!
//! The state machine of `decode.rs` handles every frame arriving in any
//! pieces, at the price of a few state transitions, an element stack and a
//! buffer `advance` per header line. For a whole command that is all
//! bookkeeping: here one pass checks the command is complete and within the
//! [`Limits`], and a second splits it off the buffer at once and slices its
//! arguments from that one piece.
//!
//! The codec does not decode from a received buffer
//! ([`Decoder::decode_slice`]): a command's arguments must outlive the pooled
//! buffer, so that would mean a new allocation per command (two, with the
//! `Bytes` of its arguments made shareable), where copying the bytes into the
//! connection's read buffer, kept between commands, and splitting them off
//! there allocates nothing (`mini_redis`, PING at P=1 on io_uring: 5,213
//! against 4,865 user-space instructions per request, callgrind).
//!
//! This path takes only what it can answer exactly as the state machine
//! would: a non-empty array of at most [`MAX_ARGS`] bulk strings (no null),
//! every header within the limits. Anything else — a partial command, another type, a limit
//! broken, a malformed line — is left untouched for the state machine, which
//! then decodes it or reports the error. A partial command is looked at once
//! here: the state machine then consumes its first pieces, and this path is
//! tried again only at the next frame boundary, so no byte is scanned more
//! than twice.
//!
//! [`Decoder::decode_slice`]: crate::Decoder::decode_slice

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::{Frame, Limits, RespCodec};

/// Most arguments a command may have to take this path. It bounds the
/// argument positions a codec keeps between commands (16 KiB); a longer
/// command (a huge `MSET`) is rare, and the state machine decodes it as well.
const MAX_ARGS: usize = 1024;

impl RespCodec {
    /// Splits a whole command off the front of `src`; `None` (with `src` and
    /// the decoder untouched) for anything else. Call only at a frame
    /// boundary.
    pub(super) fn take_command(&mut self, src: &mut BytesMut) -> Option<Frame> {
        let len = command_len(src, &self.limits, &mut self.args)?;
        self.state.reset_scan();
        Some(split_command(src.split_to(len).freeze(), &self.args))
    }
}

/// The length in bytes of the whole command at the front of `buf`, if one is
/// there within `limits`; `args` is left holding where its arguments are.
fn command_len(buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>) -> Option<usize> {
    args.clear();
    let (count, mut at) = header(buf, 0, b'*', limits.max_inline_len)?;
    if count == 0 || count > limits.max_array_len.min(MAX_ARGS) || limits.max_depth == 0 {
        return None;
    }
    for _ in 0..count {
        let (payload, next) = bulk(buf, at, limits)?;
        args.push(payload);
        at = next;
    }
    Some(at)
}

/// The arguments of `command`, at the ranges [`command_len`] found, as
/// slices of it.
fn split_command(command: Bytes, args: &[Range<usize>]) -> Frame {
    Frame::Array(
        args.iter()
            .map(|payload| Frame::Bulk(command.slice(payload.clone())))
            .collect(),
    )
}

/// The bulk string at `at` if it is whole and within `limits`: its payload's
/// range and where the next element starts.
fn bulk(buf: &[u8], at: usize, limits: &Limits) -> Option<(Range<usize>, usize)> {
    let (len, start) = header(buf, at, b'$', limits.max_inline_len)?;
    if len > limits.max_bulk_len {
        return None;
    }
    let end = start.checked_add(len)?;
    is_crlf(buf, end).then_some((start..end, end + 2))
}

/// The header line `<type_byte><digits>\r\n` at `at`: its value and where
/// the line after it starts. Only the lengths `parse_len` in `decode.rs`
/// accepts are read here (decimal, no sign, no leading zero), and only lines
/// of at most `max_digits` bytes, as the state machine allows.
fn header(buf: &[u8], at: usize, type_byte: u8, max_digits: usize) -> Option<(usize, usize)> {
    let (&first, line) = buf.get(at..)?.split_first()?;
    if first != type_byte {
        return None;
    }
    let mut value: usize = 0;
    let mut digits = 0;
    // Overflow ends this within 20 digits: a long line is never read to its end.
    for &b in line {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value.checked_mul(10)?.checked_add(usize::from(digit))?;
        digits += 1;
    }
    let leading_zero = digits > 1 && line.first() == Some(&b'0');
    if digits == 0 || digits > max_digits || leading_zero || !is_crlf(line, digits) {
        return None;
    }
    Some((value, at + 1 + digits + 2))
}

/// Whether `buf` has CRLF at `at`.
fn is_crlf(buf: &[u8], at: usize) -> bool {
    matches!(buf.get(at..), Some([b'\r', b'\n', ..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::command;
    use crate::Decoder;

    fn limits() -> Limits {
        Limits::default()
    }

    /// Limits the commands of the tests reach exactly.
    const SMALL: Limits = Limits {
        max_bulk_len: 3,
        max_inline_len: 2,
        max_array_len: 2,
        max_depth: 64,
    };

    /// Every frame of `input` decoded whole (this path, where it applies) or
    /// byte by byte (the state machine alone), as text to compare.
    fn decoded(limits: Limits, input: &[u8], bytewise: bool) -> String {
        let mut codec = RespCodec::with_limits(limits);
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let chunks: Vec<&[u8]> = if bytewise {
            input.chunks(1).collect()
        } else {
            vec![input]
        };
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break,
                    Err(e) => return format!("{frames:?} then error {e}"),
                }
            }
        }
        format!("{frames:?} with {} bytes left", buf.len())
    }

    #[test]
    fn whole_commands_decode_as_the_state_machine_does() {
        let cases: &[(&str, &[u8])] = &[
            ("every limit reached", b"*2\r\n$3\r\nabc\r\n$0\r\n\r\n"),
            (
                "pipelined, then a partial",
                b"*1\r\n$1\r\na\r\n*1\r\n$2\r\nbc\r\n*2\r\n$1",
            ),
            (
                "between inline commands",
                b"PING\r\n*1\r\n$2\r\nab\r\nX\r\n",
            ),
            (
                "array over the limit",
                b"*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
            ),
            ("bulk over the limit", b"*1\r\n$4\r\nabcd\r\n"),
            ("header line over the limit", b"*1\r\n$100\r\n"),
            ("payload without its CRLF", b"*1\r\n$1\r\nab\r\n"),
            ("null element", b"*2\r\n$-1\r\n$1\r\na\r\n"),
            ("nested array", b"*1\r\n*1\r\n$1\r\na\r\n"),
        ];
        for (name, input) in cases {
            let whole = decoded(SMALL, input, false);
            assert_eq!(whole, decoded(SMALL, input, true), "{name}");
        }
        assert_eq!(
            decoded(SMALL, b"*2\r\n$3\r\nabc\r\n$0\r\n\r\n", false),
            format!("{:?} with 0 bytes left", [command(["abc", ""])])
        );
    }

    #[test]
    fn a_command_of_max_args_takes_this_path() {
        let wire = [
            format!("*{MAX_ARGS}\r\n").as_bytes(),
            &b"$1\r\nx\r\n".repeat(MAX_ARGS),
        ]
        .concat();
        let mut args = Vec::new();
        assert_eq!(command_len(&wire, &limits(), &mut args), Some(wire.len()));
        assert_eq!(args.len(), MAX_ARGS);
    }

    #[test]
    fn anything_else_is_left_to_the_state_machine() {
        let many_args = [
            format!("*{}\r\n", MAX_ARGS + 1).as_bytes(),
            &b"$0\r\n\r\n".repeat(MAX_ARGS + 1),
        ]
        .concat();
        let cases: &[(&str, &[u8], Limits)] = &[
            ("incomplete header", b"*1\r", limits()),
            ("incomplete payload", b"*1\r\n$3\r\nGE", limits()),
            ("missing payload CRLF", b"*1\r\n$3\r\nGETX\r\n", limits()),
            ("empty array", b"*0\r\n", limits()),
            ("null array", b"*-1\r\n", limits()),
            ("null bulk element", b"*1\r\n$-1\r\n", limits()),
            ("nested array", b"*1\r\n*1\r\n$1\r\na\r\n", limits()),
            ("simple string element", b"*1\r\n+OK\r\n", limits()),
            ("leading zero", b"*01\r\n$1\r\na\r\n", limits()),
            ("plus sign", b"*+1\r\n$1\r\na\r\n", limits()),
            ("lone LF", b"*1\n$1\r\na\r\n", limits()),
            (
                "overflowing length",
                b"*99999999999999999999999\r\n",
                limits(),
            ),
            (
                "array over limit",
                b"*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
                SMALL,
            ),
            ("bulk over limit", b"*1\r\n$4\r\nabcd\r\n", SMALL),
            ("header line over limit", b"*1\r\n$100\r\n", SMALL),
            (
                "no depth allowed",
                b"*1\r\n$1\r\na\r\n",
                Limits {
                    max_depth: 0,
                    ..limits()
                },
            ),
            ("inline command", b"GET k\r\n", limits()),
            ("more arguments than this path takes", &many_args, limits()),
        ];
        let mut args = Vec::new();
        for (name, wire, limits) in cases {
            assert_eq!(command_len(wire, limits, &mut args), None, "{name}");
        }
    }
}
