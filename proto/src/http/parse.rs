//! Parsing whole message heads with httparse into the `http` crate's types.
//!
//! Parsing runs in two stages so a head can be parsed *before* it is split off
//! the read buffer: httparse's findings are kept as byte ranges from the head's
//! start ([`Scratch`]), and the `http` types are built from those ranges of
//! the frozen head afterwards. Header values and the target are slices of that
//! head, not copies.
//!
//! That lets [`parse_whole_request`] serve the common case — a whole head in
//! the buffer at the first look — with one httparse pass and no byte-by-byte
//! [`HeadScanner`](super::head::HeadScanner) pass; anything unusual falls back
//! to the scanner, which reports the precise error.

use std::mem::MaybeUninit;
use std::ops::Range;

use ::http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use ::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use bytes::{Bytes, BytesMut};

use super::error::{Error, ErrorKind};
use super::fields;
use super::head::is_clean;
use super::limits::Limits;
use super::{BodyLength, RequestHead};

/// Parse state a codec keeps between heads, so a parse allocates nothing once
/// warm: room for httparse's header slots and the ranges of the last head
/// parsed. The slots are the spare capacity of an always-empty vector, lent
/// uninitialised: httparse writes only those it fills, where initialised slots
/// would cost a write of every one (`max_headers` of them) per head.
///
/// It also keeps an emptied header map for the next head to fill: a server
/// hands back each response's map once it is written ([`recycle`](Self::recycle)),
/// which saves the next request's map its two allocations and their frees.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Always empty (so `'static` is only a label); its capacity is the slots.
    slots: Vec<httparse::Header<'static>>,
    /// Name and value ranges of each header field, in order.
    fields: Vec<(Range<usize>, Range<usize>)>,
    /// The request target's range (requests only).
    target: Range<usize>,
    /// Empty; its allocations are the next head's.
    map: HeaderMap,
}

/// The most fields a recycled map may have room for: a map grown by an
/// unusual response is not kept for every request after it.
const RECYCLE_UP_TO: usize = 32;

/// Header slots a parse starts with. The slots stay allocated for a
/// connection's life (32 bytes each: 3 KiB at the default limit of 100
/// fields, per idle connection), and nearly every head has fewer fields than
/// this; one with more is parsed again with room for the whole limit.
const FEW_SLOTS: usize = 16;

impl Scratch {
    /// Runs `parse` (an httparse pass) with room for [`FEW_SLOTS`] header
    /// slots, and once more with room for `max` if the head has more fields
    /// than that.
    fn with_slots<'b, R>(
        &mut self,
        max: usize,
        mut parse: impl FnMut(
            &mut Scratch,
            &mut [MaybeUninit<httparse::Header<'b>>],
        ) -> Result<R, httparse::Error>,
    ) -> Result<R, httparse::Error> {
        let few = FEW_SLOTS.min(max);
        let mut slots = self.take_slots(few);
        let mut parsed = parse(self, slots.uninit());
        if few < max && matches!(parsed, Err(httparse::Error::TooManyHeaders)) {
            self.give_back(slots);
            slots = self.take_slots(max);
            parsed = parse(self, slots.uninit());
        }
        self.give_back(slots);
        parsed
    }

    /// Lends the room for `n` header slots, for a parse of a buffer with
    /// lifetime `'b`; [`Slots::uninit`] gives them to httparse.
    fn take_slots<'b>(&mut self, n: usize) -> Slots<'b> {
        let mut slots = relabel(std::mem::take(&mut self.slots));
        slots.reserve(n);
        Slots { vec: slots, n }
    }

    /// Takes the slots back, keeping their allocation.
    fn give_back(&mut self, slots: Slots<'_>) {
        self.slots = relabel(slots.vec);
    }

    /// Keeps `map`'s allocations for the next head, emptied, unless one is
    /// kept already or it has room for more than [`RECYCLE_UP_TO`] fields.
    pub(crate) fn recycle(&mut self, mut map: HeaderMap) {
        if self.map.capacity() == 0 && map.capacity() <= RECYCLE_UP_TO {
            map.clear();
            self.map = map;
        }
    }

    /// Records the ranges of `headers` within `buf`.
    fn note_fields(&mut self, buf: &[u8], headers: &[httparse::Header<'_>]) {
        self.fields.clear();
        self.fields.extend(
            headers
                .iter()
                .map(|h| (span(buf, h.name.as_bytes()), span(buf, h.value))),
        );
    }
}

/// Moves an empty vector's allocation to a vector of another lifetime.
///
/// `Vec`'s in-place collection reuses the allocation because the element types
/// have one layout; the vector is emptied first, so no borrowed slice outlives
/// its buffer.
fn relabel<'a, 'b>(mut v: Vec<httparse::Header<'a>>) -> Vec<httparse::Header<'b>> {
    v.clear();
    v.into_iter().map(|_| httparse::EMPTY_HEADER).collect()
}

/// Room for header slots, lent by [`Scratch::take_slots`].
struct Slots<'b> {
    /// Empty, with capacity for at least `n`.
    vec: Vec<httparse::Header<'b>>,
    n: usize,
}

impl<'b> Slots<'b> {
    /// The `n` slots, uninitialised; what httparse writes there stays in the
    /// spare capacity (the vector's length stays 0), so nothing needs undoing.
    fn uninit(&mut self) -> &mut [MaybeUninit<httparse::Header<'b>>] {
        &mut self.vec.spare_capacity_mut()[..self.n]
    }
}

/// Where `part`, a subslice of `buf` (httparse returns only such), lies in it.
fn span(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// Which framing fields a head has, noted while its map is built, so framing
/// looks up only the fields that are there (each map lookup hashes the name).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Present {
    pub(crate) host: usize,
    pub(crate) transfer_encoding: bool,
    pub(crate) content_length: bool,
    pub(crate) connection: bool,
    pub(crate) expect: bool,
}

impl Present {
    fn note(&mut self, name: &HeaderName) {
        if *name == HOST {
            self.host += 1;
        } else if *name == CONTENT_LENGTH {
            self.content_length = true;
        } else if *name == CONNECTION {
            self.connection = true;
        } else if *name == TRANSFER_ENCODING {
            self.transfer_encoding = true;
        } else if *name == EXPECT {
            self.expect = true;
        }
    }
}

/// A request line httparse accepted; the target and fields are in the
/// [`Scratch`] it was parsed with.
#[derive(Debug)]
pub(crate) struct RequestLine {
    /// Length of the whole head, its empty line included.
    len: usize,
    method: Method,
    version: Version,
}

/// Parses the head at the start of `src` if it is already whole and plain
/// (within the limits, CRLF line endings only, no folding), then splits it
/// off. `None` — with `src` untouched — when it is not whole or anything is
/// unusual: the caller then scans it with [`HeadScanner`](super::head::HeadScanner)
/// and parses with [`parse_request`], which report the precise error.
pub(crate) fn parse_whole_request(
    src: &mut BytesMut,
    scratch: &mut Scratch,
    limits: &Limits,
) -> Option<Result<RequestHead, Error>> {
    if src.is_empty() {
        return None;
    }
    let line = parse_request_line(src, scratch, limits).ok()??;
    let plain = line.len <= limits.max_head_bytes
        && scratch.target.len() <= limits.max_uri_len
        && is_clean(&src[..line.len]);
    if !plain {
        return None;
    }
    let head = src.split_to(line.len).freeze();
    Some(build_request(&head, line, scratch, limits))
}

/// Parses a whole request head (as found by the scanner) and applies the
/// request rules of RFC 9112 §3 and §6.
pub(crate) fn parse_request(
    head: &Bytes,
    scratch: &mut Scratch,
    limits: &Limits,
) -> Result<RequestHead, Error> {
    // The scanner saw the head end; httparse wanting more means the start line
    // ended early (e.g. no version).
    let line = parse_request_line(head, scratch, limits)?.ok_or(ErrorKind::LineEnding)?;
    build_request(head, line, scratch, limits)
}

/// Runs httparse over the head at the start of `buf`: `None` if it is not
/// whole. The target and field ranges go to `scratch`.
fn parse_request_line(
    buf: &[u8],
    scratch: &mut Scratch,
    limits: &Limits,
) -> Result<Option<RequestLine>, Error> {
    let slots = limits.max_headers;
    let parsed = scratch.with_slots(slots, |scratch, headers| {
        let mut req = httparse::Request::new(&mut []);
        Ok(match req.parse_with_uninit_headers(buf, headers)? {
            httparse::Status::Complete(len) => request_line(buf, len, &req, scratch),
            httparse::Status::Partial => Ok(None),
        })
    });
    match parsed {
        Ok(line) => line,
        Err(httparse::Error::Token) => Err(token_error(buf)),
        Err(e) => Err(httparse_error(e, slots)),
    }
}

/// The typed request line of a complete httparse request; records ranges.
fn request_line(
    buf: &[u8],
    len: usize,
    req: &httparse::Request<'_, '_>,
    scratch: &mut Scratch,
) -> Result<Option<RequestLine>, Error> {
    let method = req
        .method
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or(ErrorKind::InvalidMethod)?;
    let target = req.path.ok_or(ErrorKind::InvalidTarget)?;
    scratch.target = span(buf, target.as_bytes());
    let version = http_version(req.version)?;
    scratch.note_fields(buf, req.headers);
    Ok(Some(RequestLine {
        len,
        method,
        version,
    }))
}

/// Builds the request from the ranges `scratch` holds for `head`.
fn build_request(
    head: &Bytes,
    line: RequestLine,
    scratch: &mut Scratch,
    limits: &Limits,
) -> Result<RequestHead, Error> {
    let target = Uri::from_maybe_shared(head.slice(scratch.target.clone()))
        .map_err(|_| ErrorKind::InvalidTarget)?;
    let (map, present) = header_map(head, &scratch.fields, std::mem::take(&mut scratch.map))?;
    let framing = fields::request_framing(&map, present, line.version, limits)?;
    let mut request = Request::new(());
    *request.method_mut() = line.method;
    *request.uri_mut() = target;
    *request.version_mut() = line.version;
    *request.headers_mut() = map;
    Ok(RequestHead {
        request,
        body: framing.body,
        keep_alive: framing.keep_alive,
        expect_continue: framing.expect_continue,
    })
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

/// Fills `map` (empty) with header fields whose values share `head`, noting
/// the framing fields.
fn header_map(
    head: &Bytes,
    fields: &[(Range<usize>, Range<usize>)],
    mut map: HeaderMap,
) -> Result<(HeaderMap, Present), Error> {
    map.reserve(fields.len());
    let mut present = Present::default();
    for (name, value) in fields {
        let name = HeaderName::from_bytes(&head[name.clone()])
            .map_err(|_| ErrorKind::InvalidHeaderName)?;
        let value = HeaderValue::from_maybe_shared(head.slice(value.clone()))
            .map_err(|_| ErrorKind::InvalidHeaderValue)?;
        present.note(&name);
        map.append(name, value);
    }
    Ok((map, present))
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
    scratch: &mut Scratch,
    limits: &Limits,
    method: &Method,
) -> Result<ResponseHead, Error> {
    let slots = limits.max_headers;
    let parsed = scratch.with_slots(slots, |scratch, headers| {
        let mut res = httparse::Response::new(&mut []);
        let config = httparse::ParserConfig::default();
        Ok(
            match config.parse_response_with_uninit_headers(&mut res, head, headers)? {
                httparse::Status::Complete(_) => {
                    scratch.note_fields(head, res.headers);
                    Ok((res.code, res.version))
                }
                httparse::Status::Partial => Err(Error::from(ErrorKind::InvalidStatus)),
            },
        )
    });
    let (code, version) = parsed.map_err(|e| httparse_error(e, slots))??;
    let status = code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ErrorKind::InvalidStatus)?;
    let version = http_version(version)?;
    let (map, present) = header_map(head, &scratch.fields, std::mem::take(&mut scratch.map))?;
    let framing = fields::response_framing(&map, present, version, status, method, limits)?;
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
