//! Inline commands: a plain text line such as `SET key "hello world"`, which
//! redis-server accepts besides RESP arrays so people can type commands over
//! telnet (<https://redis.io/docs/latest/develop/reference/protocol-spec/#inline-commands>).
//!
//! Arguments are split like redis-server's `sdssplitargs` (`sds.c`): on spaces,
//! with double quotes taking C-style escapes (`\n`, `\r`, `\t`, `\b`, `\a`,
//! `\xHH`, and `\` before any other byte for that byte) and single quotes taking
//! only `\'`. A quoted argument must be closed and followed by a space or the end
//! of the line, else the request has unbalanced quotes.

use bytes::Bytes;

use super::{Error, ErrorKind, Frame};

/// Splits one inline command line (without its line end) into bulk string
/// arguments. An empty or all-space line gives no arguments.
///
/// Arguments without quotes are slices of `line`, so they copy nothing.
pub(super) fn split_args(line: &Bytes) -> Result<Vec<Frame>, Error> {
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        while line.get(pos).is_some_and(|&b| is_space(b)) {
            pos += 1;
        }
        if pos >= line.len() {
            return Ok(args);
        }
        let start = pos;
        while line
            .get(pos)
            .is_some_and(|&b| !ends_bare_arg(b) && !is_quote(b))
        {
            pos += 1;
        }
        match line.get(pos) {
            Some(&quote) if is_quote(quote) => {
                let mut arg = line.slice(start..pos).to_vec();
                pos = split_quoted(line, pos, quote, &mut arg)?;
                args.push(Frame::Bulk(Bytes::from(arg)));
            }
            // A bare argument ends at a separator, which is skipped with it.
            _ => {
                args.push(Frame::Bulk(line.slice(start..pos)));
                pos += 1;
            }
        }
    }
}

/// Reads the quoted part of an argument: `pos` is at its opening `quote`, and
/// the bytes inside are appended to `arg`. Returns where the next argument may
/// start.
fn split_quoted(line: &[u8], mut pos: usize, quote: u8, arg: &mut Vec<u8>) -> Result<usize, Error> {
    let unbalanced = || Error::new(ErrorKind::UnbalancedQuotes);
    // `sdssplitargs` lets a closing quote be followed only by a space (its
    // `isspace`) or the end, so `"a"b` is refused rather than read as `ab`.
    let closes = |after: usize| match line.get(after) {
        Some(&b) if !is_space(b) => Err(unbalanced()),
        _ => Ok(after + 1),
    };
    loop {
        pos += 1;
        match (line.get(pos), line.get(pos + 1)) {
            (None, _) => return Err(unbalanced()),
            (Some(&b), _) if b == quote => return closes(pos + 1),
            (Some(b'\\'), Some(b'\'')) if quote == b'\'' => {
                arg.push(b'\'');
                pos += 1;
            }
            (Some(b'\\'), Some(b'x')) if quote == b'"' => match hex_byte(line, pos + 2) {
                Some(byte) => {
                    arg.push(byte);
                    pos += 3;
                }
                None => {
                    arg.push(b'x');
                    pos += 1;
                }
            },
            (Some(b'\\'), Some(&escaped)) if quote == b'"' => {
                arg.push(unescape(escaped));
                pos += 1;
            }
            (Some(&b), _) => arg.push(b),
        }
    }
}

/// The byte a double-quoted `\<escaped>` stands for.
fn unescape(escaped: u8) -> u8 {
    match escaped {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

/// The byte written as two hex digits at `pos`, if both are there.
fn hex_byte(line: &[u8], pos: usize) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    let high = digit(*line.get(pos)?)?;
    let low = digit(*line.get(pos + 1)?)?;
    u8::try_from(high * 16 + low).ok()
}

/// C's `isspace`, which `sdssplitargs` skips between arguments.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes that end an unquoted argument in `sdssplitargs`.
fn ends_bare_arg(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0)
}

fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\''
}
