//! Pooled receive (`recv_pooled`) on both drivers: byte-exact echo over many
//! connections, pool exhaustion without loss, dropping a stream whose multishot
//! receive is armed (every buffer comes back), the io_uring fallback when
//! provided buffers are absent, EOF, peer reset, Unix streams, `Bytes` dropped
//! on another thread, a stalled reader (it must not take the whole pool), and
//! the pool size limits.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::future::Future;
use std::time::Duration;

use ringo_reactor::buf::{BufferPool, MAX_RECV_BUFFERS, MAX_RECV_BUFFER_SIZE};
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::sleep;
use ringo_reactor::{DriverKind, Runtime};
use util::{all_buffers_back, pattern, pool_exhaustion_loses_nothing, run_with, tcp_pair_nodelay};

/// Reads pooled buffers from `stream` until `len` bytes have come.
async fn recv_exactly(stream: &TcpStream, len: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(len);
    while all.len() < len {
        let buf = stream
            .recv_pooled()
            .await
            .expect("pooled receive")
            .unwrap_or_else(|| panic!("EOF after {} of {len} bytes", all.len()));
        all.extend_from_slice(&buf);
    }
    all
}

/// Echoes with `recv_pooled`, writing each pooled buffer back as it is.
async fn pooled_echo(stream: TcpStream) {
    while let Ok(Some(buf)) = stream.recv_pooled().await {
        if stream.write_all(buf).await.0.is_err() {
            return;
        }
    }
}

on_both_drivers! {
    fn pooled_echo_is_byte_exact_over_many_connections(kind: DriverKind) {
        run_with(kind, Runtime::builder(), || async move {
            let pool = BufferPool::current().expect("pool");
            assert_eq!(pool.is_provided(), kind == DriverKind::Uring, "kernel-picked buffers on uring only");
            let addr = util::spawn_server(pooled_echo);
            let clients: Vec<_> = (0..32u64)
                .map(|seed| {
                    ringo_reactor::spawn(async move {
                        let stream = TcpStream::connect(addr).await.expect("connect");
                        let sent = pattern(100_000 + seed as usize * 997, seed);
                        let len = sent.len();
                        let writer = stream.write_all(sent.clone());
                        let (written, echoed) = futures_join(writer, recv_exactly(&stream, len)).await;
                        written.0.expect("write");
                        assert!(echoed == sent, "connection {seed}: echo differs");
                    })
                })
                .collect();
            for client in clients {
                client.await.expect("client task");
            }
            all_buffers_back(&pool).await;
        });
    }
}

/// Runs two futures concurrently on the current task; returns both outputs.
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut out_a, mut out_b) = (None, None);
    std::future::poll_fn(|cx| {
        if out_a.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        if out_a.is_some() && out_b.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (
        out_a.expect("first future done"),
        out_b.expect("second future done"),
    )
}

on_both_drivers! {
    fn exhausted_pool_loses_no_bytes_and_resumes(kind: DriverKind) {
        run_with(kind, Runtime::builder().recv_buffers(4, 1024), || {
            pool_exhaustion_loses_nothing(4, 7)
        });
    }
}

// Reads the sockets' kernel queues (`util::queues`), which Windows does not
// report: SIO_TCP_INFO counts only the bytes in flight, not those queued.
#[cfg(unix)]
on_both_drivers! {
    fn a_stalled_reader_leaves_most_of_the_pool_free_and_loses_nothing(kind: DriverKind) {
        use std::cell::Cell;
        use std::os::fd::AsRawFd;
        use std::rc::Rc;

        // 64 buffers of 4 KiB; the peer sends 1 MiB in 8 KiB writes while the
        // reader, its receive armed, reads nothing for 300 ms. On io_uring the
        // multishot's backlog gets it cancelled, so the bytes wait in the
        // socket instead of in the shared pool; then every byte arrives.
        run_with(kind, Runtime::builder().recv_buffers(64, 4096), || async move {
            let pool = BufferPool::current().expect("pool");
            let (reader, writer) = tcp_pair_nodelay().await;
            let (reader_fd, writer_fd) = (reader.as_raw_fd(), writer.as_raw_fd());
            let sent = pattern(1 << 20, 3);
            let chunks: Vec<Vec<u8>> = sent.chunks(8192).map(<[u8]>::to_vec).collect();
            let written = Rc::new(Cell::new(0u64));
            let writing = ringo_reactor::spawn({
                let written = written.clone();
                async move {
                    for chunk in chunks {
                        let len = chunk.len() as u64;
                        writer.write_all(chunk).await.0.expect("write");
                        written.set(written.get() + len);
                    }
                    writer
                }
            });
            let mut received = recv_exactly(&reader, 1).await;
            sleep(Duration::from_millis(300)).await;
            // What the peer wrote is in its socket, in ours, taken, or in
            // pool buffers the kernel filled for this socket.
            let elsewhere = util::queues::unsent(writer_fd)
                + util::queues::unread(reader_fd)
                + received.len() as u64;
            let in_pool = written.get().saturating_sub(elsewhere);
            let pool_bytes = (pool.count() * pool.buffer_size()) as u64;
            assert!(
                written.get() > pool_bytes && in_pool <= pool_bytes / 2,
                "a stalled reader holds {in_pool} of the pool's {pool_bytes} bytes ({} written)",
                written.get()
            );
            let rest = sent.len() - received.len();
            received.extend(recv_exactly(&reader, rest).await);
            assert!(received == sent, "the bytes differ");
            drop(writing.await.expect("writer task"));
            all_buffers_back(&pool).await;
        });
    }
}

on_both_drivers! {
    fn dropping_an_armed_stream_returns_every_buffer(kind: DriverKind) {
        run_with(kind, Runtime::builder().recv_buffers(8, 512), || async move {
            let pool = BufferPool::current().expect("pool");
            let (client, server) = tcp_pair_nodelay().await;
            client.write_all(pattern(2048, 3)).await.0.expect("write");
            let first = server.recv_pooled().await.expect("receive").expect("not EOF");
            assert!(!first.is_empty());
            drop(first);
            // Let the armed receive fill (and queue) more buffers, uncollected.
            client.write_all(pattern(2048, 4)).await.0.expect("write");
            sleep(Duration::from_millis(20)).await;
            drop(server);
            all_buffers_back(&pool).await;
            drop(client);
        });
    }
}

on_both_drivers! {
    fn pooled_receive_works_without_provided_buffers(kind: DriverKind) {
        let builder = Runtime::builder().simulate(ringo_reactor::runtime::Simulate { no_provided_buffers: true, ..Default::default() });
        run_with(kind, builder, || async move {
            let pool = BufferPool::current().expect("pool");
            assert!(!pool.is_provided(), "the hook denies provided buffers");
            let (client, server) = tcp_pair_nodelay().await;
            let sent = pattern(100_000, 11);
            let writer = client.write_all(sent.clone());
            let (written, got) = futures_join(writer, recv_exactly(&server, sent.len())).await;
            written.0.expect("write");
            assert!(got == sent, "bytes differ on the free-list path");
            client.shutdown().await.expect("shutdown");
            assert!(server.recv_pooled().await.expect("receive").is_none());
            all_buffers_back(&pool).await;
        });
    }
}

on_both_drivers! {
    fn eof_yields_none_on_every_call(kind: DriverKind) {
        run_with(kind, Runtime::builder(), || async move {
            let (client, server) = tcp_pair_nodelay().await;
            client.write_all(b"hello".to_vec()).await.0.expect("write");
            client.shutdown().await.expect("shutdown");
            assert_eq!(recv_exactly(&server, 5).await, b"hello");
            for call in 0..3 {
                let got = server.recv_pooled().await.expect("receive");
                assert!(got.is_none(), "call {call} after EOF yields None");
            }
        });
    }
}

on_both_drivers! {
    fn peer_reset_is_an_error(kind: DriverKind) {
        run_with(kind, Runtime::builder(), || async move {
            let (client, server) = tcp_pair_nodelay().await;
            client.write_all(b"x".to_vec()).await.0.expect("write");
            assert_eq!(recv_exactly(&server, 1).await, b"x");
            client.set_linger_zero().expect("linger");
            drop(client);
            let received = server.recv_pooled().await;
            // Wine reads a reset as the end of stream (see `util::wine`).
            if !(matches!(received, Ok(None)) && util::wine::under_wine()) {
                let err = received.expect_err("a reset connection fails the receive");
                assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
            }
        });
    }
}

#[cfg(unix)]
on_both_drivers! {
    fn unix_streams_receive_pooled(kind: DriverKind) {
        run_with(kind, Runtime::builder(), || async move {
            let (a, b) = ringo_reactor::net::UnixStream::pair().expect("pair");
            let sent = pattern(50_000, 5);
            a.write_all(sent.clone()).await.0.expect("write");
            a.shutdown().await.expect("shutdown");
            let mut got = Vec::new();
            while let Some(buf) = b.recv_pooled().await.expect("receive") {
                got.extend_from_slice(&buf);
            }
            assert!(got == sent, "bytes differ over a Unix stream");
        });
    }
}

on_both_drivers! {
    fn bytes_dropped_on_another_thread_return_their_buffer(kind: DriverKind) {
        run_with(kind, Runtime::builder().recv_buffers(2, 4096), || async move {
            let pool = BufferPool::current().expect("pool");
            let (client, server) = tcp_pair_nodelay().await;
            client.write_all(b"payload".to_vec()).await.0.expect("write");
            let bytes = recv_bytes(&server).await;
            assert_eq!(&bytes[..], b"payload");
            assert_eq!(pool.available(), 1, "the Bytes holds its buffer");
            std::thread::spawn(move || drop(bytes)).join().expect("dropping thread");
            assert_eq!(pool.available(), 2, "the buffer came back through the queue");
            client.write_all(b"more".to_vec()).await.0.expect("write");
            assert_eq!(recv_exactly(&server, 4).await, b"more");
        });
    }
}

/// One pooled receive as `Bytes`.
async fn recv_bytes(stream: &TcpStream) -> bytes::Bytes {
    let buf = stream
        .recv_pooled()
        .await
        .expect("receive")
        .expect("not EOF");
    buf.into_bytes()
}

#[test]
fn pool_sizes_are_clamped_at_their_limits() {
    let cases = [
        ("count at limit", MAX_RECV_BUFFERS, 1, MAX_RECV_BUFFERS, 1),
        (
            "count over limit",
            MAX_RECV_BUFFERS + 1,
            1,
            MAX_RECV_BUFFERS,
            1,
        ),
        (
            "size at limit",
            1,
            MAX_RECV_BUFFER_SIZE,
            1,
            MAX_RECV_BUFFER_SIZE,
        ),
        (
            "size over limit",
            1,
            MAX_RECV_BUFFER_SIZE + 1,
            1,
            MAX_RECV_BUFFER_SIZE,
        ),
        ("zero count and size", 0, 0, 1, 1),
    ];
    for (name, count, size, want_count, want_size) in cases {
        let rt = Runtime::builder()
            .driver(DriverKind::Compat)
            .recv_buffers(count, size)
            .build()
            .expect("compat runtime");
        let pool = rt.block_on(async { BufferPool::current() }).expect("pool");
        assert_eq!(
            (pool.count(), pool.buffer_size()),
            (want_count, want_size),
            "{name}"
        );
    }
}
