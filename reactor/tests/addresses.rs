//! Addresses as users write them, on both drivers: `TcpListener::bind` and
//! `TcpStream::connect` take `"ip:port"`, `(host, port)` and host names
//! (resolved by `lookup_host` on a resolver thread, never on the loop), and
//! bad input is an `InvalidInput` error that says why.

use ringo_test_util::both_drivers;

use std::io::ErrorKind;
use std::net::SocketAddr;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{lookup_host, TcpListener, TcpStream};

/// Accepts one connection on `listener` and checks a byte crosses it.
async fn one_byte_crosses(listener: &TcpListener, client: TcpStream) {
    let (server, _) = listener.accept().await.unwrap();
    client.write_all(b"x".to_vec()).await.0.unwrap();
    let (read, buf) = server.read(vec![0u8; 1]).await;
    assert_eq!((read.unwrap(), buf[0]), (1, b'x'));
}

both_drivers! {
    async fn strings_tuples_and_names_bind_and_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for client in [
            TcpStream::connect(format!("127.0.0.1:{port}")).await,
            TcpStream::connect(("127.0.0.1", port)).await,
            TcpStream::connect(format!("localhost:{port}")).await,
            TcpStream::connect(("localhost", port)).await,
        ] {
            match client {
                Ok(client) => one_byte_crosses(&listener, client).await,
                // `localhost` may resolve to ::1 first, where nobody listens:
                // connect tries every address, so a refusal here is a bug.
                Err(e) => panic!("connect failed: {e}"),
            }
        }
        let tuple = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        assert!(tuple.local_addr().unwrap().ip().is_loopback());
    }
}

both_drivers! {
    async fn lookup_host_resolves_names_and_passes_literals_through() {
        let addrs = lookup_host("localhost:6379").await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 6379), "{addrs:?}");
        let literal: SocketAddr = "10.1.2.3:4".parse().unwrap();
        assert_eq!(lookup_host(literal).await.unwrap(), [literal]);
        // Many lookups at once all come back (no wake-up lost across threads).
        let lookups: Vec<_> = (0..50)
            .map(|n| ringo_reactor::spawn(lookup_host(("localhost", n))))
            .collect();
        for (n, lookup) in lookups.into_iter().enumerate() {
            let addrs = lookup.await.unwrap().unwrap();
            assert!(addrs.iter().all(|a| usize::from(a.port()) == n));
        }
    }
}

both_drivers! {
    async fn bad_addresses_fail_clearly() {
        for bad in ["localhost", "127.0.0.1:99999", "127.0.0.1:port", ":80"] {
            let error = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad}: {error}");
            let error = TcpListener::bind(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad}: {error}");
        }
        // A name would block the loop in a synchronous bind: refused, with the way out.
        let error = TcpListener::bind("localhost:0").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("lookup_host"), "{error}");
        let error = lookup_host("no-such-host.invalid:80").await.unwrap_err();
        assert_ne!(error.kind(), ErrorKind::InvalidInput, "a failed lookup, not a parse error");
    }
}
