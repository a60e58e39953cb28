//! Name lookup for the client, off the loop thread: the system resolver
//! blocks, so a name is looked up on a helper thread that wakes the task.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};

/// The address of `host`: an IP literal as it is, a name looked up on a
/// helper thread (the system resolver blocks, and the loop thread must not).
pub(super) async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let lookup = Arc::new(Mutex::new(Lookup::default()));
    let worker = lookup.clone();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("ringo-resolve".to_owned())
        .spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .and_then(|mut addrs| {
                    addrs.next().ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("no address for host {name}"),
                        )
                    })
                });
            let waker = {
                let mut lookup = worker.lock().unwrap_or_else(PoisonError::into_inner);
                lookup.result = Some(result);
                lookup.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        })?;
    poll_fn(|cx| {
        let mut lookup = lookup.lock().unwrap_or_else(PoisonError::into_inner);
        match lookup.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                lookup.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// A name lookup's result, handed from the helper thread.
#[derive(Default)]
struct Lookup {
    result: Option<io::Result<SocketAddr>>,
    waker: Option<Waker>,
}
