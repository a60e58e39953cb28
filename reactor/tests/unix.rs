//! Unix stream sockets on both drivers: echo under concurrency, socket pairs,
//! a large byte-exact transfer, bind and path errors, and fd hand-over to std.

// Unix domain sockets are Unix's.
#![cfg(unix)]

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::path::Path;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{UnixListener, UnixStream};
use util::{echo, pattern, read_to_end, TempDir};

/// A listener at `path` whose accepted connections are echoed by spawned tasks.
fn echo_server(path: &Path) {
    let listener = UnixListener::bind(path).expect("bind");
    ringo_reactor::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(ringo_reactor::spawn(echo(stream)));
        }
    });
}

both_drivers! {
    async fn echo_many_concurrent_connections() {
        let dir = TempDir::new("unix-echo");
        let path = dir.join("sock");
        echo_server(&path);
        let clients: Vec<_> = (0..100u64)
            .map(|i| {
                let path = path.clone();
                ringo_reactor::spawn(async move {
                    let stream = UnixStream::connect(&path).await.expect("connect");
                    for round in 0..5u64 {
                        let message = pattern(64 + (i as usize % 200), i * 1000 + round);
                        let (r, _) = stream.write_all(message.clone()).await;
                        r.expect("write");
                        let (r, echoed) = stream.read_exact(vec![0u8; message.len()]).await;
                        r.expect("read");
                        assert_eq!(echoed, message, "client {i} round {round}");
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.expect("client task");
        }
    }
}

both_drivers! {
    async fn accepted_peer_of_an_unbound_client_has_no_path() {
        let dir = TempDir::new("unix-peer");
        let path = dir.join("sock");
        let listener = UnixListener::bind(&path).expect("bind");
        assert_eq!(listener.local_path().expect("local_path"), Some(path.clone()));
        let client = ringo_reactor::spawn(async move { UnixStream::connect(&path).await });
        let (_stream, peer) = listener.accept().await.expect("accept");
        client.await.expect("client task").expect("connect");
        assert_eq!(peer, None, "a connecting socket that never bound has no path");
    }
}

both_drivers! {
    async fn pair_carries_bytes_both_ways_and_eof() {
        let (a, b) = UnixStream::pair().expect("pair");
        let (r, _) = a.write_all(b"ping".to_vec()).await;
        r.expect("a writes");
        let (r, got) = b.read_exact(vec![0u8; 4]).await;
        r.expect("b reads");
        assert_eq!(&got, b"ping");
        let (r, _) = b.write_all(b"pong".to_vec()).await;
        r.expect("b writes");
        let (r, got) = a.read_exact(vec![0u8; 4]).await;
        r.expect("a reads");
        assert_eq!(&got, b"pong");
        a.shutdown().await.expect("shutdown a's write half");
        assert_eq!(read_to_end(&b).await.expect("read to end"), b"", "b sees EOF after a's shutdown");
        let (r, _) = b.write_all(b"still open".to_vec()).await;
        r.expect("b's write half is still open");
        let (r, got) = a.read_exact(vec![0u8; 10]).await;
        r.expect("a still reads after shutting down its write half");
        assert_eq!(&got, b"still open");
    }
}

both_drivers! {
    async fn large_transfer_is_byte_exact() {
        const LEN: usize = 16 * 1024 * 1024;
        let (a, b) = UnixStream::pair().expect("pair");
        let data = pattern(LEN, 11);
        let writer = {
            let data = data.clone();
            ringo_reactor::spawn(async move {
                let (r, _) = a.write_all(data).await;
                r.expect("write 16 MiB");
                // `a` drops here, so the reader sees EOF right after the data.
            })
        };
        let received = read_to_end(&b).await.expect("read to end");
        writer.await.expect("writer");
        assert_eq!(received.len(), LEN, "16 MiB arrive, then EOF");
        assert!(received == data, "16 MiB arrive byte-exact");
    }
}

both_drivers! {
    async fn bind_to_an_existing_path_is_addr_in_use() {
        let dir = TempDir::new("unix-bind");
        let socket_path = dir.join("sock");
        let _first = UnixListener::bind(&socket_path).expect("first bind");
        let file_path = dir.join("file");
        std::fs::write(&file_path, b"not a socket").expect("create file");
        for (name, path) in [("live listener", &socket_path), ("regular file", &file_path)] {
            let err = UnixListener::bind(path).expect_err(name);
            assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{name}: {err}");
        }
    }
}

both_drivers! {
    async fn path_length_is_limited_to_107_bytes() {
        // sun_path holds 108 bytes on Linux, one of them the terminating NUL.
        const LIMIT: usize = 107;
        let dir = TempDir::new("unix-long");
        let base = dir.path().as_os_str().len() + 1;
        assert!(base < LIMIT, "temp dir path {} too long for this test", dir.path().display());
        let at_limit = dir.join(&"a".repeat(LIMIT - base));
        assert_eq!(at_limit.as_os_str().len(), LIMIT);
        let listener = UnixListener::bind(&at_limit).expect("a path of exactly 107 bytes binds");
        let client = UnixStream::connect(&at_limit).await.expect("and accepts connections");
        drop((listener, client));

        let over = dir.join(&"b".repeat(LIMIT + 1 - base));
        let cases: [(&str, std::path::PathBuf, &str); 3] = [
            ("108 bytes", over, "unix socket path length 108 over limit 107"),
            ("far too long", dir.join(&"c".repeat(200)), "over limit 107"),
            ("NUL byte", dir.join("nul\0sock"), "NUL"),
        ];
        for (name, path, message) in cases {
            let err = UnixListener::bind(&path).expect_err(name);
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "bind {name}: {err}");
            assert!(err.to_string().contains(message), "bind {name}: {err}");
            let err = UnixStream::connect(&path).await.expect_err(name);
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "connect {name}: {err}");
            assert!(err.to_string().contains(message), "connect {name}: {err}");
        }
    }
}

both_drivers! {
    async fn connect_to_a_missing_path_is_not_found() {
        let dir = TempDir::new("unix-missing");
        let err = UnixStream::connect(dir.join("nobody")).await.expect_err("no socket there");
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    }
}

both_drivers! {
    async fn from_std_and_into_raw_fd_round_trip() {
        let (std_a, std_b) = std::os::unix::net::UnixStream::pair().expect("std pair");
        let a = UnixStream::from_std(std_a).expect("adopt a");
        let b = UnixStream::from_std(std_b).expect("adopt b");
        let (r, _) = a.write_all(b"via ringo".to_vec()).await;
        r.expect("ringo write");
        let (r, got) = b.read_exact(vec![0u8; 9]).await;
        r.expect("ringo read");
        assert_eq!(&got, b"via ringo");

        // SAFETY: into_raw_fd hands over sole ownership of an open socket fd.
        let mut std_a = unsafe { std::os::unix::net::UnixStream::from_raw_fd(a.into_raw_fd()) };
        std_a.set_nonblocking(false).expect("back to blocking");
        std_a.write_all(b"via std").expect("std write on the handed-over fd");
        let (r, got) = b.read_exact(vec![0u8; 7]).await;
        r.expect("ringo reads what std wrote");
        assert_eq!(&got, b"via std");
        let (r, _) = b.write_all(b"reply".to_vec()).await;
        r.expect("ringo writes back");
        let mut reply = [0u8; 5];
        std_a.read_exact(&mut reply).expect("std reads the reply");
        assert_eq!(&reply, b"reply");
    }
}

both_drivers! {
    async fn listener_from_std_accepts() {
        let dir = TempDir::new("unix-from-std");
        let path = dir.join("sock");
        let std_listener = std::os::unix::net::UnixListener::bind(&path).expect("std bind");
        let listener = UnixListener::from_std(std_listener).expect("adopt listener");
        let accepted = ringo_reactor::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let (r, got) = stream.read_exact(vec![0u8; 5]).await;
            r.expect("server read");
            got
        });
        let client = UnixStream::connect(&path).await.expect("connect");
        let (r, _) = client.write_all(b"hello".to_vec()).await;
        r.expect("client write");
        assert_eq!(accepted.await.expect("server task"), b"hello");
    }
}
