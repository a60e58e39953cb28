//! Pooled datagram receive (`UdpSocket::recv_from_pooled`), each test three
//! ways: io_uring with provided buffers (one multishot `recvmsg`), io_uring
//! with them denied (the free-list fallback), and compat. Many senders with
//! the right addresses, pool exhaustion without loss, dropping a socket whose
//! multishot is armed (every buffer comes back), datagrams at and over the
//! size a buffer holds, zero-length datagrams, and a dropped receive.

use ringo_test_util as util;
use ringo_test_util::pool_drivers;

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::buf::{BufferPool, PooledBuf, DATAGRAM_HEADROOM};
use ringo_reactor::net::UdpSocket;
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::Runtime;
use util::{all_buffers_back, any_local, pattern};

/// Senders in the many-senders test, and datagrams each sends.
const SENDERS: u16 = 8;
const PER_SENDER: u16 = 200;
/// Datagrams a sender has in flight before it waits for an echo: keeps the
/// receiver's socket buffer far from full, so loopback drops nothing.
const WINDOW: u16 = 4;

/// A datagram that names its sender and sequence number: a 4-byte header,
/// then a pattern of a length that varies with both (zero included).
fn datagram(sender: u16, seq: u16) -> Vec<u8> {
    let len = usize::from((sender * 131 + seq * 7) % 1400);
    let mut bytes = Vec::with_capacity(4 + len);
    bytes.extend_from_slice(&sender.to_be_bytes());
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend(pattern(len, u64::from(sender) << 16 | u64::from(seq)));
    bytes
}

/// Echoes every datagram to its sender as it came, after checking that its
/// header names a sender at the address it came from and that its bytes are
/// the ones that sender made. Returns how many it echoed once `total` have.
async fn checking_echo(socket: Rc<UdpSocket>, senders: Vec<SocketAddr>, total: usize) -> usize {
    for n in 0..total {
        let (buf, from) = socket.recv_from_pooled().await.expect("receive");
        let header: [u8; 4] = buf[..4].try_into().expect("a header");
        let sender = u16::from_be_bytes([header[0], header[1]]);
        let seq = u16::from_be_bytes([header[2], header[3]]);
        assert_eq!(
            from,
            senders[usize::from(sender)],
            "datagram {n}: sender {sender}'s address"
        );
        assert!(
            buf[..] == datagram(sender, seq)[..],
            "datagram {n}: sender {sender} seq {seq} differs"
        );
        socket.send_to(buf, from).await.0.expect("echo");
    }
    total
}

/// Sends [`PER_SENDER`] datagrams from `socket` to `to`, at most [`WINDOW`]
/// ahead of the echoes, and checks each echo.
async fn windowed_sender(socket: UdpSocket, index: u16, to: SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let mut sent = 0;
    for seq in 0..PER_SENDER {
        while sent < PER_SENDER && sent < seq + WINDOW {
            socket
                .send_to(datagram(index, sent), to)
                .await
                .0
                .expect("send");
            sent += 1;
        }
        let (received, back) = socket.recv_from(buf).await;
        buf = back;
        let (n, from) = received.expect("echo");
        assert_eq!(from, to, "sender {index}: the echo comes from the receiver");
        assert!(
            buf[..n] == datagram(index, seq)[..],
            "sender {index}: echo {seq} differs"
        );
    }
}

pool_drivers! {
    Runtime::builder();
    async fn datagrams_from_many_senders_arrive_whole_with_their_senders() {
        let pool = BufferPool::current().expect("pool");
        let receiver = Rc::new(UdpSocket::bind(any_local()).expect("bind"));
        let to = receiver.local_addr().expect("local addr");
        let sockets: Vec<_> = (0..SENDERS).map(|_| UdpSocket::bind(any_local()).expect("bind")).collect();
        let addrs = sockets.iter().map(|s| s.local_addr().expect("local addr")).collect();
        let total = usize::from(SENDERS * PER_SENDER);
        let echo = ringo_reactor::spawn(checking_echo(receiver.clone(), addrs, total));
        let senders: Vec<_> = sockets
            .into_iter()
            .zip(0..)
            .map(|(socket, index)| ringo_reactor::spawn(windowed_sender(socket, index, to)))
            .collect();
        for sender in senders {
            sender.await.expect("sender task");
        }
        assert_eq!(echo.await.expect("echo task"), total);
        drop(receiver);
        all_buffers_back(&pool).await;
    }
}

/// A bound socket and a sender to it.
fn pair() -> (UdpSocket, UdpSocket, SocketAddr) {
    let receiver = UdpSocket::bind(any_local()).expect("bind");
    let sender = UdpSocket::bind(any_local()).expect("bind");
    let to = receiver.local_addr().expect("local addr");
    (receiver, sender, to)
}

/// The next datagram's payload, checked to come from `from`.
async fn payload_from(socket: &UdpSocket, from: SocketAddr) -> PooledBuf {
    let (buf, sender) = socket.recv_from_pooled().await.expect("receive");
    assert_eq!(sender, from, "the sender's address");
    buf
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, 256);
    async fn an_exhausted_pool_holds_datagrams_until_a_buffer_returns() {
        let pool = BufferPool::current().expect("pool");
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        for seq in 0..10 {
            sender.send_to(pattern(100, seq), to).await.0.expect("send");
            if seq == 3 {
                sleep(Duration::from_millis(10)).await;
            }
        }
        let mut held = Vec::new();
        for seq in 0..4 {
            let buf = payload_from(&receiver, from).await;
            assert!(buf[..] == pattern(100, seq)[..], "datagram {seq}");
            held.push(buf);
        }
        assert_eq!(pool.available(), 0, "the reader holds every buffer");
        let waiting = timeout(Duration::from_millis(50), receiver.recv_from_pooled()).await;
        assert!(waiting.is_err(), "a receive with the pool empty waits");
        held.clear();
        for seq in 4..10 {
            let buf = payload_from(&receiver, from).await;
            assert!(buf[..] == pattern(100, seq)[..], "datagram {seq} after the pool refilled");
        }
        all_buffers_back(&pool).await;
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(8, 512);
    async fn dropping_a_socket_with_its_receive_armed_returns_every_buffer() {
        let pool = BufferPool::current().expect("pool");
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        sender.send_to(b"first".to_vec(), to).await.0.expect("send");
        let kept = payload_from(&receiver, from).await;
        assert_eq!(&kept[..], b"first");
        // On io_uring these are received into buffers and queued, uncollected.
        for seq in 0..5 {
            sender.send_to(datagram(1, seq), to).await.0.expect("send");
        }
        sleep(Duration::from_millis(20)).await;
        drop(receiver);
        let waited = timeout(Duration::from_secs(10), async {
            while pool.available() != pool.count() - 1 {
                sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "{} of {} buffers back; one is kept", pool.available(), pool.count());
        assert_eq!(&kept[..], b"first", "a kept buffer outlives its socket");
        drop(kept);
        assert_eq!(pool.available(), pool.count());
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, 256);
    async fn a_datagram_over_the_buffer_is_reported_and_the_next_arrives_whole() {
        let pool = BufferPool::current().expect("pool");
        let room = pool.buffer_size() - DATAGRAM_HEADROOM;
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        // (name, length, whether it is received whole)
        let cases = [
            ("exactly the room", room, true),
            ("one byte over", room + 1, false),
            ("empty", 0, true),
            ("four times the buffer", 4 * pool.buffer_size(), false),
            ("one byte", 1, true),
        ];
        for (name, len, _) in cases {
            let bytes = pattern(len, len as u64);
            assert_eq!(sender.send_to(bytes, to).await.0.expect(name), len, "{name}: sent whole");
        }
        for (name, len, whole) in cases {
            match receiver.recv_from_pooled().await {
                Ok((buf, sender)) => {
                    assert!(whole, "{name}: received, yet it does not fit");
                    assert_eq!(sender, from, "{name}");
                    assert!(buf[..] == pattern(len, len as u64)[..], "{name}: bytes differ");
                }
                Err(e) => {
                    assert!(!whole, "{name}: {e}");
                    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{name}: {e}");
                    let message = e.to_string();
                    assert!(message.contains(&from.to_string()), "{name}: names the sender: {message}");
                    assert!(message.contains(&format!("{room} bytes")), "{name}: names the room: {message}");
                }
            }
        }
        all_buffers_back(&pool).await;
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(2, DATAGRAM_HEADROOM);
    async fn buffers_with_no_room_past_the_headroom_are_refused() {
        let (receiver, _sender, _to) = pair();
        let err = receiver.recv_from_pooled().await.expect_err("no room for a payload");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("DATAGRAM_HEADROOM"), "{err}");
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(2, DATAGRAM_HEADROOM + 1);
    async fn one_byte_past_the_headroom_holds_a_one_byte_datagram() {
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        sender.send_to(b"x".to_vec(), to).await.0.expect("send");
        sender.send_to(b"yz".to_vec(), to).await.0.expect("send");
        sender.send_to(b"w".to_vec(), to).await.0.expect("send");
        assert_eq!(&payload_from(&receiver, from).await[..], b"x");
        let err = receiver.recv_from_pooled().await.expect_err("two bytes do not fit");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert_eq!(&payload_from(&receiver, from).await[..], b"w");
    }
}

pool_drivers! {
    Runtime::builder();
    async fn a_dropped_receive_loses_no_datagram() {
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        for round in 0..5u8 {
            let gave_up = timeout(Duration::from_millis(10), receiver.recv_from_pooled()).await;
            assert!(gave_up.is_err(), "round {round}: nothing was sent");
            sender.send_to(vec![round; 3], to).await.0.expect("send");
            assert_eq!(&payload_from(&receiver, from).await[..], [round; 3], "round {round}");
        }
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(8, 512);
    async fn a_short_datagram_does_not_hide_the_ones_queued_behind_it() {
        // The receiver waits first (so compat has registered the fd), then two
        // datagrams arrive together: the second must come without a third.
        let (receiver, sender, to) = pair();
        let from = sender.local_addr().expect("local addr");
        let receiving = ringo_reactor::spawn(async move {
            let first = payload_from(&receiver, from).await.to_vec();
            let second = payload_from(&receiver, from).await.to_vec();
            (first, second)
        });
        ringo_reactor::task::yield_now().await;
        for payload in [&b"first"[..], b"second"] {
            sender.send_to(payload.to_vec(), to).await.0.expect("send");
        }
        let (first, second) = timeout(Duration::from_secs(5), receiving)
            .await
            .expect("the queued datagram was not received")
            .expect("receiver");
        assert_eq!((&first[..], &second[..]), (&b"first"[..], &b"second"[..]));
    }
}
