//! The client side of HTTP/1.1: encodes requests, decodes responses.
//!
//! A response can only be framed knowing its request (a response to HEAD has no
//! body whatever its headers say, RFC 9112 §6.3), so the codec keeps the
//! methods of requests written but not yet answered, oldest first. That FIFO is
//! bounded by the client dispatcher's in-flight limit: it grows by one per
//! request the caller chooses to encode.

use std::collections::VecDeque;

use ::http::{Method, Request, StatusCode};
use bytes::{Bytes, BytesMut};

use super::body::{BodyDecoder, BodyEvent, BodyWriter};
use super::encode::request_head;
use super::error::{Error, ErrorKind};
use super::head::HeadScanner;
use super::limits::Limits;
use super::parse::{parse_response, Scratch};
use super::{BodyLength, RequestPart, ResponsePart};
use crate::codec::{Decoder, Encoder};

/// Where the response decoder is.
#[derive(Debug)]
enum DecodeState {
    /// Waiting for (part of) a response head.
    Head(HeadScanner),
    /// The head of a bodiless response was returned; its end comes next.
    End,
    /// Inside a response body.
    Body(BodyDecoder),
    /// A `101 Switching Protocols` or a 2xx to CONNECT was returned: the bytes
    /// that follow are not HTTP/1.1 and are left in the buffer for the caller.
    Upgraded,
    /// Nothing more is decoded: the last response closes the connection, or
    /// decoding failed.
    Closed,
}

/// HTTP/1.1 client codec: [`Encoder`] of whole `http::Request<Bytes>` and of
/// streamed [`RequestPart`]s, [`Decoder`] of [`ResponsePart`]s.
///
/// Informational responses (1xx) other than 101 are skipped (RFC 9110 §15.2).
/// A 101, or a 2xx to CONNECT, is returned as a head with no end, after which
/// the codec decodes nothing: the rest of the stream belongs to the new protocol.
#[derive(Debug)]
pub struct ClientCodec {
    limits: Limits,
    state: DecodeState,
    scratch: Scratch,
    /// Methods of requests written and not yet answered, oldest first.
    outstanding: VecDeque<Method>,
    /// The body writer of the request being encoded; `None` between requests.
    writer: Option<BodyWriter>,
    /// Set when a decoded response closes the connection after its body.
    close_after: bool,
}

impl Default for ClientCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCodec {
    /// A codec with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A codec with the given limits (`max_uri_len` does not apply to responses).
    pub fn with_limits(limits: Limits) -> Self {
        ClientCodec {
            limits,
            state: DecodeState::Head(HeadScanner::new(false)),
            scratch: Scratch::default(),
            outstanding: VecDeque::new(),
            writer: None,
            close_after: false,
        }
    }

    /// The limits this codec enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// True once a decoded response said the connection closes after it: by
    /// `Connection: close`, by HTTP/1.0 without keep-alive, or by a body that
    /// runs until the close. Requests still outstanding will get no response.
    pub fn should_close(&self) -> bool {
        self.close_after
    }

    /// Requests written that have not had their final response head decoded.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    fn fail(&mut self, err: Error) -> Error {
        self.state = DecodeState::Closed;
        err
    }

    fn end_response(&mut self) -> ResponsePart {
        self.state = if self.close_after {
            DecodeState::Closed
        } else {
            DecodeState::Head(HeadScanner::new(false))
        };
        ResponsePart::End
    }

    fn decode_head(&mut self, src: &mut BytesMut) -> Result<Option<ResponsePart>, Error> {
        loop {
            let DecodeState::Head(scanner) = &mut self.state else {
                return Ok(None);
            };
            let Some(len) = scanner.scan(src, &self.limits)? else {
                return Ok(None);
            };
            let method = self
                .outstanding
                .front()
                .ok_or(ErrorKind::UnexpectedResponse)?;
            let head = src.split_to(len).freeze();
            let parsed = parse_response(&head, &mut self.scratch, &self.limits, method)?;
            let status = parsed.response.status();
            let tunnel = status == StatusCode::SWITCHING_PROTOCOLS
                || (*method == Method::CONNECT && status.is_success());
            if status.is_informational() && !tunnel {
                // RFC 9110 §15.2: a client MUST parse and may ignore an
                // unexpected 1xx; the final response follows.
                self.state = DecodeState::Head(HeadScanner::new(false));
                continue;
            }
            self.outstanding.pop_front();
            self.close_after |= !parsed.keep_alive;
            self.state = if tunnel {
                DecodeState::Upgraded
            } else {
                match BodyDecoder::new(parsed.body) {
                    Some(body) => DecodeState::Body(body),
                    None => DecodeState::End,
                }
            };
            return Ok(Some(ResponsePart::Head(parsed.response, parsed.body)));
        }
    }

    fn body_event(&mut self, event: Option<BodyEvent>) -> Option<ResponsePart> {
        match event? {
            BodyEvent::Data(data) => Some(ResponsePart::Data(data)),
            BodyEvent::End => Some(self.end_response()),
        }
    }

    fn begin_request(&mut self, request: &Request<()>, body: BodyLength, dst: &mut BytesMut) {
        self.writer = Some(request_head(request, body, dst));
        self.outstanding.push_back(request.method().clone());
    }
}

impl Decoder for ClientCodec {
    type Item = ResponsePart;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ResponsePart>, Error> {
        match &mut self.state {
            DecodeState::Head(_) => self.decode_head(src).map_err(|e| self.fail(e)),
            DecodeState::End => Ok(Some(self.end_response())),
            DecodeState::Body(body) => match body.decode(src, &self.limits) {
                Ok(event) => Ok(self.body_event(event)),
                Err(e) => Err(self.fail(e)),
            },
            DecodeState::Upgraded => Ok(None),
            DecodeState::Closed => {
                // Nothing after a closing response is a response.
                src.clear();
                Ok(None)
            }
        }
    }

    /// At end of stream a close-delimited body ends (RFC 9112 §6.3 step 8): the
    /// rest of the buffer is its last data, then its end. Anything else cut
    /// short is [`ErrorKind::IncompleteMessage`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ResponsePart>, Error> {
        match &mut self.state {
            DecodeState::Body(body) => match body.decode_eof(src, &self.limits) {
                Ok(event) => Ok(self.body_event(event)),
                Err(e) => Err(self.fail(e)),
            },
            DecodeState::Head(scanner) if scanner.at_start() && src.is_empty() => Ok(None),
            DecodeState::Head(_) => match self.decode(src)? {
                Some(part) => Ok(Some(part)),
                None => Err(self.fail(ErrorKind::IncompleteMessage.into())),
            },
            _ => self.decode(src),
        }
    }
}

impl Encoder<Request<Bytes>> for ClientCodec {
    type Error = Error;

    /// Encodes a whole request, framed by `content-length` when it has a body.
    fn encode(&mut self, item: Request<Bytes>, dst: &mut BytesMut) -> Result<(), Error> {
        if self.writer.is_some() {
            return Err(ErrorKind::OutOfOrder.into());
        }
        let (parts, data) = item.into_parts();
        let head = Request::from_parts(parts, ());
        let body = match data.len() {
            0 => BodyLength::Empty,
            n => BodyLength::Length(n as u64),
        };
        self.begin_request(&head, body, dst);
        self.encode(RequestPart::Data(data), dst)?;
        self.encode(RequestPart::End, dst)
    }
}

impl Encoder<RequestPart> for ClientCodec {
    type Error = Error;

    /// Encodes a streamed request. Of the [`RequestHead`](super::RequestHead),
    /// only `request` and `body` are used: the framing fields are written from
    /// `body`, and `keep_alive`/`expect_continue` are the request's own headers'
    /// business.
    fn encode(&mut self, item: RequestPart, dst: &mut BytesMut) -> Result<(), Error> {
        match item {
            RequestPart::Head(_) if self.writer.is_some() => Err(ErrorKind::OutOfOrder.into()),
            RequestPart::Head(head) => {
                self.begin_request(&head.request, head.body, dst);
                Ok(())
            }
            RequestPart::Data(data) => match &mut self.writer {
                Some(writer) => writer.data(&data, dst),
                None => Err(ErrorKind::OutOfOrder.into()),
            },
            RequestPart::End => match self.writer.take() {
                Some(writer) => writer.end(dst),
                None => Err(ErrorKind::OutOfOrder.into()),
            },
        }
    }
}
