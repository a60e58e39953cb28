//! The client's side of gathering: [`ClientCodec`] with each response's
//! body gathered into one `Bytes`, for clients that want responses whole
//! (`ringo-service`'s HTTP client). It decodes nothing after a response that
//! ends the connection's HTTP/1.1 stream, and reports it through `retired`.

use std::cell::Cell;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};

use super::super::{BodyLength, ClientCodec, Error, ErrorKind, ResponsePart};
use super::Gathering;
use crate::codec::{Decoder, Encoder};

/// A gathered response, or the protocol error that stopped it. The error is
/// an item, not a stream error, so that its own caller gets it typed; the
/// codec decodes nothing after it and the connection is retired.
pub type GatheredResponse = Result<Response<Bytes>, Error>;

/// [`ClientCodec`] with each response's body gathered into one `Bytes` (up
/// to [`Limits::max_body`](super::super::Limits::max_body)): a [`Decoder`] of
/// [`GatheredResponse`]s, an [`Encoder`] of whole requests.
///
/// `retired` is shared with whoever lends the connection: it is set when no
/// further response will come (a response that ends the connection, a `101`,
/// a malformed response), so the connection is never lent again.
#[derive(Debug)]
pub struct GatheringClientCodec {
    inner: ClientCodec,
    /// The response being gathered: its head and the body so far.
    partial: Gathering<::http::response::Parts>,
    /// Shared with the connection: set when no further response will come.
    retired: Rc<Cell<bool>>,
    /// Set after a `101` or an error item: the stream is no longer HTTP/1.1
    /// responses, so nothing more is decoded.
    done: bool,
}

impl GatheringClientCodec {
    /// Gathers the responses `inner` decodes; see the type's doc for `retired`.
    pub fn new(inner: ClientCodec, retired: Rc<Cell<bool>>) -> GatheringClientCodec {
        GatheringClientCodec {
            inner,
            partial: Gathering::new(),
            retired,
            done: false,
        }
    }

    fn gather(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<GatheredResponse>, Error> {
        if self.done {
            src.clear();
            return Ok(None);
        }
        loop {
            let part = if eof {
                self.inner.decode_eof(src)
            } else {
                self.inner.decode(src)
            };
            let part = match part {
                Ok(Some(part)) => part,
                Ok(None) => return Ok(None),
                // Cut short: the connection broke, and every call on it
                // fails as the dispatcher reports (ConnectionLost).
                Err(e) if e.is_incomplete() || e.is_io() => return Err(e),
                Err(e) => {
                    self.retired.set(true);
                    self.done = true;
                    self.partial.clear();
                    src.clear();
                    return Ok(Some(Err(e)));
                }
            };
            match part {
                ResponsePart::Head(head, body) => {
                    let (parts, ()) = head.into_parts();
                    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
                        // Nothing follows in HTTP/1.1 (RFC 9110 §15.2.2); this
                        // client speaks no other protocol, so the connection
                        // ends here.
                        self.retired.set(true);
                        self.done = true;
                        return Ok(Some(Ok(Response::from_parts(parts, Bytes::new()))));
                    }
                    let expected = match body {
                        BodyLength::Length(n) => {
                            usize::try_from(n.min(self.inner.limits().max_body)).unwrap_or(0)
                        }
                        _ => 0,
                    };
                    self.partial.start(parts, expected);
                }
                ResponsePart::Data(data) => {
                    if !self.partial.push(&data) {
                        return Err(ErrorKind::UnexpectedResponse.into());
                    }
                }
                ResponsePart::End => {
                    let Some((parts, body)) = self.partial.finish() else {
                        return Err(ErrorKind::UnexpectedResponse.into());
                    };
                    if self.inner.should_close() {
                        self.retired.set(true);
                    }
                    return Ok(Some(Ok(Response::from_parts(parts, body))));
                }
            }
        }
    }
}

impl Decoder for GatheringClientCodec {
    type Item = GatheredResponse;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<GatheredResponse>, Error> {
        self.gather(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<GatheredResponse>, Error> {
        self.gather(src, true)
    }
}

impl Encoder<Request<Bytes>> for GatheringClientCodec {
    type Error = Error;

    fn encode(&mut self, request: Request<Bytes>, dst: &mut BytesMut) -> Result<(), Error> {
        self.inner.encode(request, dst)
    }
}

/// The codec fed whole and one byte at a time.
#[cfg(test)]
mod tests {
    use super::super::super::Limits;
    use super::*;

    /// What decoding one response stream gave: the items, how the stream
    /// ended, and whether the connection was retired.
    struct Fed {
        items: Vec<GatheredResponse>,
        end: Result<(), Error>,
        retired: bool,
    }

    /// Decodes `bytes` (then the end of stream) as the answer to one GET,
    /// whole or one byte at a time.
    fn feed(bytes: &[u8], max_body: u64, whole: bool) -> Fed {
        let retired = Rc::new(Cell::new(false));
        let limits = Limits {
            max_body,
            ..Limits::default()
        };
        let mut codec =
            GatheringClientCodec::new(ClientCodec::with_limits(limits), retired.clone());
        let request = Request::get("/").body(Bytes::new()).unwrap();
        codec.encode(request, &mut BytesMut::new()).unwrap();
        let chunks: Vec<&[u8]> = if whole {
            vec![bytes]
        } else {
            bytes.chunks(1).collect()
        };
        let mut src = BytesMut::new();
        let mut items = Vec::new();
        let mut end = Ok(());
        'feed: for chunk in chunks {
            src.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut src) {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => break,
                    Err(e) => {
                        end = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        while end.is_ok() {
            match codec.decode_eof(&mut src) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => end = Err(e),
            }
        }
        Fed {
            items,
            end,
            retired: retired.get(),
        }
    }

    /// (name, response bytes, status, body, whether it retires the connection)
    type GoodCase = (&'static str, &'static [u8], u16, &'static [u8], bool);

    #[test]
    fn responses_are_gathered_whole_or_byte_by_byte() {
        let cases: [GoodCase; 8] = [
            (
                "content-length",
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                200,
                b"hello",
                false,
            ),
            (
                "chunked",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                200,
                b"abcde",
                false,
            ),
            ("no body", b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", false),
            (
                "connection close",
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi",
                200,
                b"hi",
                true,
            ),
            (
                "http/1.0",
                b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi",
                200,
                b"hi",
                true,
            ),
            (
                "close-delimited",
                b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
                200,
                b"until the end",
                true,
            ),
            (
                "interim 100 skipped",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
                200,
                b"x",
                false,
            ),
            (
                "switching protocols",
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\nnot http",
                101,
                b"",
                true,
            ),
        ];
        for (name, bytes, status, body, retired) in cases {
            for whole in [true, false] {
                let fed = feed(bytes, 1024, whole);
                let case = format!("{name} (whole: {whole})");
                assert!(fed.end.is_ok(), "{case}: {:?}", fed.end);
                assert_eq!(fed.items.len(), 1, "{case}: one response");
                let response = fed.items[0].as_ref().unwrap();
                assert_eq!(response.status().as_u16(), status, "{case}");
                assert_eq!(response.body().as_ref(), body, "{case}");
                assert_eq!(fed.retired, retired, "{case}: retired");
            }
        }
    }

    #[test]
    fn bad_responses_fail_their_call_or_the_connection() {
        // (name, bytes, max body, expected: Some(message) for an error item
        // handed to the call, None for an error ending the stream)
        let cases: [(&str, &[u8], u64, Option<&str>); 6] = [
            (
                "length at limit + 1",
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                4,
                Some("body length 5 over limit 4"),
            ),
            (
                "chunked at limit + 1",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                4,
                Some("body length 5 over limit 4"),
            ),
            (
                "close-delimited at limit + 1",
                b"HTTP/1.1 200 OK\r\n\r\nhello",
                4,
                Some("body length 5 over limit 4"),
            ),
            (
                "bad status line",
                b"HTTP/1.1 2x0 OK\r\n\r\n",
                1024,
                Some("invalid status line"),
            ),
            (
                "cut short in the body",
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel",
                1024,
                None,
            ),
            (
                "cut short in the head",
                b"HTTP/1.1 200 OK\r\ncontent-",
                1024,
                None,
            ),
        ];
        for (name, bytes, max_body, expected) in cases {
            for whole in [true, false] {
                let fed = feed(bytes, max_body, whole);
                let case = format!("{name} (whole: {whole})");
                match expected {
                    Some(message) => {
                        assert!(fed.end.is_ok(), "{case}: the stream stays readable");
                        assert_eq!(fed.items.len(), 1, "{case}: one error item");
                        let error = fed.items[0].as_ref().unwrap_err();
                        assert_eq!(error.to_string(), message, "{case}");
                        assert!(fed.retired, "{case}: retired");
                    }
                    None => {
                        assert!(fed.items.is_empty(), "{case}: no item");
                        assert!(fed.end.unwrap_err().is_incomplete(), "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_body_at_the_limit_is_gathered() {
        for (name, bytes) in [
            (
                "length",
                &b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfour"[..],
            ),
            (
                "chunked",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nfour\r\n0\r\n\r\n",
            ),
            ("close-delimited", b"HTTP/1.1 200 OK\r\n\r\nfour"),
        ] {
            for whole in [true, false] {
                let fed = feed(bytes, 4, whole);
                let response = fed.items[0].as_ref().unwrap();
                assert_eq!(response.body().as_ref(), b"four", "{name} (whole: {whole})");
            }
        }
    }
}
