//! What a request must look like to be sent, and where it goes: an absolute
//! `http` or `https` URI becomes an [`Endpoint`] (the pool's key) and an origin-form
//! target with a `Host` field.

use std::fmt;

use ::http::header::{HeaderValue, HOST};
use ::http::uri::{PathAndQuery, Scheme, Uri};
use ::http::{Method, Request};
use bytes::Bytes;

/// A request this client cannot send; the cause of an
/// [`ErrorKind::Inner`](crate::ErrorKind::Inner) error, returned before any connection is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The URI's scheme is neither `http` nor `https`.
    UnsupportedScheme(String),
    /// The URI is not in absolute form `http://host[:port]/path`.
    NotAbsolute(Uri),
    /// The method needs a tunnel (`CONNECT`), which this client does not make.
    UnsupportedMethod(Method),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::UnsupportedScheme(scheme) => {
                write!(f, "scheme {scheme} not supported: only http and https")
            }
            RequestError::NotAbsolute(uri) => {
                write!(f, "uri {uri} not in absolute form http://host[:port]/path")
            }
            RequestError::UnsupportedMethod(method) => write!(f, "method {method} not supported"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Where a request goes: lower-case host (without IPv6 brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Endpoint {
    pub(super) host: String,
    pub(super) port: u16,
    /// `https`: the connection runs TLS over TCP.
    pub(super) tls: bool,
}

impl Endpoint {
    /// The endpoint of an absolute `http` or `https` URI, and its `Host` field value
    /// (the authority without user info, RFC 9110 §7.2).
    pub(super) fn of(uri: &Uri) -> Result<(Endpoint, HeaderValue), RequestError> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(RequestError::NotAbsolute(uri.clone()));
        };
        let tls = if *scheme == Scheme::HTTPS {
            true
        } else if *scheme == Scheme::HTTP {
            false
        } else {
            return Err(RequestError::UnsupportedScheme(scheme.as_str().to_owned()));
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(RequestError::NotAbsolute(uri.clone()));
        }
        let endpoint = Endpoint {
            host: host.to_ascii_lowercase(),
            // RFC 9110 §4.2.1-2: the default ports of http and https.
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            tls,
        };
        let host_field = authority.as_str().rsplit('@').next().unwrap_or_default();
        let host_field = HeaderValue::from_str(host_field)
            .map_err(|_| RequestError::NotAbsolute(uri.clone()))?;
        Ok((endpoint, host_field))
    }
}

/// Checks a request and puts it in the form sent to an origin server: the
/// target in origin form, `Host` set.
pub(super) fn prepare(
    mut request: Request<Bytes>,
) -> Result<(Endpoint, Request<Bytes>), RequestError> {
    if request.method() == Method::CONNECT {
        return Err(RequestError::UnsupportedMethod(Method::CONNECT));
    }
    let (endpoint, host) = Endpoint::of(request.uri())?;
    // RFC 9112 §3.2.1: to an origin server the target is the absolute path
    // and query, "/" when the path is empty.
    let origin = request
        .uri()
        .path_and_query()
        .filter(|pq| pq.as_str().starts_with('/'))
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(origin);
    request.headers_mut().entry(HOST).or_insert(host);
    Ok((endpoint, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sent_in_origin_form_with_a_host() {
        let cases = [
            (
                "http://Example.test/a?b=c",
                "/a?b=c",
                "Example.test",
                "example.test",
                80,
            ),
            (
                "http://127.0.0.1:8080",
                "/",
                "127.0.0.1:8080",
                "127.0.0.1",
                8080,
            ),
            ("http://user@[::1]:9/x", "/x", "[::1]:9", "::1", 9),
        ];
        for (uri, target, host, endpoint_host, port) in cases {
            let request = Request::get(uri).body(Bytes::new()).unwrap();
            let (endpoint, request) = prepare(request).unwrap();
            assert_eq!(request.uri(), target, "{uri}");
            assert_eq!(request.headers()[HOST], host, "{uri}");
            assert_eq!(endpoint.host, endpoint_host, "{uri}");
            assert_eq!(endpoint.port, port, "{uri}");
        }
    }
}
