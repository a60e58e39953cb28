//! A request's URI path → a path relative to the served root, or the reason it
//! is refused.
//!
//! Each `/`-separated segment is percent-decoded on its own, so an encoded
//! slash (`%2f`) cannot make a new segment. Refused with 400: a `..` segment
//! (also `%2e%2e`), a NUL byte (`%00`), a decoded `/`, a bad `%` escape. Empty
//! and `.` segments are skipped, so `//etc/passwd` means `etc/passwd` *under
//! the root*. The root itself is the last line of defence: the open refuses
//! anything that resolves outside it (see [`RootDir`](ringo_reactor::fs::RootDir)).
//!
//! On Unix any other bytes make a file name. Windows reads more into a name,
//! so there a segment must also be one plain name by its rules
//! ([`windows_name`]), or it is refused with 400 too: a `\` separates like
//! `/`; `C:` names a drive (pushed onto a path, it replaces the path); `\\?\`
//! and `\\.\` prefixes reach raw paths and devices; a `:` inside a name opens
//! an alternate data stream; trailing dots and spaces are dropped (so `...`
//! or `.. ` could end up as `..`); `CON`, `NUL`, `COM1` and the like open a
//! device in any directory. A Windows name is Unicode, so a segment that does
//! not decode to UTF-8 is refused there as well.

use std::ffi::OsString;
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
    /// A segment that is not one plain file name on Windows (see the module
    /// docs); never on Unix.
    ForbiddenName,
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
            _ => path.push(file_name(decoded)?),
        }
    }
    Ok(path)
}

/// A decoded segment as one file name: on Unix any bytes but NUL and `/`,
/// which [`relative_path`] refused already.
#[cfg(unix)]
fn file_name(segment: Vec<u8>) -> Result<OsString, BadPath> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(segment))
}

/// A decoded segment as one file name: on Windows, UTF-8 that
/// [`windows_name`] accepts.
#[cfg(windows)]
fn file_name(segment: Vec<u8>) -> Result<OsString, BadPath> {
    let name = String::from_utf8(segment).map_err(|_| BadPath::ForbiddenName)?;
    windows_name(&name)?;
    Ok(name.into())
}

/// Checks that `name` (a segment other than `.` and `..`, without NUL or
/// `/`) is one plain file name to Windows, by the rules of "Naming Files,
/// Paths, and Namespaces" (learn.microsoft.com/windows/win32/fileio/naming-a-file).
/// Compiled everywhere so that its tests run on every host; used on Windows.
#[cfg_attr(not(windows), allow(dead_code))]
fn windows_name(name: &str) -> Result<(), BadPath> {
    // Separators, the drive and stream `:`, wildcards, and control characters.
    let reserved = |c: char| matches!(c, '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c < ' ';
    if name.chars().any(reserved) || name.ends_with(['.', ' ']) {
        return Err(BadPath::ForbiddenName);
    }
    // A device name stays one with any extension (`nul.txt`), spaces before
    // the dot included (`nul .txt`).
    let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    if is_device_name(base) {
        return Err(BadPath::ForbiddenName);
    }
    Ok(())
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9` (digits 1 to 3 also
/// as superscripts, which Windows reads as digits there), `CONIN$`, `CONOUT$`;
/// any case.
fn is_device_name(base: &str) -> bool {
    const FIXED: [&str; 6] = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    if FIXED.iter().any(|device| base.eq_ignore_ascii_case(device)) {
        return true;
    }
    let (Some(prefix), Some(number)) = (base.get(..3), base.get(3..)) else {
        return false;
    };
    let port = prefix.eq_ignore_ascii_case("COM") || prefix.eq_ignore_ascii_case("LPT");
    let digit = matches!(number.as_bytes(), [b'0'..=b'9'])
        || matches!(number, "\u{b9}" | "\u{b2}" | "\u{b3}");
    port && digit
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

    /// Names Windows reads as more than a file name; each is also refused by
    /// [`relative_path`] on Windows (see the test below).
    const NOT_WINDOWS_NAMES: [&str; 20] = [
        "C:",
        "c:boot.ini",
        "a\\b",
        "\\\\?\\C:\\x",
        "\\\\.\\PhysicalDrive0",
        "file.txt::$DATA",
        "...",
        ".. ",
        "name.",
        "name ",
        "a*b",
        "a\u{1}b",
        "CON",
        "nul.txt",
        "Aux .tar.gz",
        "com1",
        "LPT9.log",
        "com\u{b9}",
        "CONOUT$",
        "conin$.txt",
    ];

    #[test]
    fn windows_names_are_plain_names_or_refused() {
        for name in NOT_WINDOWS_NAMES {
            assert_eq!(windows_name(name), Err(BadPath::ForbiddenName), "{name:?}");
        }
        let plain = [
            "index.html",
            ".hidden",
            "con-fig.txt",
            "console",
            "COM10",
            "lpt",
            "a.b.c",
            "café",
        ];
        for name in plain {
            assert_eq!(windows_name(name), Ok(()), "{name:?}");
        }
    }

    #[cfg(windows)]
    #[test]
    fn windows_paths_from_urls_stay_under_the_root() {
        for name in NOT_WINDOWS_NAMES {
            let mut uri = String::from("/a/");
            for byte in name.bytes() {
                uri.push_str(&format!("%{byte:02x}"));
            }
            assert_eq!(relative_path(&uri), Err(BadPath::ForbiddenName), "{uri}");
        }
        let cases = [
            ("/C:/Windows/win.ini", BadPath::ForbiddenName),
            ("/C%3a/x", BadPath::ForbiddenName),
            ("/a%5c..%5cb", BadPath::ForbiddenName),
            ("/%5c%5c%3f%5cC%3a%5cx", BadPath::ForbiddenName),
            ("/%ff", BadPath::ForbiddenName),
            ("/..%5cx", BadPath::ForbiddenName),
        ];
        for (uri, expected) in cases {
            assert_eq!(relative_path(uri), Err(expected), "{uri}");
        }
        assert_eq!(
            relative_path("//server/share"),
            Ok(PathBuf::from("server\\share"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn on_unix_backslashes_and_colons_are_plain_bytes_of_a_name() {
        let cases = [("/a%5cb", "a\\b"), ("/C:", "C:"), ("/nul.txt", "nul.txt")];
        for (uri, expected) in cases {
            assert_eq!(relative_path(uri), Ok(PathBuf::from(expected)), "{uri}");
        }
        use std::os::unix::ffi::OsStrExt;
        let raw = relative_path("/%ff").expect("any bytes");
        assert_eq!(raw.as_os_str().as_bytes(), b"\xff");
    }
}
