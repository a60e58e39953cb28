//! The header fields that frame a message and manage the connection:
//! `Content-Length`, `Transfer-Encoding`, `Connection`, `Host`, `Expect`.
//!
//! Disagreement between two parsers on where a message ends is how request
//! smuggling works, so every ambiguous case here is an error rather than a guess,
//! each beside the RFC rule it applies.

use ::http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::error::{Error, ErrorKind};
use super::limits::Limits;
use super::parse::Present;
use super::BodyLength;

/// How a request's body is framed and what the connection does after it.
#[derive(Debug)]
pub(crate) struct RequestFraming {
    pub(crate) body: BodyLength,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// How a response's body is framed and whether the connection stays open.
#[derive(Debug)]
pub(crate) struct ResponseFraming {
    pub(crate) body: BodyLength,
    pub(crate) keep_alive: bool,
}

/// What `Transfer-Encoding` says about framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    /// Only `chunked`, once, last.
    Chunked,
    /// `chunked` last, after codings we do not implement.
    ChunkedAfterOthers,
    /// The final coding is not `chunked` (or the list is empty).
    NotChunkedLast,
}

/// Applies RFC 9112 §3.2 (Host) and §6.3 (message body length) to a request.
///
/// `present` says which framing fields `map` has; absent ones are not looked up.
pub(crate) fn request_framing(
    map: &HeaderMap,
    present: Present,
    version: Version,
    limits: &Limits,
) -> Result<RequestFraming, Error> {
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any
    // request with more than one.
    match present.host {
        0 if version == Version::HTTP_11 => return Err(ErrorKind::MissingHost.into()),
        0 | 1 => {}
        _ => return Err(ErrorKind::MultipleHosts.into()),
    }
    let coding = transfer_coding(map, present)?;
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
    // framing, even with a Content-Length.
    if coding.is_some() && version == Version::HTTP_10 {
        return Err(ErrorKind::TransferEncodingInHttp10.into());
    }
    // RFC 9112 §6.3, the steps that apply to requests (1, 2 and 8 are about
    // responses):
    // 3. Transfer-Encoding and Content-Length both: Transfer-Encoding wins; such
    //    a message "ought to be handled as an error", so we answer and then
    //    close (§6.1).
    // 4. Transfer-Encoding whose final coding is not chunked: 400, then close.
    //    chunked after other codings is framed fine but we cannot undo the
    //    others: 501 (§6.1).
    // 5. Content-Length that is invalid: 400, then close (§8.6 lets identical
    //    repeated values through).
    // 6. Content-Length valid: that many bytes.
    // 7. Neither: no body.
    let mut smuggling_risk = false;
    let body = match coding {
        Some(Coding::NotChunkedLast) => return Err(ErrorKind::NotChunkedLast.into()),
        Some(Coding::ChunkedAfterOthers) => return Err(ErrorKind::UnsupportedTransferCoding.into()),
        Some(Coding::Chunked) => {
            smuggling_risk = present.content_length;
            BodyLength::Chunked
        }
        None => match content_length(map, present)? {
            None | Some(0) => BodyLength::Empty,
            Some(len) if len > limits.max_body => {
                return Err(ErrorKind::BodyTooLarge {
                    len,
                    limit: limits.max_body,
                }
                .into())
            }
            Some(len) => BodyLength::Length(len),
        },
    };
    let keep_alive = !smuggling_risk && keep_alive(map, present, version);
    // RFC 9110 §10.1.1: 100-continue is the only expectation; a server MUST
    // ignore it in an HTTP/1.0 request. Without a body there is nothing to wait
    // for.
    let expect_continue = version == Version::HTTP_11
        && body != BodyLength::Empty
        && present.expect
        && map
            .get_all(EXPECT)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    Ok(RequestFraming {
        body,
        keep_alive,
        expect_continue,
    })
}

/// Applies RFC 9112 §6.3 to a response to a request made with `method`.
pub(crate) fn response_framing(
    map: &HeaderMap,
    present: Present,
    version: Version,
    status: StatusCode,
    method: &Method,
    limits: &Limits,
) -> Result<ResponseFraming, Error> {
    let keep_alive = keep_alive(map, present, version);
    // RFC 9112 §6.3:
    // 1. A response to HEAD, and any 1xx, 204 or 304, ends at its head.
    // 2. A 2xx to CONNECT turns the connection into a tunnel: no body.
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (*method == Method::CONNECT && status.is_success())
    {
        return Ok(ResponseFraming {
            body: BodyLength::Empty,
            keep_alive,
        });
    }
    let body = match transfer_coding(map, present)? {
        // §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; reading to
        // the close is the only reading that cannot desynchronise.
        Some(_) if version == Version::HTTP_10 => BodyLength::CloseDelimited,
        // 3. Transfer-Encoding overrides Content-Length.
        // 4. Final coding chunked: chunked; otherwise read until close.
        Some(Coding::Chunked) => BodyLength::Chunked,
        Some(Coding::ChunkedAfterOthers) => return Err(ErrorKind::UnsupportedTransferCoding.into()),
        Some(Coding::NotChunkedLast) => BodyLength::CloseDelimited,
        // 5., 6. Content-Length, which must be valid.
        // 8. Otherwise the body runs until the server closes.
        None => match content_length(map, present)? {
            Some(0) => BodyLength::Empty,
            Some(len) if len > limits.max_body => {
                return Err(ErrorKind::BodyTooLarge {
                    len,
                    limit: limits.max_body,
                }
                .into())
            }
            Some(len) => BodyLength::Length(len),
            None => BodyLength::CloseDelimited,
        },
    };
    let keep_alive = keep_alive && body != BodyLength::CloseDelimited;
    Ok(ResponseFraming { body, keep_alive })
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `close` is sent; HTTP/1.0 persists
/// only with `keep-alive` (and without `close`).
fn keep_alive(map: &HeaderMap, present: Present, version: Version) -> bool {
    if !present.connection {
        return version == Version::HTTP_11;
    }
    if has_token(map, &CONNECTION, "close") {
        return false;
    }
    version == Version::HTTP_11 || has_token(map, &CONNECTION, "keep-alive")
}

/// True when the comma-separated list in the `name` fields holds `token`,
/// compared case-insensitively (RFC 9110 §5.6.1, §7.6.1).
fn has_token(map: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    map.get_all(name).iter().any(|v| value_has_token(v, token))
}

/// True when the comma-separated list in one field value holds `token`.
pub(crate) fn value_has_token(value: &HeaderValue, token: &str) -> bool {
    items(value).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// The non-empty items of a comma-separated list spread over `name` fields,
/// with optional whitespace trimmed. RFC 9110 §5.6.1: empty items are ignored.
fn list_items<'m>(map: &'m HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'m [u8]> {
    map.get_all(name).iter().flat_map(items)
}

/// The non-empty, trimmed items of one field value's list.
fn items(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Reads `Transfer-Encoding` (RFC 9112 §6.1, §7): `None` when absent.
fn transfer_coding(map: &HeaderMap, present: Present) -> Result<Option<Coding>, Error> {
    if !present.transfer_encoding {
        return Ok(None);
    }
    let mut chunked = 0usize;
    let mut others = 0usize;
    let mut last_chunked = false;
    for item in list_items(map, &TRANSFER_ENCODING) {
        // Parameters (`;q=...`) belong to the coding name before them.
        let name = item
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        last_chunked = name.eq_ignore_ascii_case(b"chunked");
        if last_chunked {
            chunked += 1;
        } else {
            others += 1;
        }
    }
    // RFC 9112 §7: a sender MUST NOT apply chunked more than once.
    if chunked > 1 {
        return Err(ErrorKind::ChunkedTwice.into());
    }
    Ok(Some(match (last_chunked, others) {
        (false, _) => Coding::NotChunkedLast,
        (true, 0) => Coding::Chunked,
        (true, _) => Coding::ChunkedAfterOthers,
    }))
}

/// Reads `Content-Length` (RFC 9110 §8.6, RFC 9112 §6.3 step 5): `None` when
/// absent. Each field may be a list; all items must be the same decimal number.
fn content_length(map: &HeaderMap, present: Present) -> Result<Option<u64>, Error> {
    if !present.content_length {
        return Ok(None);
    }
    let mut found: Option<u64> = None;
    for value in map.get_all(CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let len = parse_decimal(item.trim_ascii())?;
            match found {
                Some(prev) if prev != len => return Err(ErrorKind::ConflictingContentLength.into()),
                _ => found = Some(len),
            }
        }
    }
    Ok(found)
}

/// `1*DIGIT` into a u64: no sign, no whitespace inside, no overflow.
fn parse_decimal(digits: &[u8]) -> Result<u64, Error> {
    if digits.is_empty() {
        return Err(ErrorKind::InvalidContentLength.into());
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(ErrorKind::InvalidContentLength.into());
        }
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| ErrorKind::InvalidContentLength.into())
    })
}
