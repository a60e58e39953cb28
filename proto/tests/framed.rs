//! `Framed` over real sockets, on both drivers: round trips, frames split and
//! batched by the transport, the read-buffer cap, end of stream, cancel safety
//! of `next` under a timeout, write batching and write backpressure.
//!
//! The peer side of each test is a plain stream driven with owned-buffer reads
//! and writes, so what crosses the socket is checked byte for byte.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::io;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use ringo_proto::codec::{LengthDelimitedCodec, LengthDelimitedCodecError, LinesCodec};
use ringo_proto::Framed;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::task::yield_now;
use ringo_reactor::time::timeout;

/// The cap set with `Framed::set_max_buffer` in the buffer-limit tests.
const MAX_BUFFER: usize = 64 * 1024;

/// A length-delimited frame: a 4-byte big-endian length, then `payload`.
fn length_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = BytesMut::with_capacity(4 + payload.len());
    frame.put_u32(u32::try_from(payload.len()).expect("test payload fits a u32"));
    frame.put_slice(payload);
    frame.to_vec()
}

/// A length-delimited codec whose own frame limit is far above [`MAX_BUFFER`],
/// so only the framed cap stands between a peer and memory.
fn unlimited_length_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(1 << 30)
        .new_codec()
        .expect("valid codec settings")
}

both_drivers! {
    async fn lines_round_trip_over_a_socket() {
        let (a, b) = util::tcp_pair_nodelay().await;
        let mut a = Framed::new(a, LinesCodec::new());
        let mut b = Framed::new(b, LinesCodec::new());
        a.send("hello").await.expect("send hello");
        let got = b.next().await.expect("a frame").expect("decoded");
        assert_eq!(got, "hello");
        b.send(got.to_uppercase()).await.expect("send the answer");
        let answer = a.next().await.expect("a frame").expect("decoded");
        assert_eq!(answer, "HELLO");
        drop(a);
        assert!(b.next().await.is_none(), "the peer closed cleanly");
    }
}

both_drivers! {
    async fn many_frames_in_one_read_all_decode_in_order() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        let sent: String = (0..500).map(|i| format!("line {i}\n")).collect();
        util::write_all(&peer, sent).await;
        peer.shutdown().await.expect("peer shutdown");
        for i in 0..500 {
            let line = framed.next().await.expect("a frame").expect("decoded");
            assert_eq!(line, format!("line {i}"));
        }
        assert!(framed.next().await.is_none(), "end of stream after the last frame");
    }
}

/// Writes `bytes` to `peer` one byte per write, yielding between writes so the
/// reader sees many short reads.
async fn trickle(peer: &TcpStream, bytes: &[u8]) {
    for &byte in bytes {
        util::write_all(peer, [byte]).await;
        yield_now().await;
    }
}

both_drivers! {
    async fn lines_written_a_byte_at_a_time_decode_whole() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        let writer = ringo_reactor::spawn(async move {
            trickle(&peer, b"split across writes\r\nand another\n").await;
            peer
        });
        assert_eq!(framed.next().await.expect("a frame").expect("decoded"), "split across writes");
        assert_eq!(framed.next().await.expect("a frame").expect("decoded"), "and another");
        drop(writer.await.expect("writer task"));
        assert!(framed.next().await.is_none(), "end of stream after the last frame");
    }
}

both_drivers! {
    async fn length_frames_written_a_byte_at_a_time_decode_whole() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
        let writer = ringo_reactor::spawn(async move {
            let mut bytes = length_frame(b"first frame");
            bytes.extend(length_frame(b""));
            bytes.extend(length_frame(&[7u8; 300]));
            trickle(&peer, &bytes).await;
            peer
        });
        let expected: [&[u8]; 3] = [b"first frame", b"", &[7u8; 300]];
        for (i, want) in expected.iter().enumerate() {
            let frame = framed.next().await.expect("a frame").expect("decoded");
            assert_eq!(&frame[..], *want, "frame {i}");
        }
        drop(writer.await.expect("writer task"));
        assert!(framed.next().await.is_none(), "end of stream after the last frame");
    }
}

both_drivers! {
    async fn the_read_buffer_cap_holds_at_n_and_fails_at_n_plus_one() {
        // (name, bytes the peer sends, whether a frame decodes). A frame's bytes on
        // the wire are its 4-byte header plus its payload; the cap counts them all.
        let announced_huge = {
            let mut bytes = 1_048_576u32.to_be_bytes().to_vec();
            bytes.extend(vec![b'x'; 1_048_576]);
            bytes
        };
        let cases: [(&str, Vec<u8>, bool); 3] = [
            ("a frame of exactly the cap", length_frame(&vec![1u8; MAX_BUFFER - 4]), true),
            ("a frame one byte over the cap", length_frame(&vec![2u8; MAX_BUFFER - 3]), false),
            ("a peer announcing a 1 MiB frame", announced_huge, false),
        ];
        for (name, bytes, decodes) in cases {
            let (peer, stream) = util::tcp_pair_nodelay().await;
            let mut framed = Framed::new(stream, unlimited_length_codec());
            framed.set_max_buffer(MAX_BUFFER);
            let total = bytes.len();
            // The peer's write fails once the framed side gives up and closes.
            let writer = ringo_reactor::spawn(async move {
                let _ = peer.write_all(bytes).await;
                peer
            });
            let next = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            if decodes {
                let frame = next.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(frame.len(), total - 4, "{name}: payload length");
            } else {
                let Err(LengthDelimitedCodecError::Io(e)) = next else {
                    panic!("{name}: expected an i/o error, got {next:?}");
                };
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
                assert!(
                    e.to_string().contains(&format!("limit {MAX_BUFFER}")),
                    "{name}: message names the limit: {e}"
                );
                assert!(
                    framed.read_buffer().len() <= MAX_BUFFER,
                    "{name}: buffered {} bytes, over the cap",
                    framed.read_buffer().len()
                );
                assert!(framed.next().await.is_none(), "{name}: the stream ends after the error");
            }
            drop(framed);
            drop(writer.await.unwrap_or_else(|e| panic!("{name}: writer task: {e}")));
        }
    }
}

both_drivers! {
    async fn a_stream_closed_mid_frame_is_an_unexpected_eof() {
        let cases: [(&str, &[u8]); 3] = [
            ("half a header", &[0, 0]),
            ("a header and part of the payload", &[0, 0, 0, 10, b'a', b'b', b'c']),
            ("a whole frame, then half a header", &[0, 0, 0, 1, b'z', 0]),
        ];
        for (name, bytes) in cases {
            let (peer, stream) = util::tcp_pair_nodelay().await;
            let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
            util::write_all(&peer, bytes).await;
            drop(peer);
            let mut item = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            if let Ok(frame) = &item {
                assert_eq!(&frame[..], b"z", "{name}: the whole frame before the partial one");
                item = framed.next().await.unwrap_or_else(|| panic!("{name}: no item"));
            }
            let Err(LengthDelimitedCodecError::Io(e)) = item else {
                panic!("{name}: expected an i/o error, got {item:?}");
            };
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{name}: {e}");
            assert!(framed.next().await.is_none(), "{name}: the stream ends after the error");
        }
    }
}

both_drivers! {
    async fn a_clean_end_of_stream_is_none_and_stays_none() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
        let mut bytes = length_frame(b"one");
        bytes.extend(length_frame(b"two"));
        util::write_all(&peer, bytes).await;
        drop(peer);
        assert_eq!(&framed.next().await.expect("a frame").expect("decoded")[..], b"one");
        assert_eq!(&framed.next().await.expect("a frame").expect("decoded")[..], b"two");
        assert!(framed.next().await.is_none(), "end of stream");
        assert!(framed.next().await.is_none(), "still the end of stream");
    }
}

both_drivers! {
    async fn a_next_that_timed_out_with_no_data_loses_no_bytes() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        for round in 0..20 {
            let waited = timeout(Duration::from_millis(10), framed.next()).await;
            assert!(waited.is_err(), "round {round}: nothing was sent, yet next returned {waited:?}");
            util::write_all(&peer, format!("frame {round}\n")).await;
            let line = framed.next().await.expect("a frame").expect("decoded");
            assert_eq!(line, format!("frame {round}"), "round {round}");
            assert!(framed.read_buffer().is_empty(), "round {round}: nothing left over");
        }
    }
}

both_drivers! {
    async fn a_next_that_timed_out_mid_frame_keeps_the_partial_frame() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
        let frame = length_frame(b"a frame that arrives in pieces");
        for (i, piece) in frame.chunks(3).enumerate() {
            util::write_all(&peer, piece).await;
            let waited = timeout(Duration::from_millis(10), framed.next()).await;
            if let Ok(item) = waited {
                let got = item.expect("a frame").expect("decoded");
                assert_eq!(i, frame.chunks(3).count() - 1, "decoded before the last piece");
                assert_eq!(&got[..], b"a frame that arrives in pieces");
                return;
            }
        }
        // The last piece's read may complete after its timeout: it was not lost.
        let got = framed.next().await.expect("a frame").expect("decoded");
        assert_eq!(&got[..], b"a frame that arrives in pieces");
    }
}

both_drivers! {
    async fn a_line_interrupted_by_a_timeout_decodes_when_the_rest_arrives() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        util::write_all(&peer, "hel").await;
        let waited = timeout(Duration::from_millis(50), framed.next()).await;
        assert!(waited.is_err(), "half a line decoded as {waited:?}");
        util::write_all(&peer, "lo\nworld\n").await;
        assert_eq!(framed.next().await.expect("a frame").expect("decoded"), "hello");
        assert_eq!(framed.next().await.expect("a frame").expect("decoded"), "world");
    }
}

both_drivers! {
    async fn many_feeds_then_one_flush_deliver_everything() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        let mut expected = Vec::new();
        for i in 0..1000 {
            let line = format!("response {i}");
            framed.feed(&line).await.expect("feed");
            expected.extend_from_slice(line.as_bytes());
            expected.push(b'\n');
        }
        assert_eq!(
            framed.write_buffered(),
            expected.len(),
            "feeding under the backpressure mark writes nothing"
        );
        framed.flush().await.expect("flush");
        assert_eq!(framed.write_buffered(), 0, "flush wrote everything");
        drop(framed);
        assert_eq!(util::read_to_end(&peer).await.expect("peer read"), expected);
    }
}

both_drivers! {
    async fn feed_waits_for_a_peer_that_does_not_read() {
        const BACKPRESSURE: usize = 4 * 1024;
        const LINE: usize = 16 * 1024;
        // Far above what loopback socket buffers hold, so feeding must block first.
        const MAX_FRAMES: usize = 64 * 1024 * 1024 / LINE;
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let mut framed = Framed::new(stream, LinesCodec::new());
        framed.set_backpressure(BACKPRESSURE);
        let line = "b".repeat(LINE);
        let mut fed = 0;
        loop {
            assert!(fed < MAX_FRAMES, "fed {fed} frames to a peer that reads nothing, never blocked");
            match timeout(Duration::from_millis(200), framed.feed(&line)).await {
                Ok(result) => result.expect("feed"),
                Err(_) => break,
            }
            fed += 1;
            assert!(
                framed.write_buffered() <= BACKPRESSURE + LINE + 1,
                "write buffer grew to {} bytes past the backpressure mark",
                framed.write_buffered()
            );
        }
        let reader = ringo_reactor::spawn(async move { util::read_to_end(&peer).await.expect("peer read") });
        framed.feed(&line).await.expect("feed once the peer reads");
        fed += 1;
        framed.flush().await.expect("flush");
        drop(framed);
        let received = reader.await.expect("reader task");
        assert_eq!(received.len(), fed * (LINE + 1), "every fed frame arrived once");
        let mut expected = line.into_bytes();
        expected.push(b'\n');
        for (i, frame) in received.chunks(LINE + 1).enumerate() {
            assert_eq!(frame, &expected[..], "frame {i}");
        }
    }
}

both_drivers! {
    async fn a_framed_write_of_bytes_frames_reaches_a_framed_read() {
        let (a, b) = util::tcp_pair_nodelay().await;
        let mut writer = ringo_proto::FramedWrite::new(a, LengthDelimitedCodec::new());
        let mut reader = ringo_proto::FramedRead::new(b, LengthDelimitedCodec::new());
        for i in 0..100u32 {
            writer.feed(Bytes::from(i.to_be_bytes().to_vec())).await.expect("feed");
        }
        writer.flush().await.expect("flush");
        drop(writer);
        for i in 0..100u32 {
            let frame = reader.next().await.expect("a frame").expect("decoded");
            assert_eq!(&frame[..], i.to_be_bytes(), "frame {i}");
        }
        assert!(reader.next().await.is_none(), "end of stream");
    }
}
