//! The getting-started examples, run in-process on both drivers: `chat`
//! (a line chat server) and `json_api` (JSON over HTTP with a timeout and a
//! concurrency limit); `redis_load` is tested in `redis_commands.rs`, beside
//! mini_redis. Each example file is included with `#[path]`, so this tests
//! the code `cargo run --example` runs.

#[path = "../examples/chat.rs"]
mod chat;
#[path = "../examples/json_api.rs"]
mod json_api;

// The reactor's test helpers: on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::time::Duration;

use ringo_proto::codec::LinesCodec;
use ringo_proto::Framed;
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::time::timeout;
use ringo_service::http;
use ringo_service::server::Running;

/// How long a line or reply may take on loopback before the test fails.
const LIMIT: Duration = Duration::from_secs(10);

fn stop(running: Running) {
    util::within(LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}

type Lines = Framed<TcpStream, LinesCodec>;

async fn next_line(lines: &mut Lines) -> String {
    timeout(LIMIT, lines.next())
        .await
        .expect("a line in time")
        .expect("open")
        .expect("a line")
}

both_drivers! {
    async fn chat_relays_each_line_to_everyone_else() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        ringo_reactor::spawn(chat::serve(listener));
        let mut clients = Vec::new();
        for _ in 0..3 {
            let stream = TcpStream::connect(addr).await.unwrap();
            clients.push(Framed::new(stream, LinesCodec::new()));
        }
        // Client 2 speaking proves all three joined (it joined last).
        clients[2].send("ready").await.unwrap();
        assert_eq!(next_line(&mut clients[0]).await, "2: ready");
        assert_eq!(next_line(&mut clients[1]).await, "2: ready");
        clients[0].send("hello").await.unwrap();
        assert_eq!(next_line(&mut clients[1]).await, "0: hello");
        assert_eq!(next_line(&mut clients[2]).await, "0: hello");
        clients[1].send("hi back").await.unwrap();
        // Client 0 never hears itself: its next line is client 1's.
        assert_eq!(next_line(&mut clients[0]).await, "1: hi back");
        assert_eq!(next_line(&mut clients[2]).await, "1: hi back");
        drop(clients.remove(0));
        clients[0].send("after a leave").await.unwrap();
        assert_eq!(next_line(&mut clients[1]).await, "1: after a leave");
    }
}

on_both_drivers! {
    fn json_api_sums_rejects_times_out_and_routes(kind: DriverKind) {
        if !util::tls::have("curl", "json_api_sums_rejects_times_out_and_routes") {
            return;
        }
        let running = json_api::start(http::Server::bind("127.0.0.1:0").driver(kind).workers(1))
            .expect("serve");
        let url = |path: &str| format!("http://{}{path}", running.local_addr());
        assert_eq!(util::curl(&["-d", "[1, 2, 3.5]", &url("/sum")]), r#"{"sum":6.5}"#);
        let status = |args: &[&str]| {
            let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
            all.extend_from_slice(args);
            util::curl(&all)
        };
        assert_eq!(status(&["-d", "{\"not\": \"a list\"}", &url("/sum")]), "400");
        assert_eq!(status(&[&url("/slow")]), "504");
        assert_eq!(status(&[&url("/nowhere")]), "404");
        stop(running);
    }
}
