//! HTTP/1.1 keep-alive: one fixed response per request head, and nothing else.
//!
//! The floor for the HTTP cell: the least work an io_uring server can do and
//! still answer the benchmark's GETs byte for byte as `hello_http` and hyper
//! do. It parses nothing: a request head is whatever ends at `\r\n\r\n`,
//! counted with a matcher whose state (how much of the terminator the last
//! receive ended in) lives in the connection, so a terminator split across
//! receives counts once and pipelined requests in one receive each count. A
//! request with a body would be miscounted; the benchmark sends none.
//!
//! Received buffers go back to the ring at once. The responses are identical,
//! so a connection only counts how many it owes and sends them from one block
//! of [`BATCH`] copies, formatted at start and never written or freed after,
//! which is what lets a send read it with no lifetime to track.

use std::io;
use std::ops::Range;

use crate::buf_ring::BufRing;
use crate::Protocol;

/// `HTTP/1.1 200 OK`, `content-type`, `content-length: 13`, a 29-byte date and
/// `Hello, World!`: what `hello_http` sends.
pub const RESPONSE_LEN: usize = 115;
/// Responses one send carries at most.
const BATCH: usize = 32;
const TERMINATOR: &[u8] = b"\r\n\r\n";

pub struct Http {
    /// [`BATCH`] responses back to back, leaked: never freed or written.
    responses: &'static [u8],
}

impl Http {
    /// Formats the responses with the current date.
    pub fn new() -> io::Result<Http> {
        // SAFETY: `time` with a null pointer only returns the time.
        let now = unsafe { libc::time(std::ptr::null_mut()) };
        // Fixed at start: a real server reformats it once a second, a cost per
        // second rather than per request, which the floor leaves out.
        let date = imf_fixdate(now)?;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\
             date: {date}\r\n\r\nHello, World!"
        );
        assert_eq!(response.len(), RESPONSE_LEN);
        Ok(Http {
            responses: response.repeat(BATCH).into_bytes().leak(),
        })
    }
}

#[derive(Default)]
pub struct Replies {
    /// Responses owed, the one being sent included. Unbounded: receives go on
    /// while sends wait, as the buffers are back in the ring at once.
    owed: u64,
    /// Bytes of the front response already sent.
    sent: u32,
    /// How many bytes of [`TERMINATOR`] the received bytes end in.
    matched: u8,
}

impl Replies {
    /// The part of the block the next send sends: the front response's unsent
    /// bytes and whole ones after it, up to [`BATCH`], which are contiguous
    /// because the block repeats one response.
    fn unsent(&self) -> Option<Range<usize>> {
        if self.owed == 0 {
            return None;
        }
        let batch = self.owed.min(BATCH as u64) as usize;
        Some(self.sent as usize..batch * RESPONSE_LEN)
    }

    /// `n` bytes of what [`Replies::unsent`] gave went out.
    fn advance(&mut self, n: u32) {
        let sent = self.sent + n;
        self.owed -= u64::from(sent) / RESPONSE_LEN as u64;
        self.sent = sent % RESPONSE_LEN as u32;
    }
}

impl Protocol for Http {
    type Replies = Replies;

    fn received(&self, replies: &mut Replies, ring: &mut BufRing, bid: u16, len: u32) {
        // SAFETY: a receive completion of `len` bytes just named `bid`, and it
        // is given back only below, after the last read of the slice.
        let bytes = unsafe { ring.filled(bid, len) };
        replies.owed += count_heads(&mut replies.matched, bytes);
        ring.give_back(bid);
    }

    fn next(&self, replies: &Replies, _: &BufRing) -> Option<(*const u8, u32)> {
        let bytes = &self.responses[replies.unsent()?];
        Some((bytes.as_ptr(), bytes.len() as u32))
    }

    fn sent(&self, replies: &mut Replies, _: &mut BufRing, n: u32) {
        replies.advance(n);
    }

    fn clear(&self, replies: &mut Replies, _: &mut BufRing) {
        replies.owed = 0;
        replies.sent = 0;
    }

    fn owes(&self, replies: &Replies) -> bool {
        replies.owed > 0
    }
}

/// Counts the terminators in `bytes`, the first possibly begun `matched` bytes
/// before them; leaves in `matched` how much of one they end in.
fn count_heads(matched: &mut u8, bytes: &[u8]) -> u64 {
    let mut state = *matched;
    let mut heads = 0;
    for &byte in bytes {
        state = match (state, byte) {
            (3, b'\n') => {
                heads += 1;
                0
            }
            (0 | 2, b'\r') | (1, b'\n') => state + 1,
            // A `\r` that breaks a match may begin the next one.
            (_, b'\r') => 1,
            _ => 0,
        };
    }
    debug_assert!(usize::from(state) < TERMINATOR.len());
    *matched = state;
    heads
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7) for Unix time `secs`.
fn imf_fixdate(secs: libc::time_t) -> io::Result<String> {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: `tm` is plain C data, for which all zeroes (a null zone name
    // included) is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals for the call, and `gmtime_r`
    // writes only `tm`.
    if unsafe { libc::gmtime_r(&secs, &mut tm) }.is_null() {
        return Err(io::Error::other("the time is beyond gmtime_r"));
    }
    // gmtime_r keeps every field in its range.
    Ok(format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[tm.tm_wday as usize],
        tm.tm_mday,
        MONTHS[tm.tm_mon as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

    #[test]
    fn a_head_split_anywhere_counts_once() {
        for split in 0..=GET.len() {
            let mut matched = 0;
            let first = count_heads(&mut matched, &GET[..split]);
            assert_eq!(first, u64::from(split == GET.len()), "split at {split}");
            let second = count_heads(&mut matched, &GET[split..]);
            assert_eq!((first + second, matched), (1, 0), "split at {split}");
        }
        let mut matched = 0;
        let heads: u64 = GET
            .chunks(1)
            .map(|byte| count_heads(&mut matched, byte))
            .sum();
        assert_eq!((heads, matched), (1, 0), "one byte at a time");
    }

    #[test]
    fn pipelined_heads_each_count_and_a_partial_one_carries_over() {
        let mut bytes = GET.repeat(100);
        bytes.extend_from_slice(&GET[..GET.len() - 1]);
        let mut matched = 0;
        assert_eq!(count_heads(&mut matched, &bytes), 100);
        assert_eq!(matched, 3);
        assert_eq!(count_heads(&mut matched, b"\n"), 1);
    }

    #[test]
    fn only_crlf_crlf_ends_a_head() {
        let cases: [(&[u8], u64, u8); 6] = [
            (b"\r\n\r", 0, 3),
            (b"\r\r\n\r\r\n\r\n", 1, 0),
            (b"\n\n\r\n\n\r\n", 0, 2),
            (b"\r\n\r\n\r\n\r\n", 2, 0),
            (b"\r\n\r\r\n\r\n", 1, 0),
            (b"a\r\nb\r\nc", 0, 0),
        ];
        for (bytes, heads, matched) in cases {
            let mut state = 0;
            let counted = count_heads(&mut state, bytes);
            assert_eq!((counted, state), (heads, matched), "{bytes:?}");
        }
    }

    #[test]
    fn sends_go_by_batches_and_resume_mid_response() {
        let mut replies = Replies {
            owed: 40,
            ..Replies::default()
        };
        assert_eq!(replies.unsent(), Some(0..BATCH * RESPONSE_LEN));
        replies.advance(100);
        assert_eq!((replies.owed, replies.sent), (40, 100));
        assert_eq!(replies.unsent(), Some(100..BATCH * RESPONSE_LEN));
        replies.advance(RESPONSE_LEN as u32);
        assert_eq!((replies.owed, replies.sent), (39, 100));
        replies.advance((BATCH * RESPONSE_LEN - 100 - RESPONSE_LEN) as u32);
        assert_eq!((replies.owed, replies.sent), (8, 0));
        assert_eq!(replies.unsent(), Some(0..8 * RESPONSE_LEN));
        replies.advance(8 * RESPONSE_LEN as u32);
        assert_eq!((replies.owed, replies.sent), (0, 0));
        assert_eq!(replies.unsent(), None);
    }

    #[test]
    fn the_block_repeats_the_hello_response() {
        let http = Http::new().unwrap();
        assert_eq!(http.responses.len(), BATCH * RESPONSE_LEN);
        let first = &http.responses[..RESPONSE_LEN];
        let text = std::str::from_utf8(first).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "Hello, World!");
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(
            lines[..3],
            [
                "HTTP/1.1 200 OK",
                "content-type: text/plain",
                "content-length: 13"
            ]
        );
        let date = lines[3].strip_prefix("date: ").unwrap();
        assert!(date.len() == 29 && date.ends_with(" GMT"), "{date:?}");
        assert_eq!(lines.len(), 4);
        assert!(http.responses.chunks(RESPONSE_LEN).all(|r| r == first));
    }

    #[test]
    fn formats_known_instants_as_imf_fixdate() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_704_067_199, "Sun, 31 Dec 2023 23:59:59 GMT"),
            (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
        ];
        for (secs, want) in cases {
            assert_eq!(imf_fixdate(secs).unwrap(), want);
        }
    }
}
