//! Message heads: finding where a head ends, then parsing it with httparse into
//! the `http` crate's types.
//!
//! httparse reparses from the start on every call and reports nothing until the
//! head is whole, so on its own it would let a peer make us buffer an endless
//! request target, and would cost O(n²) on a head that trickles in a byte at a
//! time. [`HeadScanner`] therefore looks at each byte once, enforces the limits
//! as bytes arrive, checks line endings, and hands httparse only whole heads.
//! Header values are slices of the frozen head buffer, not copies.

use ::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use bytes::Bytes;

use super::error::{Error, ErrorKind};
use super::fields;
use super::limits::Limits;
use super::{BodyLength, RequestHead};

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

/// httparse header slots kept by a codec between heads, so a parse allocates
/// none. Empty between uses; `'static` only while empty.
#[derive(Debug, Default)]
pub(crate) struct HeaderSlots(Vec<httparse::Header<'static>>);

impl HeaderSlots {
    /// Lends `n` empty slots for a parse of a buffer with lifetime `'b`.
    fn take<'b>(&mut self, n: usize) -> Vec<httparse::Header<'b>> {
        let mut slots = relabel(std::mem::take(&mut self.0));
        slots.resize(n, httparse::EMPTY_HEADER);
        slots
    }

    /// Takes the slots back, emptied, keeping their allocation.
    fn give_back(&mut self, mut slots: Vec<httparse::Header<'_>>) {
        slots.clear();
        self.0 = relabel(slots);
    }
}

/// Moves an empty vector's allocation to a vector of another lifetime.
///
/// `Vec`'s in-place collection reuses the allocation because the element types
/// have one layout; the vector is empty, so no borrowed slice outlives its buffer.
fn relabel<'a, 'b>(mut v: Vec<httparse::Header<'a>>) -> Vec<httparse::Header<'b>> {
    v.clear();
    v.into_iter().map(|_| httparse::EMPTY_HEADER).collect()
}

/// Parses a whole request head (as found by [`HeadScanner`]) and applies the
/// request rules of RFC 9112 §3 and §6.
pub(crate) fn parse_request(
    head: &Bytes,
    slots: &mut HeaderSlots,
    limits: &Limits,
) -> Result<RequestHead, Error> {
    let mut headers = slots.take(limits.max_headers);
    let parsed = parse_request_parts(head, &mut headers);
    slots.give_back(headers);
    let (method, target, version, map) = parsed?;
    let framing = fields::request_framing(&map, version, limits)?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = target;
    *request.version_mut() = version;
    *request.headers_mut() = map;
    Ok(RequestHead {
        request,
        body: framing.body,
        keep_alive: framing.keep_alive,
        expect_continue: framing.expect_continue,
    })
}

/// The request line and header map of a head.
type RequestParts = (Method, Uri, Version, HeaderMap);

fn parse_request_parts<'b>(
    head: &'b Bytes,
    headers: &mut [httparse::Header<'b>],
) -> Result<RequestParts, Error> {
    let slots = headers.len();
    let mut req = httparse::Request::new(headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        // The scanner saw the head end; httparse wanting more means the start
        // line ended early (e.g. no version).
        Ok(httparse::Status::Partial) => return Err(ErrorKind::LineEnding.into()),
        Err(httparse::Error::Token) => return Err(token_error(head)),
        Err(e) => return Err(httparse_error(e, slots)),
    }
    let method = req
        .method
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or(ErrorKind::InvalidMethod)?;
    let target = req
        .path
        .and_then(|p| Uri::from_maybe_shared(head.slice_ref(p.as_bytes())).ok())
        .ok_or(ErrorKind::InvalidTarget)?;
    let version = http_version(req.version)?;
    let map = header_map(head, req.headers)?;
    Ok((method, target, version, map))
}

/// httparse reports a bad method and a bad target both as `Token`; the method
/// is the bytes before the first space, so look at which one is at fault.
fn token_error(head: &[u8]) -> Error {
    let method = head.split(|&b| b == b' ').next().unwrap_or_default();
    if !method.is_empty() && Method::from_bytes(method).is_ok() {
        ErrorKind::InvalidTarget.into()
    } else {
        ErrorKind::InvalidMethod.into()
    }
}

/// Maps an httparse error to ours; `slots` is the header limit it was given.
fn httparse_error(e: httparse::Error, slots: usize) -> Error {
    match e {
        httparse::Error::HeaderName => ErrorKind::InvalidHeaderName,
        httparse::Error::HeaderValue => ErrorKind::InvalidHeaderValue,
        httparse::Error::NewLine => ErrorKind::LineEnding,
        httparse::Error::Status => ErrorKind::InvalidStatus,
        httparse::Error::Token => ErrorKind::InvalidMethod,
        httparse::Error::TooManyHeaders => ErrorKind::TooManyHeaders {
            count: slots + 1,
            limit: slots,
        },
        httparse::Error::Version => ErrorKind::UnsupportedVersion,
    }
    .into()
}

/// httparse accepts only `HTTP/1.0` and `HTTP/1.1` (RFC 9112 §2.3).
fn http_version(minor: Option<u8>) -> Result<Version, Error> {
    match minor {
        Some(0) => Ok(Version::HTTP_10),
        Some(1) => Ok(Version::HTTP_11),
        _ => Err(ErrorKind::UnsupportedVersion.into()),
    }
}

/// Builds a header map whose values share the head buffer.
fn header_map(head: &Bytes, headers: &[httparse::Header<'_>]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| ErrorKind::InvalidHeaderName)?;
        let value = HeaderValue::from_maybe_shared(head.slice_ref(h.value))
            .map_err(|_| ErrorKind::InvalidHeaderValue)?;
        map.append(name, value);
    }
    Ok(map)
}

/// A parsed response head and how its body is framed.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) response: Response<()>,
    pub(crate) body: BodyLength,
    pub(crate) keep_alive: bool,
}

/// Parses a whole response head to a request made with `method`, applying
/// RFC 9112 §6.3 for responses.
pub(crate) fn parse_response(
    head: &Bytes,
    slots: &mut HeaderSlots,
    limits: &Limits,
    method: &Method,
) -> Result<ResponseHead, Error> {
    let mut headers = slots.take(limits.max_headers);
    let parsed = parse_response_parts(head, &mut headers);
    slots.give_back(headers);
    let (status, version, map) = parsed?;
    let framing = fields::response_framing(&map, version, status, method, limits)?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = map;
    Ok(ResponseHead {
        response,
        body: framing.body,
        keep_alive: framing.keep_alive,
    })
}

fn parse_response_parts<'b>(
    head: &'b Bytes,
    headers: &mut [httparse::Header<'b>],
) -> Result<(StatusCode, Version, HeaderMap), Error> {
    let slots = headers.len();
    let mut res = httparse::Response::new(headers);
    match res.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ErrorKind::InvalidStatus.into()),
        Err(e) => return Err(httparse_error(e, slots)),
    }
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ErrorKind::InvalidStatus)?;
    let version = http_version(res.version)?;
    let map = header_map(head, res.headers)?;
    Ok((status, version, map))
}
