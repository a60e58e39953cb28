//! Redis glob patterns, as `KEYS` and `CONFIG GET` read them.
//!
//! The rules follow redis-server's `stringmatchlen` (util.c), so a pattern
//! selects the same keys here as there: `*` any run of bytes, `?` one byte,
//! `[abc]` one of a set, `[^abc]` none of it, `[a-z]` a range (either way
//! round), `\x` the byte `x` literally. An unterminated `[` class ends at the
//! pattern's end and a trailing `\` is a literal backslash, as in Redis.
//!
//! Matching backtracks only to the last `*`, so it takes O(pattern × text) time
//! at worst, never exponential time on patterns such as `*a*a*a*b`.

/// One element of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any run of bytes, empty included.
    Star,
    /// `?`: exactly one byte.
    Any,
    /// A byte matched as itself.
    Literal(u8),
    /// `[...]`: one byte in (or, when `negated`, not in) the inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

impl Token {
    /// Whether this single-byte token accepts `byte` (`Star` is handled by the matcher).
    fn accepts(&self, byte: u8) -> bool {
        match self {
            Token::Star | Token::Any => true,
            Token::Literal(b) => *b == byte,
            Token::Class { negated, ranges } => {
                let inside = ranges.iter().any(|&(lo, hi)| lo <= byte && byte <= hi);
                inside != *negated
            }
        }
    }
}

/// Whether `text` matches the glob `pattern`.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let tokens = parse(pattern);
    let mut t = 0;
    let mut s = 0;
    // Where to resume after the last `*`: the token after it, and the first
    // text byte it has not yet swallowed.
    let mut resume: Option<(usize, usize)> = None;
    while let Some(&byte) = text.get(s) {
        match tokens.get(t) {
            Some(Token::Star) => {
                t += 1;
                resume = Some((t, s));
                continue;
            }
            Some(token) if token.accepts(byte) => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((after_star, swallowed)) => {
                t = after_star;
                s = swallowed + 1;
                resume = Some((after_star, s));
            }
            None => return false,
        }
    }
    tokens
        .get(t..)
        .unwrap_or_default()
        .iter()
        .all(|token| *token == Token::Star)
}

/// Splits a pattern into tokens; every byte sequence is a valid pattern.
fn parse(pattern: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut bytes = pattern.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        let token = match byte {
            b'*' => {
                // Runs of stars match what one star does; keep one.
                if tokens.last() == Some(&Token::Star) {
                    continue;
                }
                Token::Star
            }
            b'?' => Token::Any,
            b'\\' => Token::Literal(bytes.next().unwrap_or(b'\\')),
            b'[' => {
                let negated = bytes.next_if_eq(&b'^').is_some();
                let mut ranges = Vec::new();
                while let Some(first) = bytes.next() {
                    let lo = match first {
                        b']' => break,
                        b'\\' => bytes.next().unwrap_or(b'\\'),
                        other => other,
                    };
                    // `a-z` is a range unless the `-` is the class's last byte.
                    let is_range = bytes.peek() == Some(&b'-');
                    if is_range {
                        let mut ahead = bytes.clone();
                        ahead.next();
                        if let Some(hi) = ahead.next().filter(|&hi| hi != b']') {
                            bytes = ahead;
                            ranges.push((lo.min(hi), lo.max(hi)));
                            continue;
                        }
                    }
                    ranges.push((lo, lo));
                }
                Token::Class { negated, ranges }
            }
            other => Token::Literal(other),
        };
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_select_what_redis_selects() {
        let cases: &[(&str, &[u8], &[u8], bool)] = &[
            ("star matches everything", b"*", b"anything", true),
            ("star matches the empty key", b"*", b"", true),
            ("literal matches itself", b"key", b"key", true),
            ("literal is case sensitive", b"key", b"KEY", false),
            ("literal needs the whole text", b"key", b"keys", false),
            ("prefix star", b"user:*", b"user:42", true),
            (
                "prefix star rejects other prefixes",
                b"user:*",
                b"users:42",
                false,
            ),
            ("infix star", b"a*z", b"abcz", true),
            ("infix star needs the suffix", b"a*z", b"abcza", false),
            ("stars backtrack", b"*a*a*b", b"aaaaaaaaaaab", true),
            (
                "stars fail without exponential work",
                b"*a*a*a*a*a*b",
                b"aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
            ("question mark is one byte", b"h?llo", b"hello", true),
            ("question mark is not zero bytes", b"h?llo", b"hllo", false),
            ("class matches a member", b"h[ae]llo", b"hallo", true),
            ("class rejects a non-member", b"h[ae]llo", b"hillo", false),
            (
                "negated class rejects a member",
                b"h[^e]llo",
                b"hello",
                false,
            ),
            (
                "negated class matches a non-member",
                b"h[^e]llo",
                b"hallo",
                true,
            ),
            ("range matches inside", b"h[a-c]llo", b"hbllo", true),
            ("range rejects outside", b"h[a-c]llo", b"hdllo", false),
            ("reversed range still works", b"h[c-a]llo", b"hbllo", true),
            ("trailing dash is literal", b"[a-]", b"-", true),
            ("escaped star is literal", b"a\\*", b"a*", true),
            ("escaped star is not a wildcard", b"a\\*", b"ab", false),
            ("escaped bracket inside a class", b"[\\]]", b"]", true),
            (
                "unterminated class ends at the pattern end",
                b"[ab",
                b"b",
                true,
            ),
            (
                "trailing backslash is a literal backslash",
                b"a\\",
                b"a\\",
                true,
            ),
            ("empty pattern matches only the empty text", b"", b"", true),
            ("empty pattern rejects text", b"", b"a", false),
            ("binary bytes match", b"\xff*", b"\xff\x00", true),
        ];
        for (name, pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), *expected, "{name}");
        }
    }
}
