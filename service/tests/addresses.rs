//! The service layer takes addresses as users write them, on both drivers:
//! `http::serve` / `Server::bind` with `"ip:port"` and `(host, port)`, and the
//! Redis client and pool with `"localhost:port"` and `redis://host:port/db`
//! URLs (the database selected on every new connection).

// The reactor's test helpers: on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ringo_reactor::DriverKind;
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::redis::{self, Client, Commands, Frame, Pool};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error};

fn stop(running: Running) {
    util::within(Duration::from_secs(10), "shutdown", move || {
        running.shutdown()
    })
    .expect("shutdown");
}

on_both_drivers! {
    fn http_servers_bind_strings_and_host_port_pairs(kind: DriverKind) {
        if !util::tls::have("curl", "http_servers_bind_strings_and_host_port_pairs") {
            return;
        }
        let hello = || {
            service_fn(|_: http::Request<Body>| async {
                Ok::<_, Infallible>(http::Response::new(Body::from("hi")))
            })
        };
        for running in [
            ringo_http::Server::bind("127.0.0.1:0").driver(kind).workers(1).serve(hello),
            ringo_http::Server::bind(("localhost", 0)).driver(kind).workers(1).serve(hello),
        ] {
            let running = running.expect("serve");
            let url = format!("http://{}/", running.local_addr());
            assert_eq!(util::curl(&["-g", &url]), "hi");
            stop(running);
        }
        let bad = ringo_http::Server::bind("nowhere").driver(kind).serve(hello);
        assert_eq!(bad.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    }
}

/// A Redis stand-in that records each command's name and first argument.
fn recording_server(kind: DriverKind, seen: Arc<Mutex<Vec<String>>>) -> Running {
    redis::Server::bind("127.0.0.1:0")
        .driver(kind)
        .workers(1)
        .serve(move || {
            let seen = seen.clone();
            service_fn(move |request: Frame| {
                let seen = seen.clone();
                async move {
                    let Frame::Array(words) = request else {
                        return Ok::<_, Error>(Frame::Error("ERR not an array".into()));
                    };
                    let text: Vec<String> = words
                        .iter()
                        .map(|w| match w {
                            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                            _ => String::new(),
                        })
                        .collect();
                    seen.lock().unwrap().push(text.join(" "));
                    Ok(match text[0].as_str() {
                        "GET" => Frame::Bulk(Bytes::from("v")),
                        _ => Frame::Simple("OK".into()),
                    })
                }
            })
        })
        .expect("serve")
}

on_both_drivers! {
    fn redis_clients_and_pools_take_names_and_urls(kind: DriverKind) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let running = recording_server(kind, seen.clone());
        let port = running.local_addr().port();
        let Some(rt) = util::runtime(kind) else { return };
        rt.block_on(async {
            let plain = Client::connect(format!("localhost:{port}")).await.unwrap();
            assert_eq!(plain.get("a").await.unwrap().as_deref(), Some(&b"v"[..]));
            let url = Client::connect_url(&format!("redis://localhost:{port}/5")).await.unwrap();
            assert_eq!(url.get("b").await.unwrap().as_deref(), Some(&b"v"[..]));
            let pool = Pool::builder_url(&format!("redis://127.0.0.1:{port}/7"))
                .unwrap()
                .size(1)
                .build();
            pool.call(redis::command(["GET", "c"])).await.unwrap();
            let error = Client::connect_url("rediss://localhost").await.unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        });
        assert_eq!(*seen.lock().unwrap(), ["GET a", "SELECT 5", "GET b", "SELECT 7", "GET c"]);
        stop(running);
    }
}
