//! `Framed` taken apart and used through `futures`' `StreamExt`/`SinkExt`, on
//! both drivers: `split` into a reader and a writer over an `Rc<TcpStream>`
//! (two tasks at once, and a read in flight carried over), `into_parts` /
//! `from_parts` (refused while a read is in flight, buffered bytes kept), and
//! `forward` / `send_all` / stream combinators.

// The reactor's test helpers: both_drivers!, loopback pairs.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::rc::Rc;
use std::time::Duration;

use futures::{stream, SinkExt, StreamExt};
use ringo_proto::codec::LinesCodec;
use ringo_proto::Framed;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::time::timeout;
use util::tcp_pair;

/// Long enough for loopback; a lost frame fails the test with `Elapsed`.
const LIMIT: Duration = Duration::from_secs(10);

both_drivers! {
    async fn sink_and_stream_combinators_work_on_framed() {
        let (a, b) = tcp_pair().await;
        let mut client = Framed::new(a, LinesCodec::new());
        let server = Framed::new(b, LinesCodec::new());
        let lines = stream::iter(["one", "two", "three"].map(|s| Ok(s.to_string())));
        SinkExt::send_all(&mut client, &mut lines.map(|line| line)).await.unwrap();
        let upper: Vec<String> = timeout(
            LIMIT,
            server.map(|line| line.unwrap().to_uppercase()).take(3).collect(),
        )
        .await
        .unwrap();
        assert_eq!(upper, ["ONE", "TWO", "THREE"]);
    }
}

both_drivers! {
    async fn split_halves_echo_with_forward_while_another_task_writes() {
        let (a, b) = tcp_pair().await;
        let (reader, writer) = Framed::new(Rc::new(b), LinesCodec::new()).split();
        // The echo side: its reader forwards into its writer, in its own task.
        let echo = ringo_reactor::spawn(reader.forward(writer));
        let (mut from_echo, mut to_echo) = Framed::new(Rc::new(a), LinesCodec::new()).split();
        let sender = ringo_reactor::spawn(async move {
            for n in 0..100 {
                to_echo.feed(format!("line {n}")).await?;
            }
            to_echo.flush().await?;
            to_echo.get_ref().shutdown().await?;
            Ok::<(), ringo_proto::codec::LinesCodecError>(())
        });
        for n in 0..100 {
            let line = timeout(LIMIT, from_echo.next()).await.unwrap().unwrap().unwrap();
            assert_eq!(line, format!("line {n}"));
        }
        timeout(LIMIT, sender).await.unwrap().unwrap().unwrap();
        timeout(LIMIT, echo).await.unwrap().unwrap().unwrap();
        assert!(timeout(LIMIT, from_echo.next()).await.unwrap().is_none());
    }
}

both_drivers! {
    async fn split_carries_a_read_in_flight_over_to_the_reader() {
        let (a, b) = tcp_pair().await;
        let mut framed = Framed::new(Rc::new(a), LinesCodec::new());
        // Start a read and cancel it: the read stays in flight inside `framed`.
        assert!(timeout(Duration::from_millis(20), framed.next()).await.is_err());
        let (mut reader, _writer) = framed.split();
        b.write_all(b"arrived after the split\n".to_vec()).await.0.unwrap();
        let line = timeout(LIMIT, reader.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(line, "arrived after the split");
    }
}

both_drivers! {
    async fn into_parts_waits_for_no_read_in_flight_and_keeps_every_byte() {
        let (a, b) = tcp_pair().await;
        let mut framed = Framed::new(a, LinesCodec::new());
        assert!(timeout(Duration::from_millis(20), framed.next()).await.is_err());
        let mut framed = match framed.into_parts() {
            Ok(_) => panic!("a read is in flight: into_parts must refuse"),
            Err(framed) => *framed,
        };
        b.write_all(b"first\nrest without newline".to_vec()).await.0.unwrap();
        let first = timeout(LIMIT, framed.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(first, "first");
        framed.encode("queued").unwrap();
        let parts = framed.into_parts().expect("nothing in flight now");
        assert_eq!(&parts.read_buf[..], b"rest without newline");
        assert_eq!(&parts.write_buf[..], b"queued\n");

        let mut again = Framed::from_parts(parts);
        b.write_all(b", ended\n".to_vec()).await.0.unwrap();
        let line = timeout(LIMIT, again.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(line, "rest without newline, ended");
        again.flush().await.unwrap();
        let mut peer = Framed::new(b, LinesCodec::new());
        let queued = timeout(LIMIT, peer.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(queued, "queued");
    }
}
