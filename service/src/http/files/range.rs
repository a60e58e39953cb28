//! The `Range` request header, single ranges only (RFC 9110 §14).
//!
//! A single `bytes=` range is served as 206 Partial Content; one that starts
//! past the end is 416 Range Not Satisfiable. Several ranges (which would need
//! a `multipart/byteranges` body), other units and malformed values are
//! ignored, as the RFC allows: the whole file goes out with 200.

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requested {
    /// Serve the whole file (no header, or one that is ignored).
    Whole,
    /// Serve bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// 416: no byte of the range exists.
    Unsatisfiable,
}

/// Interprets the `Range` header `value` for a file of `len` bytes.
pub(crate) fn requested(value: Option<&[u8]>, len: u64) -> Requested {
    let Some(spec) = value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let number = |s: &str| -> Option<Option<u64>> {
        let s = s.trim();
        if s.is_empty() {
            Some(None)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(Some)
        } else {
            None
        }
    };
    match (number(first), number(last)) {
        // bytes=a-b and bytes=a-
        (Some(Some(start)), Some(last)) => {
            if last.is_some_and(|last| last < start) {
                return Requested::Whole;
            }
            if start >= len {
                return Requested::Unsatisfiable;
            }
            let end = last.map_or(len - 1, |last| last.min(len - 1));
            Requested::Part { start, end }
        }
        // bytes=-n: the last n bytes
        (Some(None), Some(Some(suffix))) => {
            if suffix == 0 || len == 0 {
                return Requested::Unsatisfiable;
            }
            Requested::Part {
                start: len.saturating_sub(suffix),
                end: len - 1,
            }
        }
        _ => Requested::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_are_clamped_to_the_file() {
        let part = |start, end| Requested::Part { start, end };
        let cases: [(&str, Requested); 8] = [
            ("bytes=0-99", part(0, 99)),
            ("bytes=10-", part(10, 999)),
            ("bytes=-100", part(900, 999)),
            ("bytes=-5000", part(0, 999)),
            ("bytes=990-5000", part(990, 999)),
            ("bytes=999-999", part(999, 999)),
            (" bytes= 5 - 6 ", part(5, 6)),
            ("bytes=0-0", part(0, 0)),
        ];
        for (header, expected) in cases {
            assert_eq!(
                requested(Some(header.as_bytes()), 1000),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn past_the_end_is_unsatisfiable_and_nonsense_is_ignored() {
        let cases: [(&str, Requested); 10] = [
            ("bytes=1000-", Requested::Unsatisfiable),
            ("bytes=5000-6000", Requested::Unsatisfiable),
            ("bytes=-0", Requested::Unsatisfiable),
            ("bytes=5-1", Requested::Whole),
            ("bytes=0-1,5-6", Requested::Whole),
            ("items=0-1", Requested::Whole),
            ("bytes=a-b", Requested::Whole),
            ("bytes=-", Requested::Whole),
            ("bytes=+1-2", Requested::Whole),
            ("bytes=99999999999999999999999-", Requested::Whole),
        ];
        for (header, expected) in cases {
            assert_eq!(
                requested(Some(header.as_bytes()), 1000),
                expected,
                "{header}"
            );
        }
        assert_eq!(requested(None, 1000), Requested::Whole);
        assert_eq!(requested(Some(b"bytes=0-"), 0), Requested::Unsatisfiable);
    }
}
