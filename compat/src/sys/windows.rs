//! Windows: operations name a raw socket; mio polls it through AFD once it is
//! wrapped in one of mio's socket types.

use std::collections::HashMap;
use std::io;
use std::mem::ManuallyDrop;
use std::os::windows::io::{FromRawSocket, IntoRawSocket, RawSocket};

use mio::{Interest, Registry, Token};

/// How an operation names what it works on: a socket handle.
pub type RawSource = RawSocket;

/// mio's AFD poll reports a socket once, then waits to be re-armed.
pub(crate) const REARM_AFTER_WOULD_BLOCK: bool = true;

/// A registered socket, borrowed: the caller still owns and closes it.
///
/// mio keeps its poll state inside its socket types, so the registration
/// holds one around the borrowed handle. It never runs its destructor (which
/// would close the handle); `deregister` takes the handle back out.
#[derive(Debug)]
pub(crate) struct Source(ManuallyDrop<mio::net::TcpStream>);

impl Source {
    /// Registers `socket` with `registry` for the directions `waiting` asks
    /// for: a socket that is always writable would otherwise report itself
    /// after every re-arm, for nobody.
    pub(crate) fn register(
        socket: RawSocket,
        registry: &Registry,
        token: Token,
        waiting: Interest,
    ) -> io::Result<Source> {
        // SAFETY: the caller owns `socket` and keeps it open while registered
        // (it deregisters before closing). The wrapper never closes it: it is
        // in `ManuallyDrop` and given back with `into_raw_socket`. AFD polls
        // any socket type alike, so a listener or UDP socket may wear a
        // `TcpStream` here; only mio's registration calls touch it.
        let stream = unsafe { std::net::TcpStream::from_raw_socket(socket) };
        let mut source = Source(ManuallyDrop::new(mio::net::TcpStream::from_std(stream)));
        match registry.register(&mut *source.0, token, waiting) {
            Ok(()) => Ok(source),
            Err(e) => {
                source.release();
                Err(e)
            }
        }
    }

    /// Asks AFD to report the socket again, for the directions `waiting`
    /// asks for.
    pub(crate) fn rearm(
        &mut self,
        registry: &Registry,
        token: Token,
        waiting: Interest,
    ) -> io::Result<()> {
        registry.reregister(&mut *self.0, token, waiting)
    }

    /// Unregisters the socket, leaving it open.
    pub(crate) fn deregister(mut self, registry: &Registry) {
        // Best effort, as on Unix: a closed socket has nothing left to poll.
        let _ = registry.deregister(&mut *self.0);
        self.release();
    }

    /// Hands the handle back without closing it.
    fn release(&mut self) {
        // SAFETY: `self.0` is taken exactly once: `release` consumes the
        // wrapper's only use (both callers drop `self` right after).
        let stream = unsafe { ManuallyDrop::take(&mut self.0) };
        let _ = stream.into_raw_socket();
    }
}

/// Slab keys by socket handle; handles are sparse, so a hash map.
#[derive(Debug, Default)]
pub(crate) struct SourceIndex(HashMap<RawSocket, usize>);

impl SourceIndex {
    pub(crate) fn get(&self, socket: RawSocket) -> Option<usize> {
        self.0.get(&socket).copied()
    }

    pub(crate) fn insert(&mut self, socket: RawSocket, key: usize) -> io::Result<()> {
        self.0.insert(socket, key);
        Ok(())
    }

    pub(crate) fn remove(&mut self, socket: RawSocket) -> Option<usize> {
        self.0.remove(&socket)
    }
}
