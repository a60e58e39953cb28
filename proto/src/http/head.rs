//! Finding where a message head ends while it is still arriving.
//!
//! httparse reparses from the start on every call and reports nothing until the
//! head is whole, so on its own it would let a peer make us buffer an endless
//! request target, and would cost O(n²) on a head that trickles in a byte at a
//! time. [`HeadScanner`] therefore looks at each byte once, enforces the limits
//! as bytes arrive, checks line endings, and hands the parser
//! ([`super::parse`]) only whole heads.
//!
//! A head that arrives whole in one read — nearly every head — skips the scan:
//! see [`is_clean`] and `parse::parse_whole_request`.

use super::error::{Error, ErrorKind};
use super::limits::Limits;

/// Where the start line's scan is: request lines have a target to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartLine {
    /// Before the first space of a request line.
    Method,
    /// Inside the request target; its length is counted against `max_uri_len`.
    Target,
    /// After the target, or anywhere in a status line.
    Rest,
    /// The start line has ended; header lines follow.
    Done,
}

/// Incremental scan for the end of a head, enforcing limits on the way.
///
/// Each byte is looked at once across calls: `pos` remembers how far the
/// buffer was scanned. Reset it (make a new one) once a head is taken.
#[derive(Debug, Clone)]
pub(crate) struct HeadScanner {
    /// Bytes of the buffer already scanned.
    pos: usize,
    /// Where the start line's scan is.
    start: StartLine,
    /// Bytes of request target seen so far.
    target_len: usize,
    /// Bytes of the current line before its CR; 0 at a line start.
    line_len: usize,
    /// The previous byte was a CR, so this one must be LF.
    prev_cr: bool,
    /// Header lines ended so far.
    fields: usize,
}

impl HeadScanner {
    /// A scanner for a request head (`request`), which measures the target, or a
    /// response head.
    pub(crate) fn new(request: bool) -> Self {
        HeadScanner {
            pos: 0,
            start: if request {
                StartLine::Method
            } else {
                StartLine::Rest
            },
            target_len: 0,
            line_len: 0,
            prev_cr: false,
            fields: 0,
        }
    }

    /// True before any byte of the head was scanned.
    pub(crate) fn at_start(&self) -> bool {
        self.pos == 0
    }

    /// Scans the bytes of `buf` not scanned before. Returns the head's length
    /// once its ending empty line is in `buf`, `None` if more bytes are needed.
    ///
    /// RFC 9112 §2.2 lets a recipient accept a bare LF as a line ending; we do
    /// not. Being strict costs nothing with real clients, and keeps this server
    /// from reading a message differently from a proxy in front of it (the root
    /// of request smuggling). A bare CR is forbidden outright by §2.2.
    pub(crate) fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        let start = self.pos;
        for (i, &b) in buf.iter().enumerate().skip(start) {
            self.pos = i + 1;
            if i >= limits.max_head_bytes {
                return Err(ErrorKind::HeadTooLarge {
                    len: i + 1,
                    limit: limits.max_head_bytes,
                }
                .into());
            }
            if self.prev_cr {
                if b != b'\n' {
                    return Err(ErrorKind::LineEnding.into());
                }
                self.prev_cr = false;
                if self.end_line(limits)? {
                    return Ok(Some(i + 1));
                }
                continue;
            }
            match b {
                b'\r' => self.prev_cr = true,
                b'\n' => return Err(ErrorKind::LineEnding.into()),
                b' ' | b'\t' if self.line_len == 0 && self.start == StartLine::Done => {
                    // RFC 9112 §5.2: a server MUST reject obs-fold in a request
                    // (or replace it); we reject it everywhere.
                    return Err(ErrorKind::ObsFold.into());
                }
                _ => {
                    self.line_len += 1;
                    self.start_line_byte(b, limits)?;
                }
            }
        }
        Ok(None)
    }

    /// Accounts for a line that just ended; true when it was the empty line
    /// that ends the head.
    fn end_line(&mut self, limits: &Limits) -> Result<bool, Error> {
        let empty = self.line_len == 0;
        self.line_len = 0;
        if self.start != StartLine::Done {
            self.start = StartLine::Done;
            return Ok(false);
        }
        if empty {
            return Ok(true);
        }
        self.fields += 1;
        if self.fields > limits.max_headers {
            return Err(ErrorKind::TooManyHeaders {
                count: self.fields,
                limit: limits.max_headers,
            }
            .into());
        }
        Ok(false)
    }

    /// Follows the request line to measure the target (RFC 9112 §3: method SP
    /// request-target SP version), so an over-long one is refused early.
    fn start_line_byte(&mut self, b: u8, limits: &Limits) -> Result<(), Error> {
        match (self.start, b) {
            (StartLine::Method, b' ') => self.start = StartLine::Target,
            (StartLine::Target, b' ') => self.start = StartLine::Rest,
            (StartLine::Target, _) => {
                self.target_len += 1;
                if self.target_len > limits.max_uri_len {
                    return Err(ErrorKind::UriTooLong {
                        len: self.target_len,
                        limit: limits.max_uri_len,
                    }
                    .into());
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// True when `head`, a whole request head httparse accepted, has only CRLF
/// line endings. With httparse's own checks that is every rule
/// [`HeadScanner::scan`] enforces beyond the limits: httparse already refuses
/// a CR not followed by LF (anywhere: tokens, the target and field values
/// exclude it) and folded lines in requests, but accepts a bare LF. With no
/// bare CR, equal counts of CR and LF mean every LF follows a CR. Counting
/// bytes vectorises, where the scanner's per-byte state machine cannot: the
/// count runs in byte-wide lanes (16 or 32 to a vector instruction, where
/// word-wide ones fit 2 or 4), over chunks short enough that a chunk's
/// balance cannot overflow a byte.
pub(crate) fn is_clean(head: &[u8]) -> bool {
    let balance: isize = head
        .chunks(i8::MAX as usize)
        .map(|chunk| {
            let balance = chunk.iter().fold(0i8, |balance, &b| {
                balance + i8::from(b == b'\n') - i8::from(b == b'\r')
            });
            isize::from(balance)
        })
        .sum();
    balance == 0
}

#[cfg(test)]
mod tests {
    use super::is_clean;

    /// A head of `fields` fields, each line ended by `ending`.
    fn head(fields: usize, ending: &str) -> String {
        let mut head = format!("GET / HTTP/1.1{ending}");
        for i in 0..fields {
            head.push_str(&format!("x-field-{i}: some value{ending}"));
        }
        head.push_str(ending);
        head
    }

    #[test]
    fn crlf_heads_of_any_length_are_clean_and_bare_lf_ones_are_not() {
        for fields in [0, 1, 5, 40, 300] {
            assert!(is_clean(head(fields, "\r\n").as_bytes()), "{fields} fields");
            assert!(!is_clean(head(fields, "\n").as_bytes()), "{fields} fields");
        }
    }

    #[test]
    fn a_crlf_split_across_the_counting_chunks_balances() {
        // Every offset of one CRLF in a long head, so some fall across chunks.
        for at in 0..300 {
            let mut head = vec![b'a'; 300];
            head.splice(at..at, *b"\r\n");
            assert!(is_clean(&head), "CRLF at {at}");
            head[at + 1] = b'a';
            assert!(!is_clean(&head), "bare CR at {at}");
        }
        let mut bare = vec![b'a'; 300];
        bare[200] = b'\n';
        bare.splice(100..100, *b"\r");
        assert!(is_clean(&bare), "counts alone: a bare CR and LF balance");
    }
}
