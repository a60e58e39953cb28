//! HTTP/2 (h2c, prior knowledge) `GET /` as a [`Workload`]: just enough of the
//! framing layer to drive hyper's HTTP/2 server and check every reply, so the
//! HTTP/2 cells run on the same load generator, in the same run, as the
//! others (no h2load to install).
//!
//! Requests are HEADERS frames with END_STREAM on streams 1, 3, 5, …; a
//! reply is a stream's `200` HEADERS (HPACK static index 8) and DATA frames
//! ending with END_STREAM whose bytes are `Hello, World!`. Replies of
//! multiplexed streams may complete in any order; each completed stream
//! counts as one reply. The connection's receive window is opened wide up
//! front and topped up; server SETTINGS and PINGs are acknowledged with the
//! next request. GOAWAY, RST_STREAM or anything malformed is an error.

use std::collections::HashMap;

use super::workload::Workload;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// The connection window we grant on top of the default 65 535 bytes, and
/// again whenever that much DATA has arrived.
const WINDOW_GRANT: u32 = 1 << 30;

/// A frame larger than this is an error: we never raise the 16 KiB default.
const MAX_FRAME: usize = 16 * 1024;

/// What a reply parse changes; committed only when a reply completes, so a
/// parse that needs more bytes can be repeated on the same input.
#[derive(Debug, Clone, Default)]
struct State {
    /// Streams whose `200` HEADERS arrived, with their body so far.
    open: HashMap<u32, Vec<u8>>,
    /// Server SETTINGS frames not acknowledged yet.
    settings_to_ack: usize,
    /// Payloads of server PINGs to echo back.
    pings_to_ack: Vec<[u8; 8]>,
    /// DATA bytes received since the last window grant.
    data_since_grant: u64,
}

/// One connection's HTTP/2 GET load; see the module docs.
#[derive(Debug, Default)]
pub struct Http2Get {
    state: State,
    /// The stream id of the next request (odd; 0 before the first).
    next_stream: u32,
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

impl Workload for Http2Get {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        if self.next_stream == 0 {
            out.extend_from_slice(PREFACE);
            frame(out, SETTINGS, 0, 0, &[]);
            frame(out, WINDOW_UPDATE, 0, 0, &WINDOW_GRANT.to_be_bytes());
            self.next_stream = 1;
        }
        for _ in 0..std::mem::take(&mut self.state.settings_to_ack) {
            frame(out, SETTINGS, ACK, 0, &[]);
        }
        for ping in self.state.pings_to_ack.drain(..) {
            frame(out, PING, ACK, 0, &ping);
        }
        if self.state.data_since_grant >= u64::from(WINDOW_GRANT) {
            self.state.data_since_grant = 0;
            frame(out, WINDOW_UPDATE, 0, 0, &WINDOW_GRANT.to_be_bytes());
        }
        // :method GET, :scheme http, :path / (static indexes 2, 6, 4) and
        // :authority "bench" as a literal without indexing (name index 1).
        let headers = [0x82, 0x86, 0x84, 0x01, 5, b'b', b'e', b'n', b'c', b'h'];
        frame(
            out,
            HEADERS,
            END_STREAM | END_HEADERS,
            self.next_stream,
            &headers,
        );
        self.next_stream += 2;
    }

    fn parse_reply(&mut self, input: &[u8]) -> Result<Option<usize>, String> {
        let mut state = self.state.clone();
        let mut at = 0;
        while let Some(head) = input.get(at..at + 9) {
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            if len > MAX_FRAME {
                return Err(format!("a {len}-byte frame, over the 16 KiB we allow"));
            }
            let Some(payload) = input.get(at + 9..at + 9 + len) else {
                return Ok(None);
            };
            let (kind, flags) = (head[3], head[4]);
            let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            at += 9 + len;
            match kind {
                SETTINGS if flags & ACK == 0 => state.settings_to_ack += 1,
                SETTINGS | WINDOW_UPDATE => {}
                PING if flags & ACK == 0 => {
                    let ping = payload.try_into().map_err(|_| "a PING not of 8 bytes")?;
                    state.pings_to_ack.push(ping);
                }
                PING => {}
                HEADERS => {
                    if payload.first() != Some(&0x88) || flags & END_STREAM != 0 {
                        return Err(format!("stream {stream}: not a 200 with a body"));
                    }
                    state.open.insert(stream, Vec::new());
                }
                DATA => {
                    let body = state
                        .open
                        .get_mut(&stream)
                        .ok_or_else(|| format!("DATA on stream {stream} before its HEADERS"))?;
                    body.extend_from_slice(payload);
                    state.data_since_grant += len as u64;
                    if flags & END_STREAM != 0 {
                        if state.open.remove(&stream).as_deref() != Some(BODY) {
                            return Err(format!("stream {stream}: body is not Hello, World!"));
                        }
                        self.state = state;
                        return Ok(Some(at));
                    }
                }
                GOAWAY | RST_STREAM => {
                    return Err(format!("server sent frame type {kind} on stream {stream}"));
                }
                other => return Err(format!("unexpected frame type {other}")),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(stream: u32) -> Vec<u8> {
        let mut out = Vec::new();
        frame(&mut out, HEADERS, END_HEADERS, stream, &[0x88]);
        frame(&mut out, DATA, END_STREAM, stream, BODY);
        out
    }

    #[test]
    fn a_reply_counts_once_complete_and_settings_are_acked_with_the_next_request() {
        let mut load = Http2Get::default();
        let mut out = Vec::new();
        load.write_request(&mut out);
        assert!(out.starts_with(PREFACE));
        let mut input = Vec::new();
        frame(&mut input, SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        input.extend(reply(1));
        // Short of the last byte: more needed, and nothing committed.
        assert_eq!(load.parse_reply(&input[..input.len() - 1]), Ok(None));
        assert_eq!(load.state.settings_to_ack, 0);
        assert_eq!(load.parse_reply(&input), Ok(Some(input.len())));
        let mut next = Vec::new();
        load.write_request(&mut next);
        assert_eq!(&next[..9], &[0, 0, 0, SETTINGS, ACK, 0, 0, 0, 0]);
    }

    #[test]
    fn multiplexed_replies_complete_in_any_order_and_bad_ones_fail() {
        let mut load = Http2Get::default();
        let mut input = Vec::new();
        frame(&mut input, HEADERS, END_HEADERS, 1, &[0x88]);
        input.extend(reply(3));
        frame(&mut input, DATA, END_STREAM, 1, BODY);
        let first = load
            .parse_reply(&input)
            .unwrap()
            .expect("stream 3 completes");
        assert_eq!(
            load.parse_reply(&input[first..]),
            Ok(Some(input.len() - first))
        );
        let mut wrong = Vec::new();
        frame(&mut wrong, HEADERS, END_HEADERS, 5, &[0x88]);
        frame(&mut wrong, DATA, END_STREAM, 5, b"Goodbye");
        assert!(load.parse_reply(&wrong).is_err());
        let mut reset = Vec::new();
        frame(&mut reset, RST_STREAM, 0, 7, &[0, 0, 0, 8]);
        assert!(load.parse_reply(&reset).is_err());
    }
}
