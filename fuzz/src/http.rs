//! Rendering and limit checks for HTTP parts, shared by the server codec,
//! client codec and connection targets.
//!
//! Body data arrives in as many parts as the stream had reads, so a
//! rendered body part is `data:` plus its bytes escaped byte by byte, and
//! [`merge_data`] joins neighbours: escaping is per byte, so the joined text
//! is the escape of the joined bytes whatever the split was.

use http::HeaderMap;
use ringo_proto::http::{Error, Limits};

use crate::decode::variant_name;
use crate::input::Input;

/// The prefix of a rendered body part.
const DATA: &str = "data:";

/// HTTP limits from the input: the defaults, or tiny ones half the time so
/// short inputs reach every limit path.
pub fn limits(input: &mut Input<'_>) -> Limits {
    let tiny = input.flag();
    let defaults = Limits::default();
    Limits {
        max_uri_len: input.limit(tiny, 32, defaults.max_uri_len),
        max_headers: input.limit(tiny, 8, defaults.max_headers),
        max_head_bytes: input.limit(tiny, 128, defaults.max_head_bytes),
        max_body: input.limit(tiny, 64, 1024 * 1024) as u64,
        max_chunk_line: input.limit(tiny, 16, defaults.max_chunk_line),
    }
}

/// Renders a body part.
pub fn data(bytes: &[u8]) -> String {
    format!("{DATA}{}", bytes.escape_ascii())
}

/// Joins neighbouring rendered body parts into one.
pub fn merge_data(items: Vec<String>) -> Vec<String> {
    let mut merged: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match (merged.last_mut(), item.strip_prefix(DATA)) {
            (Some(last), Some(more)) if last.starts_with(DATA) => last.push_str(more),
            _ => merged.push(item),
        }
    }
    merged
}

/// The kind of an HTTP error, without the counts that depend on where the
/// limit was noticed.
pub fn error_kind(error: &Error) -> String {
    variant_name(&error.kind())
}

/// Follows one message's body against [`Limits`]: fields counted at the
/// head, bytes at each data part.
#[derive(Debug)]
pub struct Message {
    limits: Limits,
    body: u64,
}

impl Message {
    /// Nothing seen yet.
    pub fn new(limits: Limits) -> Message {
        Message { limits, body: 0 }
    }

    /// A head with these fields: a new message begins.
    pub fn head(&mut self, headers: &HeaderMap) {
        let fields = headers.len();
        assert!(
            fields <= self.limits.max_headers,
            "{fields} header fields passed the limit {}",
            self.limits.max_headers
        );
        self.body = 0;
    }

    /// Body bytes, which must stay within `max_body` in all.
    pub fn data(&mut self, len: usize) {
        self.body += len as u64;
        assert!(
            self.body <= self.limits.max_body,
            "a {}-byte body passed the limit {}",
            self.body,
            self.limits.max_body
        );
    }
}
