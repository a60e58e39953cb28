//! Addresses as users write them: [`ToSocketAddrs`] accepts a `SocketAddr`,
//! `"127.0.0.1:8080"`, `"localhost:6379"`, `("localhost", 6379)` or
//! `(ip, port)`; [`lookup_host`] resolves host names.
//!
//! # Where names are resolved
//!
//! A literal address needs no lookup and costs nothing. A host name needs
//! `getaddrinfo`, which blocks (on DNS, for seconds at worst), so it never
//! runs on a runtime's thread: [`lookup_host`] hands it to a small
//! process-wide pool of resolver threads ([`RESOLVER_THREADS`], started on
//! first use) and waits for the answer like for any other I/O. At most
//! [`MAX_PENDING_LOOKUPS`] lookups wait for a resolver thread; more fail at once
//! with `WouldBlock` rather than queue without bound. (The compat driver's
//! blocking pool is not used because the io_uring driver has none, and a
//! lookup must work the same on both.)
//!
//! [`TcpListener::bind`](super::TcpListener::bind) is synchronous, so it can't
//! wait for a resolver: it binds a literal address at once, resolves a name
//! on the calling thread only when that thread runs no runtime (program
//! start-up), and inside a runtime asks for `lookup_host(..).await` first.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};

/// How many resolver threads [`lookup_host`] uses, at most, process-wide.
pub const RESOLVER_THREADS: usize = 4;

/// How many host-name lookups may wait for a resolver thread; one more fails
/// with `WouldBlock`.
pub const MAX_PENDING_LOOKUPS: usize = 1024;

/// Something that names one or more socket addresses (see [`lookup_host`]
/// for where host names are resolved). Implemented for `SocketAddr` (and its V4/V6 forms),
/// `(IpAddr, u16)`, `(&str, u16)`, `(String, u16)`, `&str`, `String`,
/// `&[SocketAddr]`, [`Target`] and references to any of these.
pub trait ToSocketAddrs {
    /// The addresses, or the host name to look up. Never blocks; an address
    /// that does not parse becomes a [`Target::Invalid`], reported when it is
    /// used.
    fn to_target(&self) -> Target;
}

/// What a [`ToSocketAddrs`] names, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Literal addresses, tried in order.
    Addrs(Vec<SocketAddr>),
    /// A host name to resolve, and the port.
    Name {
        /// The host name, such as `localhost`.
        host: String,
        /// The port.
        port: u16,
    },
    /// Input that names no address, with the reason; using it fails with
    /// `InvalidInput`.
    Invalid {
        /// What was given.
        input: String,
        /// Why it names no address.
        reason: &'static str,
    },
}

impl Target {
    /// The addresses if no lookup is needed; a name gives `None`.
    ///
    /// # Errors
    /// `InvalidInput` for [`Target::Invalid`] or an empty address list.
    pub fn literal(&self) -> io::Result<Option<Vec<SocketAddr>>> {
        match self {
            Target::Addrs(addrs) if addrs.is_empty() => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address given",
            )),
            Target::Addrs(addrs) => Ok(Some(addrs.clone())),
            Target::Name { .. } => Ok(None),
            Target::Invalid { input, reason } => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid address {input:?}: {reason}"),
            )),
        }
    }

    /// Resolves on the calling thread: for synchronous start-up code (binding
    /// a listener, starting a server). A literal needs no lookup; a name is
    /// looked up here, blocking, but only on a thread that runs no runtime.
    ///
    /// # Errors
    /// As [`literal`](Self::literal); the lookup's error; `InvalidInput` for
    /// a name on a runtime's thread (use [`lookup_host`] there).
    pub fn resolve_outside_runtime(&self) -> io::Result<Vec<SocketAddr>> {
        if let Some(addrs) = self.literal()? {
            return Ok(addrs);
        }
        let Target::Name { host, port } = self else {
            unreachable!("literal() is None only for a name")
        };
        if crate::runtime::context::try_with(|_| ()).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "resolving {self} here would block the runtime on a name lookup: \
                     resolve it with ringo_reactor::net::lookup_host(..).await first"
                ),
            ));
        }
        lookup_now(host, *port)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Addrs(addrs) => match addrs.as_slice() {
                [one] => write!(f, "{one}"),
                many => write!(f, "{many:?}"),
            },
            Target::Name { host, port } => write!(f, "{host}:{port}"),
            Target::Invalid { input, .. } => write!(f, "{input}"),
        }
    }
}

/// Resolves `addr` to socket addresses: at once for a literal, on a resolver
/// thread for a host name.
///
/// `getaddrinfo` blocks (on DNS, for seconds at worst), so it never runs on a
/// runtime's thread: a name goes to a small process-wide pool of
/// [`RESOLVER_THREADS`] threads, started on first use, and this future waits
/// for the answer like for any other I/O. At most [`MAX_PENDING_LOOKUPS`]
/// lookups wait for a resolver thread; more fail at once.
///
/// # Errors
/// `InvalidInput` for an address that does not parse; the lookup's error
/// (no such host); `WouldBlock` when too many lookups already wait.
///
/// # Examples
/// ```
/// ringo_reactor::run(async {
///     let addrs = ringo_reactor::net::lookup_host("localhost:6379").await?;
///     assert!(addrs.iter().all(|a| a.port() == 6379 && a.ip().is_loopback()));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let target = addr.to_target();
    if let Some(addrs) = target.literal()? {
        return Ok(addrs);
    }
    let Target::Name { host, port } = target else {
        unreachable!("literal() is None only for a name")
    };
    let answer = Arc::new(Mutex::new(Answer::default()));
    submit(Lookup {
        host,
        port,
        answer: answer.clone(),
    })?;
    std::future::poll_fn(|cx| {
        let mut answer = answer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match answer.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                answer.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// A lookup's result and the waker of the task awaiting it: the resolver
/// thread sets the one and wakes the other (a ringo `Waker` may be woken from
/// any thread).
#[derive(Default)]
struct Answer {
    result: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}

struct Lookup {
    host: String,
    port: u16,
    answer: Arc<Mutex<Answer>>,
}

/// Queues `lookup` for the resolver threads, starting them on first use.
fn submit(lookup: Lookup) -> io::Result<()> {
    static QUEUE: OnceLock<io::Result<SyncSender<Lookup>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel::<Lookup>(MAX_PENDING_LOOKUPS);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..RESOLVER_THREADS {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("ringo-resolver-{n}"))
                .spawn(move || resolver_thread(&rx))?;
        }
        Ok(tx)
    });
    let queue = queue
        .as_ref()
        .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
    queue.try_send(lookup).map_err(|e| match e {
        TrySendError::Full(_) => io::Error::new(
            io::ErrorKind::WouldBlock,
            "too many host-name lookups waiting for a resolver thread",
        ),
        TrySendError::Disconnected(_) => io::Error::other("resolver threads are gone"),
    })
}

/// Runs lookups until the process ends.
fn resolver_thread(queue: &Mutex<mpsc::Receiver<Lookup>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(lookup) = next else { return };
        let result = lookup_now(&lookup.host, lookup.port);
        let waker = {
            let mut answer = lookup.answer.lock().unwrap_or_else(|p| p.into_inner());
            answer.result = Some(result);
            answer.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// `getaddrinfo` through std: blocks.
fn lookup_now(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ));
    }
    Ok(addrs)
}

/// A host and port: a literal IP needs no lookup.
fn host_port(host: &str, port: u16) -> Target {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match unbracketed.parse::<IpAddr>() {
        Ok(ip) => Target::Addrs(vec![SocketAddr::new(ip, port)]),
        Err(_) if host.is_empty() => Target::Invalid {
            input: format!(":{port}"),
            reason: "empty host",
        },
        Err(_) => Target::Name {
            host: host.to_owned(),
            port,
        },
    }
}

impl ToSocketAddrs for str {
    fn to_target(&self) -> Target {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Target::Addrs(vec![addr]);
        }
        let invalid = |reason| Target::Invalid {
            input: self.to_owned(),
            reason,
        };
        match self.rsplit_once(':') {
            None => invalid("no port (write host:port)"),
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) => host_port(host, port),
                Err(_) => invalid("the port is not a number from 0 to 65535"),
            },
        }
    }
}

impl ToSocketAddrs for String {
    fn to_target(&self) -> Target {
        self.as_str().to_target()
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_target(&self) -> Target {
        host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_target(&self) -> Target {
        host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_target(&self) -> Target {
        Target::Addrs(self.to_vec())
    }
}

impl ToSocketAddrs for Target {
    fn to_target(&self) -> Target {
        self.clone()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_target(&self) -> Target {
        (**self).to_target()
    }
}

/// `ToSocketAddrs` for types that convert into one `SocketAddr`.
macro_rules! socket_addr_like {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {
            fn to_target(&self) -> Target {
                Target::Addrs(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

socket_addr_like!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_parse_without_a_lookup_and_names_wait_for_one() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!("127.0.0.1:8080".to_target(), Target::Addrs(vec![v4]));
        assert_eq!(("127.0.0.1", 8080).to_target(), Target::Addrs(vec![v4]));
        assert_eq!(v4.to_target(), Target::Addrs(vec![v4]));
        let v6: SocketAddr = "[::1]:6379".parse().unwrap();
        assert_eq!(("::1", 6379).to_target(), Target::Addrs(vec![v6]));
        assert_eq!(
            "localhost:6379".to_target(),
            Target::Name {
                host: "localhost".into(),
                port: 6379
            }
        );
    }

    #[test]
    fn bad_addresses_say_why_when_used() {
        for bad in ["localhost", "host:99999", "host:port", ":80", ""] {
            let error = bad.to_target().literal().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(
                error.to_string().contains("invalid address"),
                "{bad}: {error}"
            );
        }
        assert!(Target::Addrs(vec![]).literal().is_err());
    }
}
