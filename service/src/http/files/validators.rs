//! `ETag` and `Last-Modified` for a file, and the conditional requests that
//! use them (`If-None-Match`, `If-Modified-Since` → 304 Not Modified;
//! `If-Range`), per RFC 9110 §13.
//!
//! The ETag is made from what changes when the file does: inode, size and
//! modification time in nanoseconds — no hashing of the contents.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderMap, HeaderValue};
use ringo_proto::http::format_imf_fixdate;
use ringo_reactor::fs::Metadata;

/// A file's validators, as they go into response headers.
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    pub(crate) etag: HeaderValue,
    /// `None` when the file system keeps no modification time.
    modified: Option<SystemTime>,
}

/// What tells two files of the same length and time apart in the tag: the
/// inode number on Unix. Windows' file index is not in stable std; there the
/// tag rests on length and modification time alone, as nginx's does.
#[cfg(unix)]
fn file_id(meta: &Metadata) -> u64 {
    meta.ino()
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> u64 {
    0
}

impl Validators {
    pub(crate) fn of(meta: &Metadata) -> Validators {
        let modified = meta.modified().ok();
        let nanos = modified
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Validators {
            etag: etag(file_id(meta), meta.len(), nanos),
            modified,
        }
    }

    /// The `Last-Modified` value (an IMF-fixdate), if the time is known.
    pub(crate) fn last_modified(&self) -> Option<HeaderValue> {
        let date = format_imf_fixdate(whole_seconds(self.modified?));
        Some(HeaderValue::from_bytes(&date).expect("an IMF-fixdate is a valid field value"))
    }

    /// Whether the request's conditions mean 304 Not Modified: any
    /// `If-None-Match` tag matches (weakly), or, with no `If-None-Match`, the
    /// file has not changed since `If-Modified-Since`.
    pub(crate) fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(tags) = headers.get(header::IF_NONE_MATCH) {
            return tags.to_str().is_ok_and(|tags| self.matches_any(tags));
        }
        let since = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        match (since, self.modified) {
            // HTTP dates have whole seconds: compare at that precision.
            (Some(since), Some(modified)) => whole_seconds(modified) <= whole_seconds(since),
            _ => false,
        }
    }

    /// Whether a `Range` may be honoured under `If-Range`: absent, or naming
    /// this file's current ETag (strongly) or exact `Last-Modified`.
    pub(crate) fn range_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) else {
            return headers.get(header::IF_RANGE).is_none();
        };
        let value = value.trim();
        if value.starts_with('"') {
            return value.as_bytes() == self.etag.as_bytes();
        }
        match (httpdate::parse_http_date(value), self.modified) {
            (Ok(date), Some(modified)) => whole_seconds(date) == whole_seconds(modified),
            _ => false,
        }
    }

    fn matches_any(&self, tags: &str) -> bool {
        tags.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == self.etag.as_bytes()
        })
    }
}

/// `"INODE-SIZE-NANOS"` in hex, written by hand: this runs for every file
/// served, and `format!` costs more than the rest of building the head.
fn etag(id: u64, len: u64, nanos: u128) -> HeaderValue {
    // Two quotes, two dashes, and at most 16 + 16 + 32 hex digits.
    let mut out = [0u8; 68];
    out[0] = b'"';
    let mut at = push_hex(&mut out, 1, id.into());
    out[at] = b'-';
    at = push_hex(&mut out, at + 1, len.into());
    out[at] = b'-';
    at = push_hex(&mut out, at + 1, nanos);
    out[at] = b'"';
    HeaderValue::from_bytes(&out[..=at]).expect("quotes, dashes and hex digits are a valid value")
}

/// Writes `n` in lowercase hex, without leading zeros, at `out[at..]`;
/// returns the index past the last digit.
fn push_hex(out: &mut [u8], at: usize, n: u128) -> usize {
    let digits = (128 - n.leading_zeros() as usize).div_ceil(4).max(1);
    for (i, slot) in out[at..at + digits].iter_mut().enumerate() {
        let nibble = (n >> (4 * (digits - 1 - i))) & 0xf;
        *slot = b"0123456789abcdef"[nibble as usize];
    }
    at + digits
}

fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn validators() -> Validators {
        Validators {
            etag: HeaderValue::from_static("\"1-2-3\""),
            modified: Some(UNIX_EPOCH + Duration::new(1_700_000_000, 500)),
        }
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let v = validators();
        let date = v.last_modified().expect("date");
        let date = date.to_str().expect("an ASCII date");
        let cases: [(&[(header::HeaderName, &str)], bool); 8] = [
            (&[], false),
            (&[(header::IF_NONE_MATCH, "\"1-2-3\"")], true),
            (&[(header::IF_NONE_MATCH, "W/\"1-2-3\"")], true),
            (&[(header::IF_NONE_MATCH, "\"x\", \"1-2-3\"")], true),
            (&[(header::IF_NONE_MATCH, "*")], true),
            (
                &[
                    (header::IF_NONE_MATCH, "\"other\""),
                    (header::IF_MODIFIED_SINCE, date),
                ],
                false,
            ),
            (&[(header::IF_MODIFIED_SINCE, date)], true),
            (
                &[(header::IF_MODIFIED_SINCE, "Thu, 01 Jan 1970 00:00:00 GMT")],
                false,
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(v.not_modified(&headers(pairs)), expected, "{pairs:?}");
        }
        let garbage = headers(&[(header::IF_MODIFIED_SINCE, "yesterday")]);
        assert!(!v.not_modified(&garbage), "an unparsable date is ignored");
    }

    #[test]
    fn etags_and_dates_are_written_as_format_would() {
        for (id, len, nanos) in [
            (0, 0, 0),
            (0x1f, 4096, 1_700_000_000_000_000_500),
            (u64::MAX, u64::MAX, u128::MAX),
        ] {
            let expected = format!("\"{id:x}-{len:x}-{nanos:x}\"");
            assert_eq!(etag(id, len, nanos).as_bytes(), expected.as_bytes());
        }
        let date = validators().last_modified().expect("date");
        assert_eq!(date.as_bytes(), b"Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn if_range_allows_the_range_only_for_the_current_file() {
        let v = validators();
        let date = v.last_modified().expect("date");
        let date = date.to_str().expect("an ASCII date");
        assert!(v.range_allowed(&headers(&[])));
        assert!(v.range_allowed(&headers(&[(header::IF_RANGE, "\"1-2-3\"")])));
        assert!(v.range_allowed(&headers(&[(header::IF_RANGE, date)])));
        assert!(!v.range_allowed(&headers(&[(header::IF_RANGE, "\"old\"")])));
        assert!(!v.range_allowed(&headers(&[(header::IF_RANGE, "W/\"1-2-3\"")])));
        assert!(!v.range_allowed(&headers(&[(
            header::IF_RANGE,
            "Thu, 01 Jan 1970 00:00:00 GMT"
        )])));
    }
}
