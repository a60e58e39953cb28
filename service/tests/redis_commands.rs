//! `redis::Commands` on both drivers: the typed commands against the
//! `mini_redis` example (through a `Pool`, so through its resend path, and a
//! `Client`), the hash and list commands — which mini_redis lacks — against
//! a stand-in that checks what was sent and answers as Redis does, and the
//! `redis_load` example (1,000 concurrent SET/GET pairs through a pool).

// The example's modules, as service/tests/mini_redis.rs includes them.
#[path = "../examples/mini_redis/commands.rs"]
#[allow(dead_code)]
mod commands;
#[path = "../examples/mini_redis/glob.rs"]
mod glob;
#[path = "../examples/mini_redis/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "../examples/mini_redis/store.rs"]
#[allow(dead_code)]
mod store;

#[path = "../examples/redis_load.rs"]
mod redis_load;

// The reactor's test helpers: on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::time::Duration;

use bytes::Bytes;
use ringo_reactor::time::timeout;
use ringo_service::redis::{self, Client, Commands, Frame, Pool, SetCondition, SetOptions};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error};

fn stop(running: Running) {
    util::within(Duration::from_secs(10), "shutdown", move || {
        running.shutdown()
    })
    .expect("shutdown");
}

on_both_drivers! {
    fn typed_commands_against_mini_redis(kind: DriverKind) {
        let settings = server::Settings { addr: util::any_local(), workers: Some(1), driver: Some(kind), tls: None };
        let Some(running) = util::unless_no_uring(kind, "start mini_redis", server::start(&settings)) else {
            return;
        };
        let addr = running.local_addr();
        let Some(rt) = util::runtime(kind) else { return };
        rt.block_on(async {
            let pool = Pool::builder(addr).size(2).build();
            pool.ping().await.unwrap();
            pool.set("k", "v1").await.unwrap();
            assert_eq!(pool.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
            assert_eq!(pool.get("nope").await.unwrap(), None);
            let if_absent = SetOptions { condition: Some(SetCondition::IfAbsent), ..Default::default() };
            assert!(!pool.set_with("k", "v2", if_absent).await.unwrap(), "NX on an existing key");
            let expiring = SetOptions { expire: Some(Duration::from_secs(100)), ..Default::default() };
            assert!(pool.set_with("t", "x", expiring).await.unwrap());
            assert!((98..=100).contains(&pool.ttl("t").await.unwrap()));
            assert_eq!(pool.ttl("k").await.unwrap(), -1);
            assert!(pool.expire("k", Duration::from_secs(50)).await.unwrap());
            assert!(!pool.expire("nope", Duration::from_secs(50)).await.unwrap());
            assert_eq!(pool.incr("n").await.unwrap(), 1);
            assert_eq!(pool.incr_by("n", 41).await.unwrap(), 42);
            pool.mset([("a", "1"), ("b", "2")]).await.unwrap();
            let got = pool.mget(["a", "nope", "b"]).await.unwrap();
            assert_eq!(got, [Some(Bytes::from("1")), None, Some(Bytes::from("2"))]);
            assert_eq!(pool.exists(["a", "b", "nope"]).await.unwrap(), 2);
            assert_eq!(pool.del(["a", "b", "nope"]).await.unwrap(), 2);
            // A wrong-type reply is an error naming it, not a panic.
            let error = pool.incr("k").await.unwrap_err();
            assert!(error.to_string().contains("not an integer"), "{error}");

            let client = Client::connect(addr).await.unwrap();
            assert_eq!(client.get("n").await.unwrap().as_deref(), Some(&b"42"[..]));
        });
        stop(running);
    }
}

/// Answers the hash and list commands with what Redis would for this test.
async fn stand_in(request: Frame) -> Result<Frame, Error> {
    let words: Vec<Bytes> = match request {
        Frame::Array(words) => words
            .into_iter()
            .map(|w| match w {
                Frame::Bulk(b) => b,
                _ => Bytes::new(),
            })
            .collect(),
        _ => return Ok(Frame::Error("ERR not an array".into())),
    };
    let words: Vec<&[u8]> = words.iter().map(|w| &w[..]).collect();
    Ok(match words.as_slice() {
        [b"HSET", b"h", b"f", b"v"] => Frame::Integer(1),
        [b"HGET", b"h", b"f"] => Frame::Bulk("v".into()),
        [b"HGET", b"h", _] => Frame::Null,
        [b"LPUSH", b"l", b"a", b"b"] => Frame::Integer(2),
        [b"LRANGE", b"l", b"0", b"-1"] => {
            Frame::Array(vec![Frame::Bulk("b".into()), Frame::Bulk("a".into())])
        }
        other => Frame::Error(format!("ERR unexpected {other:?}").into()),
    })
}

on_both_drivers! {
    fn hash_and_list_commands_send_and_read_what_redis_expects(kind: DriverKind) {
        let running = redis::Server::bind("127.0.0.1:0")
            .driver(kind)
            .workers(1)
            .serve(|| service_fn(stand_in))
            .expect("serve");
        let addr = running.local_addr();
        let Some(rt) = util::runtime(kind) else { return };
        rt.block_on(async {
            let client = Client::connect(addr).await.unwrap();
            assert_eq!(client.hset("h", "f", "v").await.unwrap(), 1);
            assert_eq!(client.hget("h", "f").await.unwrap().as_deref(), Some(&b"v"[..]));
            assert_eq!(client.hget("h", "g").await.unwrap(), None);
            assert_eq!(client.lpush("l", ["a", "b"]).await.unwrap(), 2);
            assert_eq!(client.lrange("l", 0, -1).await.unwrap(), [Bytes::from("b"), Bytes::from("a")]);
            let error = client.lrange("other", 0, 1).await.unwrap_err();
            assert!(error.to_string().contains("unexpected"), "{error}");
        });
        stop(running);
    }
}

on_both_drivers! {
    fn redis_load_does_a_thousand_concurrent_set_get_pairs(kind: DriverKind) {
        let settings = server::Settings { addr: util::any_local(), workers: Some(1), driver: Some(kind), tls: None };
        let Some(running) = util::unless_no_uring(kind, "start mini_redis", server::start(&settings)) else {
            return;
        };
        let url = format!("redis://{}/0", running.local_addr());
        let Some(rt) = util::runtime(kind) else { return };
        rt.block_on(async {
            let pool = Pool::builder_url(&url).unwrap().build();
            timeout(Duration::from_secs(30), redis_load::run(&pool, 1000)).await.unwrap().unwrap();
            assert_eq!(pool.get("key:999").await.unwrap().as_deref(), Some(&b"999"[..]));
        });
        stop(running);
    }
}
