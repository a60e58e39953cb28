//! UDP on both drivers: addressed and connected round trips, truncation of a
//! datagram larger than the buffer, IPv6 loopback, and adopting a std socket.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::net::SocketAddr;

use ringo_reactor::net::UdpSocket;
use util::{any_local, pattern};

/// Receives one datagram of at most `capacity` bytes; returns its bytes and sender.
async fn recv_datagram(socket: &UdpSocket, capacity: usize) -> (Vec<u8>, SocketAddr) {
    let (result, mut buf) = socket.recv_from(vec![0u8; capacity]).await;
    let (n, from) = result.expect("recv_from");
    buf.truncate(n);
    (buf, from)
}

both_drivers! {
    async fn send_to_and_recv_from_round_trip_with_the_sender_address() {
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        let (a_addr, b_addr) = (a.local_addr().expect("a addr"), b.local_addr().expect("b addr"));
        let sizes = [1usize, 7, 512, 1400, 8000];
        for (i, &len) in sizes.iter().enumerate() {
            let (sent, _) = a.send_to(pattern(len, i as u64), b_addr).await;
            assert_eq!(sent.expect("send_to"), len, "datagram {i} sent whole");
        }
        // Loopback neither drops nor reorders this handful of datagrams.
        for (i, &len) in sizes.iter().enumerate() {
            let (got, from) = recv_datagram(&b, 65536).await;
            assert_eq!(got, pattern(len, i as u64), "datagram {i}");
            assert_eq!(from, a_addr, "datagram {i} names its sender");
        }
        let (sent, _) = b.send_to(b"reply".to_vec(), a_addr).await;
        assert_eq!(sent.expect("reply"), 5);
        let (got, from) = recv_datagram(&a, 64).await;
        assert_eq!((got.as_slice(), from), (&b"reply"[..], b_addr));
    }
}

both_drivers! {
    async fn recv_from_waits_for_a_datagram_sent_later() {
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        let b_addr = b.local_addr().expect("b addr");
        let receiver = ringo_reactor::spawn(async move { recv_datagram(&b, 64).await.0 });
        ringo_reactor::task::yield_now().await;
        let (sent, _) = a.send_to(b"late".to_vec(), b_addr).await;
        sent.expect("send_to");
        assert_eq!(receiver.await.expect("receiver"), b"late");
    }
}

both_drivers! {
    async fn empty_datagram_is_received_as_zero_bytes() {
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        let (sent, _) = a.send_to(Vec::new(), b.local_addr().expect("b addr")).await;
        assert_eq!(sent.expect("send empty"), 0);
        let (got, from) = recv_datagram(&b, 16).await;
        assert_eq!((got.len(), from), (0, a.local_addr().expect("a addr")));
    }
}

both_drivers! {
    async fn connect_then_send_and_recv() {
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        let (a_addr, b_addr) = (a.local_addr().expect("a addr"), b.local_addr().expect("b addr"));
        a.connect(b_addr).await.expect("connect a");
        b.connect(a_addr).await.expect("connect b");
        assert_eq!(a.peer_addr().expect("a peer"), b_addr);
        assert_eq!(b.peer_addr().expect("b peer"), a_addr);
        for round in 0..5u64 {
            let message = pattern(100 + round as usize, round);
            let (sent, _) = a.send(message.clone()).await;
            assert_eq!(sent.expect("send"), message.len(), "round {round}");
            let (n, buf) = b.recv(vec![0u8; 1024]).await;
            assert_eq!(&buf[..n.expect("recv")], &message[..], "round {round}");
        }
        let (sent, _) = b.send(b"back".to_vec()).await;
        sent.expect("send back");
        let (n, buf) = a.recv(vec![0u8; 16]).await;
        assert_eq!(&buf[..n.expect("recv back")], b"back");
    }
}

both_drivers! {
    async fn unconnected_socket_has_no_peer_and_cannot_send() {
        let a = UdpSocket::bind(any_local()).expect("bind");
        let err = a.peer_addr().expect_err("no peer before connect");
        assert_eq!(err.kind(), std::io::ErrorKind::NotConnected, "{err}");
        let (sent, _) = a.send(b"nowhere".to_vec()).await;
        let err = sent.expect_err("send without a peer");
        // Unix answers `send` on an unconnected UDP socket with EDESTADDRREQ.
        #[cfg(unix)]
        assert_eq!(err.raw_os_error(), Some(libc::EDESTADDRREQ), "{err}");
        // Windows answers WSAENOTCONN; Wine passes Linux's EDESTADDRREQ on as
        // WSAEINVAL (see `util::wine`).
        #[cfg(windows)]
        if util::wine::under_wine() {
            assert_eq!(err.raw_os_error(), Some(util::wine::WSAEINVAL), "{err}");
        } else {
            assert_eq!(err.kind(), std::io::ErrorKind::NotConnected, "{err}");
        }
    }
}

both_drivers! {
    async fn datagram_larger_than_the_buffer_is_truncated() {
        // Observed and relied on: a datagram longer than the buffer fills the
        // buffer, the call reports the buffer's length (not the datagram's), the
        // rest of that datagram is discarded, and the next datagram arrives whole.
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        let b_addr = b.local_addr().expect("b addr");
        let big = pattern(1000, 3);
        let (sent, _) = a.send_to(big.clone(), b_addr).await;
        assert_eq!(sent.expect("send big"), 1000);
        let (sent, _) = a.send_to(b"next".to_vec(), b_addr).await;
        sent.expect("send next");

        let (result, buf) = b.recv_from(vec![0u8; 10]).await;
        let (n, from) = result.expect("a truncated datagram is not an error");
        assert_eq!(n, 10, "reports the buffer's length");
        assert_eq!(&buf[..], &big[..10], "holds the datagram's first bytes");
        assert_eq!(from, a.local_addr().expect("a addr"));
        let (got, _) = recv_datagram(&b, 64).await;
        assert_eq!(got, b"next", "the rest of the big datagram is gone");

        // The same holds for `recv` on a connected socket.
        b.connect(a.local_addr().expect("a addr")).await.expect("connect b");
        let (sent, _) = a.send_to(big.clone(), b_addr).await;
        sent.expect("send big again");
        let (n, buf) = b.recv(vec![0u8; 10]).await;
        assert_eq!(n.expect("recv truncated"), 10);
        assert_eq!(&buf[..], &big[..10]);
    }
}

both_drivers! {
    async fn ipv6_loopback_round_trip() {
        let local: SocketAddr = "[::1]:0".parse().expect("literal address");
        let a = match UdpSocket::bind(local) {
            Ok(socket) => socket,
            Err(e) => {
                eprintln!("no IPv6 loopback here, not running this case: bind [::1]: {e}");
                return;
            }
        };
        let b = UdpSocket::bind(local).expect("bind a second [::1] socket");
        let (a_addr, b_addr) = (a.local_addr().expect("a addr"), b.local_addr().expect("b addr"));
        assert!(a_addr.is_ipv6() && a_addr.ip().is_loopback(), "{a_addr}");
        let (sent, _) = a.send_to(b"six".to_vec(), b_addr).await;
        sent.expect("send_to [::1]");
        let (got, from) = recv_datagram(&b, 16).await;
        assert_eq!((got.as_slice(), from), (&b"six"[..], a_addr));
    }
}

both_drivers! {
    async fn from_std_socket_round_trips() {
        let std_socket = std::net::UdpSocket::bind(any_local()).expect("std bind");
        let std_addr = std_socket.local_addr().expect("std addr");
        let adopted = UdpSocket::from_std(std_socket).expect("adopt");
        assert_eq!(adopted.local_addr().expect("adopted addr"), std_addr);
        let peer = UdpSocket::bind(any_local()).expect("bind peer");
        // Start the receive first: an adopted socket must wait without blocking
        // the loop thread, or the send below could never run.
        let receiver = ringo_reactor::spawn(async move { recv_datagram(&adopted, 64).await });
        ringo_reactor::task::yield_now().await;
        let (sent, _) = peer.send_to(b"adopted".to_vec(), std_addr).await;
        sent.expect("send to adopted");
        let (got, from) = receiver.await.expect("receiver");
        let peer_addr = peer.local_addr().expect("peer addr");
        assert_eq!((got.as_slice(), from), (&b"adopted"[..], peer_addr));
    }
}

both_drivers! {
    async fn a_short_datagram_does_not_hide_the_ones_queued_behind_it() {
        // A stream read that leaves its buffer part empty has emptied the
        // socket; a datagram read has not. Two datagrams arrive together after
        // the receiver started waiting: the second must be received at once,
        // without a third to wake it.
        let a = UdpSocket::bind(any_local()).expect("bind a");
        let b = UdpSocket::bind(any_local()).expect("bind b");
        a.connect(b.local_addr().expect("b addr")).await.expect("connect a");
        b.connect(a.local_addr().expect("a addr")).await.expect("connect b");
        let receiver = ringo_reactor::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..2 {
                let (n, buf) = b.recv(vec![0u8; 64]).await;
                got.push(buf[..n.expect("recv")].to_vec());
            }
            got
        });
        ringo_reactor::task::yield_now().await;
        for payload in [&b"first"[..], b"second"] {
            let (sent, _) = a.send(payload.to_vec()).await;
            sent.expect("send");
        }
        let got = ringo_reactor::time::timeout(std::time::Duration::from_secs(5), receiver)
            .await
            .expect("the queued datagram was not received")
            .expect("receiver");
        assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
    }
}
