//! `redis://host:port/db` URLs, as Redis users write their server's address.
//!
//! Accepted: `redis://host`, `redis://host:port`, `redis://host:port/db`
//! (port 6379 and database 0 by default; the host may be a name, an IPv4
//! address or a bracketed IPv6 one). Refused with a clear error rather than
//! ignored: `rediss://` (TLS is not built yet), a user or password (`AUTH`
//! is not built yet), query parameters, and anything that is not a URL of
//! this shape.

use std::io;
use std::str::FromStr;

use ringo_reactor::net::{Target, ToSocketAddrs};

/// Redis's default port.
pub const DEFAULT_PORT: u16 = 6379;

/// A parsed `redis://` URL: where the server is and which database to use.
///
/// # Examples
/// ```
/// use ringo_service::redis::Url;
///
/// let url: Url = "redis://localhost:6380/2".parse()?;
/// assert_eq!(url.db(), 2);
/// assert_eq!(url.addr().to_string(), "localhost:6380");
/// assert!("rediss://localhost".parse::<Url>().is_err()); // no TLS yet
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    addr: Target,
    db: u32,
}

impl Url {
    /// The server's address (a name is resolved when connecting).
    pub fn addr(&self) -> &Target {
        &self.addr
    }

    /// The database number, selected on each new connection (0: none sent).
    pub fn db(&self) -> u32 {
        self.db
    }
}

impl FromStr for Url {
    type Err = io::Error;

    fn from_str(url: &str) -> io::Result<Url> {
        let invalid = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid Redis URL {url:?}: {why}"),
            )
        };
        if url.starts_with("rediss://") {
            return Err(invalid("rediss:// (TLS) is not supported yet"));
        }
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| invalid("it must start with redis://"))?;
        if rest.contains('?') || rest.contains('#') {
            return Err(invalid("query parameters are not supported"));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(invalid("a user or password (AUTH) is not supported yet"));
        }
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        let db = match path {
            "" => 0,
            db => db
                .parse()
                .map_err(|_| invalid("the database must be a number"))?,
        };
        let has_port = match authority.rfind(']') {
            Some(bracket) => authority[bracket..].contains(':'),
            None => authority.contains(':'),
        };
        let addr = if has_port {
            authority.to_target()
        } else {
            (authority, DEFAULT_PORT).to_target()
        };
        addr.literal().map_err(|e| invalid(&e.to_string()))?;
        Ok(Url { addr, db })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_database() {
        let url: Url = "redis://127.0.0.1".parse().unwrap();
        assert_eq!(url.addr().to_string(), "127.0.0.1:6379");
        assert_eq!(url.db(), 0);
        let url: Url = "redis://[::1]:7000/3".parse().unwrap();
        assert_eq!(url.addr().to_string(), "[::1]:7000");
        assert_eq!(url.db(), 3);
        let url: Url = "redis://cache.internal".parse().unwrap();
        assert_eq!(url.addr().to_string(), "cache.internal:6379");
    }

    #[test]
    fn unsupported_or_broken_urls_say_why() {
        for (bad, why) in [
            ("rediss://host", "TLS"),
            ("http://host", "redis://"),
            ("redis://user:pw@host", "AUTH"),
            ("redis://host/x", "number"),
            ("redis://host:99999", "port"),
            ("redis:///0", "no host"),
            ("redis://host?timeout=1", "query"),
        ] {
            let error = bad.parse::<Url>().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            assert!(error.to_string().contains(why), "{bad}: {error}");
        }
    }
}
