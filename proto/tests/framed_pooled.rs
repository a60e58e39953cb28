//! `Framed::pooled` over real sockets, each test three ways: io_uring with
//! provided buffers, io_uring with them denied (the free-list fallback), and
//! compat. Lines (decoded straight from received buffers), length-delimited
//! frames (copied) and RESP commands (whole ones decoded from the received
//! buffers) across tiny 64-byte pool buffers, what gets copied into the read
//! buffer, the read-buffer cap, end of stream, a decode error, pool
//! exhaustion, and cancellation: timeouts lose no bytes, and dropping a
//! framed transport mid-buffer gives every buffer back. And the HTTP and RESP
//! servers, which read this way, answering pipelined requests over a pool
//! that keeps running dry.

// The shared test helpers (ringo-test-util): pool_drivers!, loopback pairs, peer writes.
use ringo_test_util as util;
use ringo_test_util::pool_drivers;

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use ringo_proto::codec::{
    LengthDelimitedCodec, LengthDelimitedCodecError, LinesCodec, LinesCodecError,
};
use ringo_proto::resp::{command, Frame, RespCodec};
use ringo_proto::{Encoder, Framed};
use ringo_reactor::buf::BufferPool;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::timeout;
use ringo_reactor::Runtime;
use util::{all_buffers_back, pattern, tcp_pair_nodelay, write_all};

/// The size of the tiny pool buffers most tests use: frames straddle them.
const TINY: usize = 64;

/// How long a `next` that must wait is given before it counts as waiting.
const WAIT: Duration = Duration::from_millis(30);

/// Line `i` of the lines tests: lengths from 0 to several buffers, some
/// ended by `\r\n`.
fn line(i: usize) -> String {
    let text: String = pattern(i * 37 % 300, i as u64)
        .iter()
        .map(|b| char::from(b'a' + b % 26))
        .collect();
    text
}

fn line_bytes(count: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..count {
        bytes.extend_from_slice(line(i).as_bytes());
        bytes.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
    }
    bytes
}

/// A length-delimited frame: a 4-byte big-endian length, then `payload`.
fn length_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = BytesMut::with_capacity(4 + payload.len());
    frame.put_u32(u32::try_from(payload.len()).expect("test payload fits a u32"));
    frame.put_slice(payload);
    frame.to_vec()
}

/// The next frame, which must be there.
async fn frame<C: ringo_proto::Decoder>(framed: &mut Framed<TcpStream, C>) -> C::Item
where
    C::Error: std::fmt::Debug,
{
    framed.next().await.expect("a frame").expect("decoded")
}

pool_drivers! {
    Runtime::builder().recv_buffers(16, TINY);
    async fn lines_across_tiny_buffers_decode_in_order() {
        let pool = BufferPool::current().expect("pool");
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        let writer = ringo_reactor::spawn(async move {
            write_all(&peer, line_bytes(400)).await;
            peer.shutdown().await.expect("shutdown");
            peer
        });
        for i in 0..400 {
            assert_eq!(frame(&mut framed).await, line(i), "line {i}");
        }
        assert!(framed.next().await.is_none(), "end of stream after the last line");
        drop(writer.await.expect("writer task"));
        drop(framed);
        all_buffers_back(&pool).await;
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(16, TINY);
    async fn length_frames_across_tiny_buffers_decode_in_order() {
        let pool = BufferPool::current().expect("pool");
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LengthDelimitedCodec::new());
        let payloads: Vec<Vec<u8>> = (0..300).map(|i| pattern(i * 53 % 500, i as u64)).collect();
        let bytes: Vec<u8> = payloads.iter().flat_map(|p| length_frame(p)).collect();
        let writer = ringo_reactor::spawn(async move {
            write_all(&peer, bytes).await;
            peer
        });
        for (i, payload) in payloads.iter().enumerate() {
            assert!(frame(&mut framed).await[..] == payload[..], "frame {i}");
        }
        drop(writer.await.expect("writer task"));
        assert!(framed.next().await.is_none(), "end of stream after the last frame");
        drop(framed);
        all_buffers_back(&pool).await;
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, 4096);
    async fn whole_lines_are_never_copied_and_a_straddling_one_is() {
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        for round in 0..20 {
            write_all(&peer, format!("first {round}\nsecond {round}\n")).await;
            assert_eq!(frame(&mut framed).await, format!("first {round}"));
            assert_eq!(frame(&mut framed).await, format!("second {round}"));
        }
        assert_eq!(framed.read_buffer().capacity(), 0, "whole lines were decoded in place");
        write_all(&peer, "hel").await;
        assert!(timeout(WAIT, framed.next()).await.is_err(), "half a line decoded");
        assert_eq!(&framed.read_buffer()[..], b"hel", "the start of a straddling line is copied");
        assert_eq!(framed.read_buffered(), 3);
        write_all(&peer, "lo\nworld\nand more\n").await;
        assert_eq!(frame(&mut framed).await, "hello");
        assert!(framed.read_buffer().is_empty(), "what followed the straddling line was given back");
        assert_eq!(framed.read_buffered(), "world\nand more\n".len());
        assert_eq!(frame(&mut framed).await, "world");
        assert_eq!(frame(&mut framed).await, "and more");
        assert_eq!(framed.read_buffered(), 0);
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(16, TINY);
    async fn resp_commands_across_tiny_buffers_decode_in_order() {
        let pool = BufferPool::current().expect("pool");
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, RespCodec::new());
        // Whole commands decode from the received buffers, the ones that
        // straddle two are copied, and an inline command is copied too.
        let commands: Vec<Frame> = (0..200)
            .map(|i| command(["SET".to_owned(), format!("key:{i}"), "v".repeat(i % 90)]))
            .collect();
        let mut wire = BytesMut::new();
        let mut codec = RespCodec::new().accept_inline(false);
        for command in &commands {
            codec.encode(command, &mut wire).expect("encode");
        }
        wire.extend_from_slice(b"PING\r\n");
        let writer = ringo_reactor::spawn(async move {
            write_all(&peer, wire.to_vec()).await;
            peer.shutdown().await.expect("shutdown");
            peer
        });
        for (i, expected) in commands.iter().enumerate() {
            assert_eq!(&frame(&mut framed).await, expected, "command {i}");
        }
        assert_eq!(frame(&mut framed).await, command(["PING"]));
        assert!(framed.next().await.is_none(), "end of stream after the last command");
        drop(writer.await.expect("writer task"));
        drop(framed);
        all_buffers_back(&pool).await;
    }
}

/// The framed cap in the cap tests.
const CAP: usize = 200;

pool_drivers! {
    Runtime::builder().recv_buffers(16, TINY);
    async fn the_read_buffer_cap_holds_at_n_and_fails_at_n_plus_one() {
        // (name, bytes on the wire, whether it decodes)
        for (name, len, decodes) in [
            ("a line of exactly the cap", CAP, true),
            ("a line one byte over the cap", CAP + 1, false),
        ] {
            let (peer, stream) = tcp_pair_nodelay().await;
            let mut framed = Framed::pooled(stream, LinesCodec::with_max_length(usize::MAX));
            framed.set_max_buffer(CAP);
            let mut bytes = vec![b'x'; len - 1];
            bytes.push(b'\n');
            let writer = ringo_reactor::spawn(async move {
                let _ = peer.write_all(bytes).await;
                peer
            });
            let next = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            check_cap(name, next.map(|l| l.len() + 1).map_err(lines_io), len, decodes);
            drop(framed);
            drop(writer.await.expect("writer task"));
        }
        for (name, len, decodes) in [
            ("a length frame of exactly the cap", CAP, true),
            ("a length frame one byte over the cap", CAP + 1, false),
        ] {
            let (peer, stream) = tcp_pair_nodelay().await;
            let codec = LengthDelimitedCodec::builder().max_frame_length(1 << 30).new_codec().expect("codec");
            let mut framed = Framed::pooled(stream, codec);
            framed.set_max_buffer(CAP);
            let bytes = length_frame(&vec![7u8; len - 4]);
            let writer = ringo_reactor::spawn(async move {
                let _ = peer.write_all(bytes).await;
                peer
            });
            let next = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            let next = next.map(|f| f.len() + 4).map_err(|e| match e {
                LengthDelimitedCodecError::Io(e) => e,
                other => panic!("{name}: expected an i/o error, got {other:?}"),
            });
            check_cap(name, next, len, decodes);
            if !decodes {
                assert!(framed.next().await.is_none(), "{name}: the stream ends after the error");
            }
            drop(framed);
            drop(writer.await.expect("writer task"));
        }
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, 4096);
    async fn the_cap_holds_for_lines_decoded_in_place_too() {
        for (name, len, decodes) in [("exactly the cap", CAP, true), ("one byte over", CAP + 1, false)] {
            let (peer, stream) = tcp_pair_nodelay().await;
            let mut framed = Framed::pooled(stream, LinesCodec::with_max_length(usize::MAX));
            framed.set_max_buffer(CAP);
            let mut bytes = vec![b'y'; len - 1];
            bytes.push(b'\n');
            write_all(&peer, bytes).await;
            let next = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            check_cap(name, next.map(|l| l.len() + 1).map_err(lines_io), len, decodes);
            if !decodes {
                assert!(framed.next().await.is_none(), "{name}: the stream ends after the error");
            }
        }
    }
}

/// A lines error that must be the transport's (the cap's) i/o error.
fn lines_io(e: LinesCodecError) -> io::Error {
    match e {
        LinesCodecError::Io(e) => e,
        other => panic!("expected an i/o error, got {other:?}"),
    }
}

/// Checks a cap test's outcome: a frame of `len` bytes on the wire, or the
/// cap's `InvalidData` error naming the limit.
fn check_cap(name: &str, next: io::Result<usize>, len: usize, decodes: bool) {
    match next {
        Ok(wire) => {
            assert!(decodes, "{name}: decoded over the cap");
            assert_eq!(wire, len, "{name}: frame length");
        }
        Err(e) => {
            assert!(!decodes, "{name}: {e}");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
            assert!(
                e.to_string().contains(&format!("limit {CAP}")),
                "{name}: names the limit: {e}"
            );
        }
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(8, TINY);
    async fn end_of_stream_mid_frame_is_an_error_and_a_clean_one_is_none() {
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LengthDelimitedCodec::new());
        let mut bytes = length_frame(&pattern(150, 1));
        bytes.extend_from_slice(&[0, 0, 0, 9, 1, 2]);
        write_all(&peer, bytes).await;
        drop(peer);
        assert!(frame(&mut framed).await[..] == pattern(150, 1)[..]);
        let Some(Err(LengthDelimitedCodecError::Io(e))) = framed.next().await else {
            panic!("a frame cut short by the end of stream is an error");
        };
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert!(framed.next().await.is_none(), "the stream ends after the error");

        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        write_all(&peer, "one\ntwo\nlast without newline").await;
        drop(peer);
        for want in ["one", "two", "last without newline"] {
            assert_eq!(frame(&mut framed).await, want);
        }
        assert!(framed.next().await.is_none(), "end of stream");
        assert!(framed.next().await.is_none(), "still the end of stream");
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, 4096);
    async fn a_line_that_is_not_utf8_ends_the_stream_with_an_error() {
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        write_all(&peer, b"good\n\xff\xfe\nnever\n".to_vec()).await;
        assert_eq!(frame(&mut framed).await, "good");
        let next = framed.next().await.expect("an item");
        assert!(matches!(next, Err(LinesCodecError::InvalidUtf8(_))), "{next:?}");
        assert!(framed.next().await.is_none(), "the stream ends after the error");
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, TINY);
    async fn an_exhausted_pool_delays_frames_and_loses_none() {
        let pool = BufferPool::current().expect("pool");
        let (holder_peer, holder) = tcp_pair_nodelay().await;
        write_all(&holder_peer, pattern(8 * TINY, 3)).await;
        let mut held = Vec::new();
        while held.len() < pool.count() {
            held.push(holder.recv_pooled().await.expect("receive").expect("not EOF"));
        }
        assert_eq!(pool.available(), 0, "another stream holds every buffer");
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        write_all(&peer, line_bytes(50)).await;
        assert!(timeout(WAIT, framed.next()).await.is_err(), "a frame without a buffer");
        held.clear();
        for i in 0..50 {
            assert_eq!(frame(&mut framed).await, line(i), "line {i} after the pool refilled");
        }
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(8, TINY);
    async fn timeouts_mid_frame_lose_no_bytes() {
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LengthDelimitedCodec::new());
        let payload = pattern(300, 9);
        let bytes = length_frame(&payload);
        for (i, piece) in bytes.chunks(37).enumerate() {
            if let Ok(item) = timeout(WAIT, framed.next()).await {
                panic!("piece {i}: a frame before all of it arrived: {item:?}");
            }
            write_all(&peer, piece).await;
        }
        assert!(frame(&mut framed).await[..] == payload[..], "the frame survives the timeouts");

        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        for round in 0..10 {
            assert!(timeout(WAIT, framed.next()).await.is_err(), "round {round}: nothing was sent");
            write_all(&peer, format!("frame {round}\n")).await;
            assert_eq!(frame(&mut framed).await, format!("frame {round}"), "round {round}");
        }
    }
}

pool_drivers! {
    Runtime::builder().recv_buffers(8, TINY);
    async fn dropping_a_framed_transport_mid_buffer_returns_every_buffer() {
        let pool = BufferPool::current().expect("pool");
        let (peer, stream) = tcp_pair_nodelay().await;
        let mut framed = Framed::pooled(stream, LinesCodec::new());
        write_all(&peer, "a\nb\nc\n").await;
        assert_eq!(frame(&mut framed).await, "a");
        assert!(framed.read_buffered() > 0, "the rest waits in a received buffer");
        // More arrives, and on io_uring is received into buffers queued
        // behind the armed multishot, uncollected.
        write_all(&peer, line_bytes(20)).await;
        ringo_reactor::time::sleep(Duration::from_millis(20)).await;
        drop(framed);
        all_buffers_back(&pool).await;
    }
}

/// A request body of `len` bytes, distinct per `seed`, in printable bytes so
/// it reads back the same in a RESP bulk string.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    pattern(len, seed).iter().map(|b| b'a' + b % 26).collect()
}

/// Reads from `peer` until `want` is found in order within what came, one
/// part at a time; `parts` are expected back to back, possibly with framing
/// between them.
async fn read_parts_in_order(peer: &TcpStream, parts: &[Vec<u8>]) {
    let mut got = Vec::new();
    let mut at = 0;
    for (i, part) in parts.iter().enumerate() {
        loop {
            if let Some(pos) = got[at..]
                .windows(part.len())
                .position(|w| w == part.as_slice())
            {
                at += pos + part.len();
                break;
            }
            let chunk = timeout(Duration::from_secs(20), peer.recv_pooled())
                .await
                .unwrap_or_else(|_| panic!("part {i} of {} did not come", parts.len()))
                .expect("receive")
                .unwrap_or_else(|| panic!("EOF before part {i} of {}", parts.len()));
            got.extend_from_slice(&chunk);
        }
    }
}

/// Runs `client` to its end with `server` polled beside it on the same task;
/// the server must not end first.
async fn beside<R: std::fmt::Debug>(
    server: impl Future<Output = R>,
    client: impl Future<Output = ()>,
) {
    let mut server = std::pin::pin!(server);
    let mut client = std::pin::pin!(client);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(end) = server.as_mut().poll(cx) {
            panic!("the server ended early: {end:?}");
        }
        client.as_mut().poll(cx)
    })
    .await;
}

pool_drivers! {
    Runtime::builder().recv_buffers(4, TINY);
    async fn the_http_and_resp_servers_answer_every_request_over_a_tiny_pool() {
        // 8 HTTP and 8 RESP connections pipeline 20 requests each, every one
        // longer than a pool buffer, over 4 buffers of 64 bytes: the pool
        // runs dry again and again; every answer must come, in order.
        let pool = BufferPool::current().expect("pool");
        let mut tasks = Vec::new();
        for conn in 0..8u64 {
            let (peer, stream) = tcp_pair_nodelay().await;
            let config = ringo_proto::http::ServerConfig::default();
            tasks.push(ringo_reactor::spawn(async move {
                let echo = |request: http::Request<bytes::Bytes>| async move {
                    Ok::<_, io::Error>(http::Response::new(request.into_body()))
                };
                let served = ringo_proto::http::serve_connection(
                    stream,
                    &config,
                    echo,
                    std::future::pending(),
                );
                let client = async {
                    let bodies: Vec<Vec<u8>> = (0..20).map(|i| payload(150 + i * 7, conn * 100 + i as u64)).collect();
                    let mut wire = Vec::new();
                    for b in &bodies {
                        wire.extend_from_slice(format!("POST /{conn} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes());
                        wire.extend_from_slice(b);
                    }
                    write_all(&peer, wire).await;
                    read_parts_in_order(&peer, &bodies).await;
                };
                beside(served, client).await;
            }));
        }
        for conn in 0..8u64 {
            let (peer, stream) = tcp_pair_nodelay().await;
            let config = ringo_proto::resp::ServerConfig::default();
            tasks.push(ringo_reactor::spawn(async move {
                let echo = |frame: Frame| async move {
                    let Frame::Array(mut words) = frame else { panic!("a command") };
                    Ok::<_, io::Error>(words.pop().expect("an argument"))
                };
                let served = ringo_proto::resp::serve_connection(
                    stream,
                    RespCodec::new(),
                    &config,
                    echo,
                    std::future::pending(),
                );
                let client = async {
                    let args: Vec<Vec<u8>> = (0..20).map(|i| payload(100 + i * 11, conn * 1000 + i as u64)).collect();
                    let mut wire = BytesMut::new();
                    let mut codec = RespCodec::new();
                    for a in &args {
                        codec
                            .encode(command([b"ECHO".to_vec(), a.clone()]), &mut wire)
                            .expect("encode");
                    }
                    write_all(&peer, wire.to_vec()).await;
                    read_parts_in_order(&peer, &args).await;
                };
                beside(served, client).await;
            }));
        }
        for task in tasks {
            task.await.expect("connection task");
        }
        all_buffers_back(&pool).await;
    }
}
