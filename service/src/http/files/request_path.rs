//! A request's URI path → a path relative to the served root, or the reason it
//! is refused.
//!
//! Each `/`-separated segment is percent-decoded on its own, so an encoded
//! slash (`%2f`) cannot make a new segment. Refused with 400: a `..` segment
//! (also `%2e%2e`), a NUL byte (`%00`), a decoded `/`, a bad `%` escape. Empty
//! and `.` segments are skipped, so `//etc/passwd` means `etc/passwd` *under
//! the root*. The root itself is the last line of defence: the open refuses
//! anything that resolves outside it (see [`RootDir`](ringo_reactor::fs::RootDir)).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Why a request path is refused (every case answers 400 Bad Request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A `..` segment, literal or encoded.
    ParentSegment,
    /// A NUL byte or an encoded `/` in a segment.
    ForbiddenByte,
}

/// `uri_path` as a relative path under the root (empty for the root itself).
pub(crate) fn relative_path(uri_path: &str) -> Result<PathBuf, BadPath> {
    let mut path = PathBuf::new();
    for segment in uri_path.split('/') {
        let decoded = percent_decode(segment.as_bytes())?;
        match decoded.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(BadPath::ParentSegment),
            bytes if bytes.iter().any(|&b| b == 0 || b == b'/') => {
                return Err(BadPath::ForbiddenByte)
            }
            bytes => path.push(OsStr::from_bytes(bytes)),
        }
    }
    Ok(path)
}

fn percent_decode(segment: &[u8]) -> Result<Vec<u8>, BadPath> {
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.iter();
    while let Some(&b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
        match (hex(bytes.next()), hex(bytes.next())) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(BadPath::BadEscape),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_map_under_the_root() {
        let cases = [
            ("/", ""),
            ("/index.html", "index.html"),
            ("/a/b.txt", "a/b.txt"),
            ("//etc/passwd", "etc/passwd"),
            ("/./a/./b", "a/b"),
            ("/with%20space", "with space"),
            ("/caf%C3%A9", "café"),
        ];
        for (uri, expected) in cases {
            assert_eq!(relative_path(uri), Ok(PathBuf::from(expected)), "{uri}");
        }
    }

    #[test]
    fn escapes_and_bad_bytes_are_refused() {
        let cases = [
            ("/../etc/passwd", BadPath::ParentSegment),
            ("/a/../../x", BadPath::ParentSegment),
            ("/%2e%2e/etc/passwd", BadPath::ParentSegment),
            ("/%2E%2E/x", BadPath::ParentSegment),
            ("/.%2e/x", BadPath::ParentSegment),
            ("/a%2f..%2fb", BadPath::ForbiddenByte),
            ("/a%00b", BadPath::ForbiddenByte),
            ("/bad%zz", BadPath::BadEscape),
            ("/trailing%2", BadPath::BadEscape),
            ("/%", BadPath::BadEscape),
        ];
        for (uri, expected) in cases {
            assert_eq!(relative_path(uri), Err(expected), "{uri}");
        }
    }
}
