//! Writing message heads: the start line, the user's header fields, and the
//! framing and connection fields the codec decides on.
//!
//! The codec, not the user, owns framing: a `Content-Length` or
//! `Transfer-Encoding` that disagreed with the bytes actually written would
//! desynchronise the peer, so the encoders derive those fields from the
//! [`BodyLength`] they are given and drop the user's copies (except where noted).

use ::http::header::{CONNECTION, CONTENT_LENGTH, DATE, HOST, TRANSFER_ENCODING};
use ::http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode, Version};

use bytes::{BufMut, BytesMut};

use super::body::BodyWriter;
use super::date::DateCache;
use super::fields::value_has_token;
use super::BodyLength;

/// What the server knows of the request a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answering {
    /// The request's method was HEAD: the response has no body on the wire.
    pub(crate) head: bool,
    /// The request's version: HTTP/1.0 peers get no chunked framing and no 1xx.
    pub(crate) version: Version,
    /// The request allowed the connection to persist.
    pub(crate) keep_alive: bool,
}

impl Answering {
    /// What a response written with no request to answer assumes: an HTTP/1.1
    /// peer, and a connection that closes (such a response reports an error).
    pub(crate) const UNSOLICITED: Answering = Answering {
        head: false,
        version: Version::HTTP_11,
        keep_alive: false,
    };
}

/// Writes a response head answering `req`; returns how to write its body and
/// whether the connection must close after it. `force_close` adds closing for
/// reasons of the codec's own.
pub(crate) fn response_head(
    response: &Response<()>,
    body: BodyLength,
    req: Answering,
    force_close: bool,
    date: &mut DateCache,
    dst: &mut BytesMut,
) -> (BodyWriter, bool) {
    let status = response.status();
    let headers = response.headers();
    dst.reserve(256);
    put_status_line(status, dst);
    if status.is_informational() {
        // A 1xx is a head alone (RFC 9110 §15.2): no Date needed (§6.6.1), no
        // framing, and §8.6 forbids Content-Length. A 101 hands the connection
        // to another protocol, so its fields go out unchanged.
        let upgrade = status == StatusCode::SWITCHING_PROTOCOLS;
        write_fields(headers, dst, |n| {
            upgrade || (*n != TRANSFER_ENCODING && *n != CONTENT_LENGTH)
        });
        dst.put_slice(b"\r\n");
        return (BodyWriter::Discard, false);
    }
    let user = UserFields::of(headers);
    if !user.date {
        // RFC 9110 §6.6.1: an origin server with a clock MUST send Date.
        dst.put_slice(date.line());
    }
    let user_close = user.close;
    let mut close = force_close || user_close || !req.keep_alive;
    // RFC 9110 §6.4.1 and RFC 9112 §6.3: 204 and 304 never have a body;
    // §8.6 forbids Content-Length in 204, allows it in 304.
    let bodiless = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let writer = if bodiless {
        let keep_cl = status == StatusCode::NOT_MODIFIED;
        write_fields(headers, dst, |n| {
            *n != TRANSFER_ENCODING && (keep_cl || *n != CONTENT_LENGTH)
        });
        BodyWriter::Discard
    } else if req.head {
        // RFC 9110 §9.3.2: a HEAD response carries the fields a GET would,
        // so a Content-Length the user set (for the GET body) is kept.
        write_fields(headers, dst, |n| *n != TRANSFER_ENCODING);
        if !user.content_length {
            close |= framing_fields(body, req.version, dst).1;
        }
        BodyWriter::Discard
    } else {
        write_fields(headers, dst, |n| {
            *n != TRANSFER_ENCODING && *n != CONTENT_LENGTH
        });
        let (writer, closes) = framing_fields(body, req.version, dst);
        close |= closes;
        writer
    };
    if close && !user_close {
        dst.put_slice(b"connection: close\r\n");
    } else if !close && req.version == Version::HTTP_10 && !user.keep_alive {
        // RFC 9112 §9.3: an HTTP/1.0 peer closes unless told keep-alive.
        dst.put_slice(b"connection: keep-alive\r\n");
    }
    dst.put_slice(b"\r\n");
    (writer, close)
}

/// Writes the status line. The commonest are written whole, in one copy
/// instead of five: the head is per-request work.
fn put_status_line(status: StatusCode, dst: &mut BytesMut) {
    let whole: &[u8] = match status.as_u16() {
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => {
            dst.put_slice(b"HTTP/1.1 ");
            dst.put_slice(status.as_str().as_bytes());
            dst.put_u8(b' ');
            dst.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
            dst.put_slice(b"\r\n");
            return;
        }
    };
    dst.put_slice(whole);
}

/// Writes the framing field for `body` to a peer of `version`; returns the
/// body writer and whether the body is delimited by closing the connection.
fn framing_fields(body: BodyLength, version: Version, dst: &mut BytesMut) -> (BodyWriter, bool) {
    match body {
        BodyLength::Empty => {
            dst.put_slice(b"content-length: 0\r\n");
            (
                BodyWriter::Length {
                    declared: 0,
                    written: 0,
                },
                false,
            )
        }
        BodyLength::Length(n) => {
            dst.put_slice(b"content-length: ");
            put_decimal(n, dst);
            dst.put_slice(b"\r\n");
            (
                BodyWriter::Length {
                    declared: n,
                    written: 0,
                },
                false,
            )
        }
        // RFC 9112 §7: chunked needs an HTTP/1.1 peer; an HTTP/1.0 one reads
        // to the close instead (§6.3 step 8).
        BodyLength::Chunked if version == Version::HTTP_11 => {
            dst.put_slice(b"transfer-encoding: chunked\r\n");
            (BodyWriter::Chunked, false)
        }
        BodyLength::Chunked | BodyLength::CloseDelimited => (BodyWriter::Close, true),
    }
}

/// Writes a request head for `body`; returns how to write the body.
///
/// The target is origin-form (RFC 9112 §3.2.1) except for CONNECT, which uses
/// authority-form (§3.2.3). A `Host` field is added from the URI when missing;
/// RFC 9112 §3.2 asks for an empty one when the URI has no authority.
pub(crate) fn request_head(
    request: &Request<()>,
    body: BodyLength,
    dst: &mut BytesMut,
) -> BodyWriter {
    let uri = request.uri();
    let headers = request.headers();
    dst.reserve(256);
    dst.put_slice(request.method().as_str().as_bytes());
    dst.put_u8(b' ');
    match (request.method(), uri.authority()) {
        (&Method::CONNECT, Some(authority)) => dst.put_slice(authority.as_str().as_bytes()),
        _ => dst.put_slice(uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes()),
    }
    dst.put_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(HOST) {
        dst.put_slice(b"host: ");
        if let Some(authority) = uri.authority() {
            dst.put_slice(authority.as_str().as_bytes());
        }
        dst.put_slice(b"\r\n");
    }
    write_fields(headers, dst, |n| {
        *n != TRANSFER_ENCODING && *n != CONTENT_LENGTH
    });
    // RFC 9110 §8.6: a request without content sends Content-Length only when
    // its method gives content a meaning.
    let needs_length = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    );
    let writer = match body {
        BodyLength::Empty | BodyLength::Length(0) if !needs_length => BodyWriter::Length {
            declared: 0,
            written: 0,
        },
        // A request cannot be close-delimited (the client could not read the
        // response), so that falls back to chunked.
        BodyLength::CloseDelimited => framing_fields(BodyLength::Chunked, Version::HTTP_11, dst).0,
        other => framing_fields(other, Version::HTTP_11, dst).0,
    };
    dst.put_slice(b"\r\n");
    writer
}

/// What a response's own fields say that its framing depends on, found in one
/// pass over them: they are few, and a map lookup hashes the name each time.
struct UserFields {
    date: bool,
    content_length: bool,
    /// `Connection` lists `close`.
    close: bool,
    /// `Connection` lists `keep-alive`.
    keep_alive: bool,
}

impl UserFields {
    fn of(headers: &HeaderMap) -> UserFields {
        let mut user = UserFields {
            date: false,
            content_length: false,
            close: false,
            keep_alive: false,
        };
        for (name, value) in headers {
            if *name == DATE {
                user.date = true;
            } else if *name == CONTENT_LENGTH {
                user.content_length = true;
            } else if *name == CONNECTION {
                user.close |= value_has_token(value, "close");
                user.keep_alive |= value_has_token(value, "keep-alive");
            }
        }
        user
    }
}

/// Writes `n` in decimal, without `fmt`'s machinery (a response head's
/// `content-length` is written once per response).
fn put_decimal(mut n: u64, dst: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&digits[start..]);
}

/// Writes each field whose name `keep` accepts.
fn write_fields(headers: &HeaderMap, dst: &mut BytesMut, keep: impl Fn(&HeaderName) -> bool) {
    for (name, value) in headers {
        if keep(name) {
            dst.put_slice(name.as_str().as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(value.as_bytes());
            dst.put_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_written_whole_match_the_general_form() {
        for code in [200, 204, 206, 304, 404, 100, 201, 418, 503, 599] {
            let status = StatusCode::from_u16(code).unwrap();
            let mut dst = BytesMut::new();
            put_status_line(status, &mut dst);
            let reason = status.canonical_reason().unwrap_or("");
            assert_eq!(&dst[..], format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
        }
    }

    #[test]
    fn decimals_match_display() {
        for n in [0, 7, 9, 10, 13, 99, 100, 65_535, 1 << 32, u64::MAX] {
            let mut dst = BytesMut::new();
            put_decimal(n, &mut dst);
            assert_eq!(&dst[..], n.to_string().as_bytes());
        }
    }
}
