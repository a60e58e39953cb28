//! The `proxy` example's connection handling on both drivers, against an
//! echo upstream and friends: 50 clients' bytes come back exact, a client's
//! half-close reaches the upstream while the reply still flows back, and a
//! refused upstream closes the client.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

// The example's own connection handling, so the test runs the code the example runs.
#[path = "../examples/proxy/copy.rs"]
mod copy;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use util::{any_local, echo, pattern, read_to_end, refused_addr, spawn_server};

/// Every proxied connection's result, in the order they ended.
type Results = Rc<RefCell<Vec<std::io::Result<copy::Transferred>>>>;

/// Starts the proxy's accept loop toward `upstream`, as the example's `main`
/// does; returns the proxy's address and a handle on every connection's result.
fn proxy(upstream: SocketAddr) -> (SocketAddr, Results) {
    let listener = TcpListener::bind(any_local()).expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let results = Results::default();
    let record = results.clone();
    drop(ringo_reactor::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            drop(ringo_reactor::spawn(async move {
                let result = copy::proxy_connection(client, upstream).await;
                record.borrow_mut().push(result);
            }));
        }
    }));
    (addr, results)
}

both_drivers! {
    async fn fifty_clients_get_their_bytes_back_exactly_through_the_proxy() {
        let (addr, results) = proxy(spawn_server(echo));
        let clients: Vec<_> = (0..50u64)
            .map(|id| {
                ringo_reactor::spawn(async move {
                    let stream = TcpStream::connect(addr).await.expect("connect to proxy");
                    let mut sent = 0;
                    // Sizes from 1 byte to well past one copy buffer.
                    for (round, len) in [1usize, 100, 4096, 20_000, 70_000].into_iter().enumerate() {
                        let message = pattern(len, id * 10 + round as u64);
                        let (written, _) = stream.write_all(message.clone()).await;
                        written.expect("write through the proxy");
                        let (read, echoed) = stream.read_exact(vec![0u8; len]).await;
                        read.expect("read the echo back");
                        assert!(echoed == message, "client {id}: message {round} ({len} bytes) came back altered");
                        sent += len as u64;
                    }
                    stream.shutdown().await.expect("half-close");
                    let rest = read_to_end(&stream).await.expect("read to the end");
                    assert!(rest.is_empty(), "client {id}: nothing after the echoes");
                    sent
                })
            })
            .collect();
        let mut total = 0;
        for client in clients {
            total += client.await.expect("client task");
        }
        // The proxy records a connection once both directions have ended,
        // which can be just after its client saw the end of stream.
        while results.borrow().len() < 50 {
            ringo_reactor::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let mut copied = 0;
        for result in results.borrow().iter() {
            let transferred = result.as_ref().expect("every connection ends cleanly");
            assert_eq!(transferred.upstream, transferred.downstream);
            copied += transferred.upstream;
        }
        assert_eq!(copied, total);
    }
}

both_drivers! {
    async fn a_client_half_close_reaches_the_upstream_and_its_reply_still_comes_back() {
        // An upstream that answers only once the client has finished sending.
        let counter = spawn_server(|stream: TcpStream| async move {
            let request = read_to_end(&stream).await.expect("upstream reads to the end");
            let reply = format!("got {} bytes", request.len());
            let (written, _) = stream.write_all(reply.into_bytes()).await;
            written.expect("upstream replies");
        });
        let (addr, _) = proxy(counter);
        let stream = TcpStream::connect(addr).await.expect("connect to proxy");
        let (written, _) = stream.write_all(pattern(50_000, 1)).await;
        written.expect("write the request");
        stream.shutdown().await.expect("half-close");
        let reply = read_to_end(&stream).await.expect("read the reply");
        assert_eq!(reply, b"got 50000 bytes");
    }
}

both_drivers! {
    async fn a_refused_upstream_closes_the_client() {
        // Held to the end: a port merely freed could go to another listener.
        let (_guard, refused) = refused_addr();
        let (addr, results) = proxy(refused);
        let stream = TcpStream::connect(addr).await.expect("the proxy itself accepts");
        let (read, _) = stream.read(vec![0u8; 16]).await;
        match read {
            Ok(0) => {}
            Ok(n) => panic!("read {n} bytes from a proxy with no upstream"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
        while results.borrow().is_empty() {
            ringo_reactor::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let error = results.borrow_mut().pop().expect("one result").expect_err("connect failed");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

both_drivers! {
    async fn an_upstream_reset_closes_the_client() {
        let resetting = spawn_server(|stream: TcpStream| async move {
            let (read, _) = stream.read(vec![0u8; 16]).await;
            read.expect("upstream reads the first bytes");
            stream.set_linger_zero().expect("linger zero");
            // Dropped here with SO_LINGER 0: the proxy's upstream gets a reset.
        });
        let (addr, _) = proxy(resetting);
        let stream = TcpStream::connect(addr).await.expect("connect to proxy");
        let (written, _) = stream.write_all(b"hello".to_vec()).await;
        written.expect("write through the proxy");
        match read_to_end(&stream).await {
            Ok(rest) => assert!(rest.is_empty(), "no bytes from a reset upstream"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
}
