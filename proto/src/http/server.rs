//! The server side of HTTP/1.1: decodes requests, encodes responses.
//!
//! Responses go out in request order (RFC 9112 §9.3.2), and how a response is
//! framed depends on its request (HEAD has no body, HTTP/1.0 gets no chunked
//! coding, `Connection: close` ends the connection). So the codec keeps a FIFO
//! of what it knows about each request decoded but not yet answered, and the
//! encoder takes the oldest entry for each final response it writes.

use std::collections::VecDeque;

use ::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use ::http::{HeaderValue, Method, Response, StatusCode};
use bytes::{Bytes, BytesMut};

use super::body::{BodyDecoder, BodyEvent, BodyWriter};
use super::date::DateCache;
use super::encode::{response_head, Answering};
use super::error::{Error, ErrorKind};
use super::head::HeadScanner;
use super::limits::Limits;
use super::parse::{parse_request, parse_whole_request, Scratch};
use super::{BodyLength, RequestPart, ResponsePart};
use crate::codec::{Decoder, Encoder};

/// Most requests decoded but not yet answered: a hard cap on the FIFO.
///
/// The real bound is what the dispatcher allows in flight, normally far lower;
/// this cap only keeps a dispatcher that forgets to stop decoding from growing
/// the FIFO without bound. Decoding request number 1025 while 1024 are
/// unanswered fails with `503 Service Unavailable`.
pub const MAX_UNANSWERED: usize = 1024;

/// Where the request decoder is.
#[derive(Debug)]
enum DecodeState {
    /// Waiting for (part of) a request head.
    Head(HeadScanner),
    /// The head of a bodiless request was returned; its end comes next.
    End,
    /// Inside a request body.
    Body(BodyDecoder),
    /// Nothing more is decoded: the last request asked to close (RFC 9112
    /// §9.6: no further requests are processed), or decoding failed.
    Closed,
}

/// HTTP/1.1 server codec: [`Decoder`] of [`RequestPart`]s, [`Encoder`] of
/// [`ResponsePart`]s and of whole `http::Response<Bytes>`.
///
/// # The dispatcher's protocol
///
/// - Decode parts; hand each request to the service; encode responses in the
///   order requests arrived, each as a head, data parts and an end (or a whole
///   `http::Response<Bytes>`).
/// - After each response, if [`ServerCodec::should_close`] is true, flush and
///   close the connection.
/// - On a decode error, answer the requests decoded before it, then encode
///   [`ServerCodec::error_response`] and close (it sets `should_close`).
/// - `Expect: 100-continue` (RFC 9110 §10.1.1): when
///   [`ServerCodec::continue_needed`] is true, the client waits for an interim
///   response before sending the body. To read the body, encode a
///   `100 Continue` head (`ResponsePart::Head` with status 100, no end follows);
///   to refuse it, encode the final response instead: the codec then closes
///   the connection after it, since the body will never be read.
#[derive(Debug)]
pub struct ServerCodec {
    limits: Limits,
    state: DecodeState,
    /// The request being decoded lets the connection persist.
    keep_alive: bool,
    /// The request being decoded sent `Expect: 100-continue`, and neither a
    /// `100 Continue`, a body byte nor its final response has happened yet.
    expecting: bool,
    scratch: Scratch,
    /// Requests decoded and not yet answered by a final response, oldest first.
    unanswered: VecDeque<Answering>,
    /// The body writer of the response being encoded; `None` between responses.
    writer: Option<BodyWriter>,
    /// Set when a response was encoded after which the connection must close.
    close_after: bool,
    date: DateCache,
}

impl Default for ServerCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerCodec {
    /// A codec with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A codec with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        ServerCodec {
            limits,
            state: DecodeState::Head(HeadScanner::new(true)),
            keep_alive: true,
            expecting: false,
            scratch: Scratch::default(),
            unanswered: VecDeque::new(),
            writer: None,
            close_after: false,
            date: DateCache::new(),
        }
    }

    /// The limits this codec enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Frees the room kept between requests (the header slots, the recycled
    /// header map, the queue of unanswered requests), for an idle
    /// connection; the next request makes it again.
    pub(crate) fn release(&mut self) {
        self.scratch = Scratch::default();
        if self.unanswered.is_empty() {
            self.unanswered = VecDeque::new();
        }
    }

    /// Whether the codec is between requests: no request head, body or
    /// response under way, every request answered, the connection not
    /// closing. A new codec with the same limits would then decode the
    /// connection's next bytes as this one would.
    pub(crate) fn between_requests(&self) -> bool {
        let waiting = match &self.state {
            DecodeState::Head(scanner) => scanner.at_start(),
            // A bodiless request's end, which carries no bytes.
            DecodeState::End => true,
            DecodeState::Body(_) | DecodeState::Closed => false,
        };
        waiting
            && !self.expecting
            && self.unanswered.is_empty()
            && self.writer.is_none()
            && !self.close_after
    }

    /// True once a response was encoded after which the connection must close:
    /// its request asked to, the response said so, its body is delimited by the
    /// close, or the request's framing was suspect. Close after flushing it.
    pub fn should_close(&self) -> bool {
        self.close_after
    }

    /// True when the client waits for `100 Continue` before sending the body of
    /// the request being decoded, and that request is the oldest unanswered
    /// one, so an interim response now belongs to it. See the module docs.
    pub fn continue_needed(&self) -> bool {
        self.expecting && self.unanswered.len() == 1
    }

    /// The response a server sends for a decode error: its status,
    /// `connection: close`, and the error message as a short text body.
    pub fn error_response(err: &Error) -> Response<Bytes> {
        let body = Bytes::from(format!("{err}\n"));
        let mut response = Response::new(body.clone());
        *response.status_mut() = err.status();
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        response
    }

    /// Stops decoding for good and reports `err`.
    fn fail(&mut self, err: Error) -> Error {
        self.state = DecodeState::Closed;
        err
    }

    /// A request ended: go on to the next one, or stop if this one closes.
    fn end_request(&mut self) -> RequestPart {
        self.expecting = false;
        self.state = if self.keep_alive {
            DecodeState::Head(HeadScanner::new(true))
        } else {
            DecodeState::Closed
        };
        RequestPart::End
    }

    fn decode_head(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, Error> {
        let DecodeState::Head(scanner) = &mut self.state else {
            return Ok(None);
        };
        if scanner.at_start() {
            // RFC 9112 §2.2: a server SHOULD ignore at least one empty line
            // before a request line (some clients send CRLF after a body). A lone
            // LF counts as one too, as in hyper and nginx: it is what a client
            // whose `content-length` was one short of its body leaves behind.
            // Nothing before the request line can be smuggled through it, so
            // this leniency costs none of the head's strictness.
            loop {
                let empty_line = match src.as_ref() {
                    [b'\r', b'\n', ..] => 2,
                    [b'\n', ..] => 1,
                    _ => break,
                };
                let _ = src.split_to(empty_line);
            }
            if src.as_ref() == b"\r" {
                // Maybe the first half of another empty line: wait for its LF.
                return Ok(None);
            }
        }
        let whole = if scanner.at_start() {
            parse_whole_request(src, &mut self.scratch, &self.limits)
        } else {
            None
        };
        let parsed = match whole {
            Some(parsed) => parsed?,
            None => {
                let Some(len) = scanner.scan(src, &self.limits)? else {
                    return Ok(None);
                };
                let head = src.split_to(len).freeze();
                parse_request(&head, &mut self.scratch, &self.limits)?
            }
        };
        if self.unanswered.len() >= MAX_UNANSWERED {
            return Err(ErrorKind::TooManyUnanswered {
                limit: MAX_UNANSWERED,
            }
            .into());
        }
        self.unanswered.push_back(Answering {
            head: parsed.request.method() == Method::HEAD,
            version: parsed.request.version(),
            keep_alive: parsed.keep_alive,
        });
        self.keep_alive = parsed.keep_alive;
        self.expecting = parsed.expect_continue;
        self.state = match BodyDecoder::new(parsed.body) {
            Some(body) => DecodeState::Body(body),
            None => DecodeState::End,
        };
        Ok(Some(RequestPart::Head(parsed)))
    }

    fn encode_head(
        &mut self,
        response: &Response<()>,
        body: BodyLength,
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if self.writer.is_some() {
            return Err(ErrorKind::OutOfOrder.into());
        }
        let status = response.status();
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            let answering = self
                .unanswered
                .front()
                .copied()
                .unwrap_or(Answering::UNSOLICITED);
            // RFC 9110 §15.2: a server MUST NOT send a 1xx to an HTTP/1.0 client.
            if answering.version == ::http::Version::HTTP_11 {
                response_head(response, body, answering, false, &mut self.date, dst);
            }
            if status == StatusCode::CONTINUE {
                self.expecting = false;
            }
            return Ok(());
        }
        let answering = self
            .unanswered
            .pop_front()
            .unwrap_or(Answering::UNSOLICITED);
        // Answering a request whose client still waits for 100 Continue: its
        // body will never be read, so the connection cannot be reused
        // (RFC 9110 §10.1.1 lets the server close instead of reading it).
        let refused_body = self.expecting && self.unanswered.is_empty();
        if refused_body {
            self.expecting = false;
        }
        let (writer, close) =
            response_head(response, body, answering, refused_body, &mut self.date, dst);
        self.close_after |= close;
        self.writer = Some(writer);
        Ok(())
    }
}

impl ServerCodec {
    /// Counts `len` bytes of the body being encoded that the caller writes
    /// itself, right after what was encoded (a file range sent from the
    /// file). Only a body framed by its length (or by the close) can take
    /// them.
    pub(crate) fn encode_external(&mut self, len: u64) -> Result<(), Error> {
        match &mut self.writer {
            Some(writer) => writer.external(len),
            None => Err(ErrorKind::OutOfOrder.into()),
        }
    }
}

impl Decoder for ServerCodec {
    type Item = RequestPart;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, Error> {
        match &mut self.state {
            DecodeState::Head(_) => self.decode_head(src).map_err(|e| self.fail(e)),
            DecodeState::End => Ok(Some(self.end_request())),
            DecodeState::Body(body) => match body.decode(src, &self.limits) {
                Ok(Some(BodyEvent::Data(data))) => {
                    // The client sent body bytes without waiting: no 100 needed.
                    self.expecting = false;
                    Ok(Some(RequestPart::Data(data)))
                }
                Ok(Some(BodyEvent::End)) => Ok(Some(self.end_request())),
                Ok(None) => Ok(None),
                Err(e) => Err(self.fail(e)),
            },
            DecodeState::Closed => {
                // Bytes after a closing request are never processed (RFC 9112 §9.6).
                src.clear();
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, Error> {
        if let Some(part) = self.decode(src)? {
            return Ok(Some(part));
        }
        match &self.state {
            DecodeState::Head(scanner) if scanner.at_start() && src.is_empty() => Ok(None),
            DecodeState::Closed => Ok(None),
            _ => Err(self.fail(ErrorKind::IncompleteMessage.into())),
        }
    }
}

impl Encoder<ResponsePart> for ServerCodec {
    type Error = Error;

    fn encode(&mut self, item: ResponsePart, dst: &mut BytesMut) -> Result<(), Error> {
        match item {
            ResponsePart::Head(mut response, body) => {
                let encoded = self.encode_head(&response, body, dst);
                self.scratch.recycle(std::mem::take(response.headers_mut()));
                encoded
            }
            ResponsePart::Data(data) => match &mut self.writer {
                Some(writer) => writer.data(&data, dst),
                None => Err(ErrorKind::OutOfOrder.into()),
            },
            ResponsePart::End => match self.writer.take() {
                Some(writer) => writer.end(dst),
                None => Err(ErrorKind::OutOfOrder.into()),
            },
        }
    }
}

impl Encoder<Response<Bytes>> for ServerCodec {
    type Error = Error;

    /// Encodes a whole response, framed by `content-length` (or without a body
    /// where its status or request forbids one).
    fn encode(&mut self, item: Response<Bytes>, dst: &mut BytesMut) -> Result<(), Error> {
        let (parts, data) = item.into_parts();
        let mut head = Response::from_parts(parts, ());
        let informational =
            head.status().is_informational() && head.status() != StatusCode::SWITCHING_PROTOCOLS;
        let body = match data.len() {
            0 => BodyLength::Empty,
            n => BodyLength::Length(n as u64),
        };
        self.encode_head(&head, body, dst)?;
        // Written: the next request's fields may have the map's room.
        self.scratch.recycle(std::mem::take(head.headers_mut()));
        if informational {
            return Ok(());
        }
        if !data.is_empty() {
            self.encode(ResponsePart::Data(data), dst)?;
        }
        self.encode(ResponsePart::End, dst)
    }
}
