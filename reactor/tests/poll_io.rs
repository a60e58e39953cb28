//! `io::poll::PollIo`, ringo streams under the tokio and futures-io traits,
//! on both drivers: bytes arrive exact through small and large, plain and
//! vectored reads and writes; a read abandoned mid-flight loses nothing; a
//! writer ahead of a stalled reader waits instead of buffering without bound;
//! flush and shutdown behave as tokio documents; the stream's errors come
//! through with their kinds; and dropping the runtime with adapter I/O in
//! flight is safe and closes the socket.

use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::future::poll_fn;
use std::io::{ErrorKind, IoSlice, Read};
use std::pin::Pin;
use std::time::Duration;

use ringo_reactor::io::poll::{PollIo, MAX_WRITE_CHUNK, READ_BUFFER};
use ringo_reactor::io::AsyncWrite as _;
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::{sleep, timeout};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use util::{pattern, read_to_end, tcp_pair, write_all};

/// Reads everything from `io` through tokio's `read` with `chunk`-sized
/// destination buffers until end of stream.
async fn tokio_read_all(io: &mut PollIo<TcpStream>, chunk: usize) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match io.read(&mut buf).await.expect("adapter read") {
            0 => return all,
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

both_drivers! {
    async fn tokio_bytes_arrive_exact_through_odd_and_large_reads_and_writes() {
        let (a, b) = tcp_pair().await;
        let (mut a, mut b) = (PollIo::new(a), PollIo::new(b));
        // Past several write chunks and read buffers, with odd sizes on both
        // sides so chunk and buffer edges fall mid-write and mid-read.
        let message = pattern(3 * MAX_WRITE_CHUNK + 12_345, 7);
        let sent = message.clone();
        let writer = ringo_reactor::spawn(async move {
            for piece in sent.chunks(40_001) {
                a.write_all(piece).await.expect("adapter write_all");
            }
            a.shutdown().await.expect("adapter shutdown");
            a
        });
        let received = tokio_read_all(&mut b, 777).await;
        assert!(received == message, "{} bytes came through, altered or cut", received.len());
        writer.await.expect("writer task");
    }
}

both_drivers! {
    async fn tokio_vectored_write_sends_every_slice_in_order() {
        let (a, b) = tcp_pair().await;
        let mut a = PollIo::new(a);
        let parts = [pattern(10, 1), pattern(5000, 2), Vec::new(), pattern(70_000, 3)];
        let expected: Vec<u8> = parts.concat();
        let mut offset = 0;
        while offset < expected.len() {
            // Rebuild the slices past what was taken so far, as a caller does.
            let rest = &expected[offset..];
            let split = rest.len().min(1234);
            let slices = [IoSlice::new(&rest[..split]), IoSlice::new(&rest[split..])];
            let n = a.write_vectored(&slices).await.expect("vectored write");
            assert!(n > 0 && n <= MAX_WRITE_CHUNK, "one vectored write took {n} bytes");
            offset += n;
        }
        a.shutdown().await.expect("shutdown");
        let received = read_to_end(&b).await.expect("peer reads");
        assert!(received == expected, "vectored bytes came through altered");
    }
}

both_drivers! {
    async fn a_read_abandoned_in_flight_loses_no_byte() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        // Start a read, then give up on it: the adapter keeps it in flight.
        let mut first = [0u8; 64];
        let gave_up = timeout(Duration::from_millis(20), a.read(&mut first)).await;
        assert!(gave_up.is_err(), "nothing was sent, so the read must time out");
        // Bytes arrive while nobody polls; the kernel (io_uring) may complete
        // the abandoned read into the adapter's buffer meanwhile.
        write_all(&peer, b"kept across the timeout".to_vec()).await;
        sleep(Duration::from_millis(20)).await;
        let mut got = vec![0u8; 23];
        a.read_exact(&mut got).await.expect("read after the abandoned one");
        assert_eq!(got, b"kept across the timeout");
        assert_eq!(a.buffered(), 0);
    }
}

both_drivers! {
    async fn small_reads_drain_one_buffered_read_in_order() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        let message = pattern(READ_BUFFER / 2, 11);
        write_all(&peer, message.clone()).await;
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        while got.len() < message.len() {
            let n = a.read(&mut buf).await.expect("small read");
            assert!(n > 0, "end of stream after {} bytes", got.len());
            got.extend_from_slice(&buf[..n]);
            assert!(a.buffered() <= message.len() - got.len(), "buffered more than sent");
        }
        assert!(got == message, "small reads reordered or altered bytes");
        // An empty destination reads nothing and does not wait.
        assert_eq!(a.read(&mut []).await.expect("empty read"), 0);
    }
}

both_drivers! {
    async fn buf_read_lines_come_from_the_adapter_buffer() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        write_all(&peer, b"first\nsecond\nthird".to_vec()).await;
        peer.shutdown().await.expect("peer half-close");
        let mut lines = Vec::new();
        let mut line = String::new();
        while a.read_line(&mut line).await.expect("read_line") > 0 {
            lines.push(std::mem::take(&mut line));
        }
        assert_eq!(lines, ["first\n", "second\n", "third"]);
    }
}

both_drivers! {
    async fn a_writer_ahead_of_a_stalled_reader_waits_with_one_chunk_buffered() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        let message = pattern(32 << 20, 5);
        let sent = message.clone();
        // With nobody reading, the socket buffers fill and the adapter must
        // stop taking bytes: write_all cannot finish 32 MiB.
        let writer = ringo_reactor::spawn(async move {
            a.write_all(&sent).await.expect("write_all");
            a.flush().await.expect("flush");
            assert!(!a.is_flushing(), "flush returned with a send still running");
            a.shutdown().await.expect("shutdown");
        });
        sleep(Duration::from_millis(200)).await;
        assert!(!writer.is_finished(), "32 MiB went out with nobody reading");
        let received = read_to_end(&peer).await.expect("peer reads");
        assert!(received == message, "{} bytes arrived, altered or cut", received.len());
        writer.await.expect("writer task");
    }
}

both_drivers! {
    async fn shutdown_flushes_then_the_peer_reads_end_of_stream_and_writes_fail() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        a.write_all(b"last words").await.expect("write");
        a.shutdown().await.expect("shutdown");
        assert_eq!(read_to_end(&peer).await.expect("peer reads"), b"last words");
        a.shutdown().await.expect("a second shutdown is a no-op");
        let error = a.write_all(b"more").await.expect_err("write after shutdown");
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
        // The read half stays open after shutting the write half.
        write_all(&peer, b"reply".to_vec()).await;
        let mut got = [0u8; 5];
        a.read_exact(&mut got).await.expect("read after shutdown");
        assert_eq!(&got, b"reply");
    }
}

both_drivers! {
    async fn a_peer_reset_comes_through_with_its_kind_on_read_and_write() {
        let (a, peer) = tcp_pair().await;
        let mut a = PollIo::new(a);
        peer.set_linger_zero().expect("linger 0");
        drop(peer);
        let mut buf = [0u8; 16];
        let error = a.read(&mut buf).await.expect_err("read after a reset");
        assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
        // The write is accepted into the buffer; its send fails, and the error
        // comes back from flush (or, if the socket already reported it, from a
        // later write) with the kernel's kind.
        let mut error = None;
        for _ in 0..4 {
            let attempt = async {
                a.write_all(b"into the void").await?;
                a.flush().await
            };
            if let Err(e) = attempt.await {
                error = Some(e);
                break;
            }
        }
        let error = error.expect("writes to a reset connection fail");
        assert!(
            matches!(error.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{:?}: {error}",
            error.kind()
        );
    }
}

/// futures-io's `read` as a future, without pulling in futures-util.
async fn futures_read(io: &mut PollIo<TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    poll_fn(|cx| futures_io::AsyncRead::poll_read(Pin::new(&mut *io), cx, buf)).await
}

/// futures-io's `write` as a future.
async fn futures_write(io: &mut PollIo<TcpStream>, buf: &[u8]) -> std::io::Result<usize> {
    poll_fn(|cx| futures_io::AsyncWrite::poll_write(Pin::new(&mut *io), cx, buf)).await
}

both_drivers! {
    async fn futures_io_round_trip_flush_and_close() {
        let (a, b) = tcp_pair().await;
        let (mut a, mut b) = (PollIo::new(a), PollIo::new(b));
        let message = pattern(MAX_WRITE_CHUNK + 999, 3);
        let mut offset = 0;
        while offset < message.len() {
            offset += futures_write(&mut a, &message[offset..]).await.expect("futures write");
        }
        poll_fn(|cx| futures_io::AsyncWrite::poll_flush(Pin::new(&mut a), cx))
            .await
            .expect("futures flush");
        poll_fn(|cx| futures_io::AsyncWrite::poll_close(Pin::new(&mut a), cx))
            .await
            .expect("futures close");
        let mut received = Vec::new();
        let mut buf = vec![0u8; 5000];
        loop {
            match futures_read(&mut b, &mut buf).await.expect("futures read") {
                0 => break,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
        assert!(received == message, "futures-io bytes came through altered");
        // AsyncBufRead: fill shows the bytes, consume takes them.
        let (c, peer) = tcp_pair().await;
        let mut c = PollIo::new(c);
        write_all(&peer, b"buffered".to_vec()).await;
        let filled = poll_fn(|cx| {
            futures_io::AsyncBufRead::poll_fill_buf(Pin::new(&mut c), cx).map_ok(<[u8]>::to_vec)
        })
        .await
        .expect("fill_buf");
        assert_eq!(filled, b"buffered");
        futures_io::AsyncBufRead::consume(Pin::new(&mut c), 3);
        assert_eq!(c.buffered(), 5);
    }
}

on_both_drivers! {
    fn dropping_the_runtime_with_adapter_io_in_flight_is_safe_and_closes_the_socket(kind: DriverKind) {
        let Some(rt) = util::runtime(kind) else { return };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut peer = rt.block_on(async {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (peer, _) = listener.accept().expect("accept");
            drop(ringo_reactor::spawn(async move {
                let mut io = PollIo::new(stream);
                // A write the stalled peer never drains, then a read that
                // never completes: both in flight when the runtime goes.
                let flood = pattern(8 << 20, 1);
                let _ = timeout(Duration::from_millis(50), io.write_all(&flood)).await;
                let mut buf = [0u8; 64];
                let _ = io.read(&mut buf).await;
            }));
            sleep(Duration::from_millis(100)).await;
            peer
        });
        drop(rt);
        // The adapter's socket is closed: the peer drains what was sent and
        // then reads end of stream (or a reset), never blocks.
        peer.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        let mut sink = Vec::new();
        match peer.read_to_end(&mut sink) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        }
    }
}

on_both_drivers! {
    fn a_tokio_app_runs_ringo_io_on_a_ringo_thread_through_a_handle(kind: DriverKind) {
        // The ringo runtime lives on its own thread until told to stop.
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = util::oneshot::channel::<()>();
        let ringo_thread = std::thread::spawn(move || {
            let Some(rt) = util::runtime(kind) else {
                let _ = handle_tx.send(None);
                return;
            };
            handle_tx.send(Some(rt.handle())).expect("the test waits for the handle");
            rt.block_on(stopped);
        });
        let Some(handle) = handle_rx.recv().expect("ringo thread starts") else { return };
        let tokio = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        let echoed = tokio.block_on(async move {
            // `Handle::spawn` takes a `Send` future; it spawns the ringo
            // work (not `Send`: it holds ringo streams) as a local task
            // there and hands back its `Send` output.
            let call = handle.spawn(async move {
                ringo_reactor::spawn(async move {
                    let (a, b) = ringo_reactor::net::UnixStream::pair()?;
                    let (mut a, mut b) = (PollIo::new(a), PollIo::new(b));
                    a.write_all(b"from tokio, through ringo").await?;
                    a.shutdown().await?;
                    let mut got = Vec::new();
                    b.read_to_end(&mut got).await?;
                    Ok::<_, std::io::Error>(got)
                })
                .await
            });
            call.await.expect("outer task").expect("ringo task")
        });
        assert_eq!(echoed.expect("ringo I/O"), b"from tokio, through ringo");
        stop.send(());
        ringo_thread.join().expect("ringo thread ends");
    }
}
