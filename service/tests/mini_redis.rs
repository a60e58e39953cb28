//! The `mini_redis` example against real Redis tools, on both drivers:
//! `redis-cli` runs every command (results compared with redis-server's
//! output), `redis-benchmark` must finish with zero errors, and
//! `redis::Client` and `redis::Pool` talk to it (pipelining, reconnection).
//!
//! The server runs in-process: this file includes the example's modules with
//! `#[path]`, so the tests start exactly the code `cargo run --example
//! mini_redis` runs, without building and spawning the example binary (cargo
//! gives integration tests no path to example binaries, and `cargo run` from a
//! test would be slow and contend for the build lock).

// The example's modules; `main.rs` only parses arguments and prints.
#[path = "../examples/mini_redis/commands.rs"]
mod commands;
#[path = "../examples/mini_redis/glob.rs"]
mod glob;
#[path = "../examples/mini_redis/server.rs"]
mod server;
#[path = "../examples/mini_redis/store.rs"]
mod store;

// The shared test helpers (ringo-test-util): on_both_drivers!, `run_on` runs an async body on a given driver.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;
use util::refused_addr;
// Test certificates for the TLS case.
use ringo_test_util::tls as tls_util;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringo_reactor::time::sleep;
use ringo_reactor::DriverKind;
use ringo_service::redis::{command, Client, Commands, Frame, Pool};
use ringo_service::server::Running;
use ringo_service::ErrorKind;

use server::Settings;

on_both_drivers!(
    redis_cli_gets_redis_answers_to_every_command,
    redis_cli_speaks_tls_to_mini_redis,
    redis_benchmark_finishes_without_errors,
    the_client_sets_and_gets,
    a_hundred_concurrent_calls_share_one_connection,
    the_pool_reconnects_after_the_server_closes_its_connection,
    the_pool_reports_an_unreachable_server_as_unavailable,
);

/// Starts mini_redis on `kind` with `workers` workers on a free port; `None`
/// when io_uring is refused and the run declares a machine without it.
fn start(kind: DriverKind, workers: usize) -> Option<Running> {
    start_with_tls(kind, workers, None)
}

/// [`start`], serving TLS with `tls` when given.
fn start_with_tls(
    kind: DriverKind,
    workers: usize,
    tls: Option<std::sync::Arc<ringo_proto::tls::rustls::ServerConfig>>,
) -> Option<Running> {
    let settings = Settings {
        addr: util::any_local(),
        workers: Some(workers),
        driver: Some(kind),
        tls,
    };
    util::unless_no_uring(kind, "start mini_redis", server::start(&settings))
}

/// What redis-cli must print for one step (its output when not on a terminal:
/// one line per value, an empty line for nil, errors as their text).
enum Expect {
    /// Exactly this, ignoring trailing newlines.
    Is(&'static str),
    /// These lines in any order (`KEYS` has no defined order).
    Unordered(&'static str),
    /// An integer in this inclusive range (times to live tick down).
    Between(i64, i64),
    /// Output containing this.
    Contains(&'static str),
}

/// One step of the redis-cli session: wait, run the command, check its output.
struct Step {
    wait_ms: u64,
    args: &'static [&'static str],
    expect: Expect,
}

const fn step(args: &'static [&'static str], expect: Expect) -> Step {
    Step {
        wait_ms: 0,
        args,
        expect,
    }
}

const fn after(wait_ms: u64, args: &'static [&'static str], expect: Expect) -> Step {
    Step {
        wait_ms,
        args,
        expect,
    }
}

use Expect::{Between, Contains, Is, Unordered};

/// A session covering every command, in order on one fresh server.
const SESSION: &[Step] = &[
    step(&["PING"], Is("PONG")),
    step(&["ping", "hello"], Is("hello")),
    step(
        &["PING", "a", "b"],
        Is("ERR wrong number of arguments for 'ping' command"),
    ),
    step(&["ECHO", "hi there"], Is("hi there")),
    step(
        &["ECHO"],
        Is("ERR wrong number of arguments for 'echo' command"),
    ),
    // SET and GET, with every option.
    step(&["SET", "k", "v"], Is("OK")),
    step(&["GET", "k"], Is("v")),
    step(&["get", "k"], Is("v")),
    step(&["GET", "missing"], Is("")),
    step(
        &["GET"],
        Is("ERR wrong number of arguments for 'get' command"),
    ),
    step(
        &["GET", "a", "b"],
        Is("ERR wrong number of arguments for 'get' command"),
    ),
    step(
        &["SET", "k"],
        Is("ERR wrong number of arguments for 'set' command"),
    ),
    step(&["SET", "k", "v2", "NX"], Is("")),
    step(&["SET", "k", "v2", "XX"], Is("OK")),
    step(&["SET", "fresh", "v", "XX"], Is("")),
    step(&["SET", "fresh", "v", "nx"], Is("OK")),
    step(&["SET", "k", "v3", "GET"], Is("v2")),
    step(&["SET", "absent", "v", "GET"], Is("")),
    step(&["SET", "k", "v", "NX", "XX"], Is("ERR syntax error")),
    step(&["SET", "k", "v", "EX"], Is("ERR syntax error")),
    step(&["SET", "k", "v", "BOGUS"], Is("ERR syntax error")),
    step(
        &["SET", "k", "v", "EX", "1", "PX", "1"],
        Is("ERR syntax error"),
    ),
    step(
        &["SET", "k", "v", "EX", "ten"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(
        &["SET", "k", "v", "EX", "0"],
        Is("ERR invalid expire time in 'set' command"),
    ),
    step(
        &["SET", "k", "v", "PX", "-5"],
        Is("ERR invalid expire time in 'set' command"),
    ),
    step(&["SET", "ex", "v", "EX", "100"], Is("OK")),
    step(&["TTL", "ex"], Between(99, 100)),
    step(&["PTTL", "ex"], Between(98_000, 100_000)),
    step(&["SET", "ex", "w", "KEEPTTL"], Is("OK")),
    step(&["TTL", "ex"], Between(99, 100)),
    step(&["SET", "ex", "x"], Is("OK")),
    step(&["TTL", "ex"], Is("-1")),
    step(&["SET", "short", "v", "PX", "50"], Is("OK")),
    after(100, &["GET", "short"], Is("")),
    step(&["EXISTS", "short"], Is("0")),
    step(&["TTL", "short"], Is("-2")),
    // DEL and EXISTS count keys, duplicates included.
    step(&["DEL", "k", "fresh", "missing"], Is("2")),
    step(
        &["DEL"],
        Is("ERR wrong number of arguments for 'del' command"),
    ),
    step(&["SET", "a", "1"], Is("OK")),
    step(&["EXISTS", "a", "a", "missing"], Is("2")),
    step(
        &["EXISTS"],
        Is("ERR wrong number of arguments for 'exists' command"),
    ),
    // Counters.
    step(&["INCR", "counter"], Is("1")),
    step(&["INCRBY", "counter", "10"], Is("11")),
    step(&["DECR", "counter"], Is("10")),
    step(&["DECRBY", "counter", "20"], Is("-10")),
    step(
        &["INCRBY", "counter", "x"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(
        &["INCR", "ex"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(&["SET", "padded", "01"], Is("OK")),
    step(
        &["INCR", "padded"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(&["SET", "big", "9223372036854775807"], Is("OK")),
    step(
        &["INCR", "big"],
        Is("ERR increment or decrement would overflow"),
    ),
    step(
        &["DECRBY", "a", "-9223372036854775808"],
        Is("ERR decrement would overflow"),
    ),
    step(
        &["INCR"],
        Is("ERR wrong number of arguments for 'incr' command"),
    ),
    step(
        &["INCRBY", "counter"],
        Is("ERR wrong number of arguments for 'incrby' command"),
    ),
    // MSET and MGET.
    step(&["MSET", "m1", "x", "m2", "y"], Is("OK")),
    step(&["MGET", "m1", "missing", "m2"], Is("x\n\ny")),
    step(
        &["MSET", "m1"],
        Is("ERR wrong number of arguments for 'mset' command"),
    ),
    step(
        &["MSET", "m1", "x", "m2"],
        Is("ERR wrong number of arguments for 'mset' command"),
    ),
    step(
        &["MGET"],
        Is("ERR wrong number of arguments for 'mget' command"),
    ),
    // EXPIRE, PEXPIRE, TTL, PTTL.
    step(&["EXPIRE", "m1", "100"], Is("1")),
    step(&["TTL", "m1"], Between(99, 100)),
    step(&["EXPIRE", "missing", "100"], Is("0")),
    step(
        &["EXPIRE", "m1", "soon"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(
        &["EXPIRE", "m1"],
        Is("ERR wrong number of arguments for 'expire' command"),
    ),
    // Long enough that starting the next redis-cli on a loaded machine does
    // not outlast it (at 50 ms, a busy CI machine saw the key gone: -2).
    step(&["PEXPIRE", "m2", "1000"], Is("1")),
    step(&["PTTL", "m2"], Between(0, 1000)),
    after(1100, &["GET", "m2"], Is("")),
    step(&["SET", "gone", "v"], Is("OK")),
    step(&["EXPIRE", "gone", "-1"], Is("1")),
    step(&["EXISTS", "gone"], Is("0")),
    step(&["TTL", "a"], Is("-1")),
    step(&["TTL", "missing"], Is("-2")),
    step(&["PTTL", "missing"], Is("-2")),
    // KEYS and DBSIZE, on a known keyspace.
    step(&["FLUSHDB"], Is("OK")),
    step(&["DBSIZE"], Is("0")),
    step(
        &[
            "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4",
        ],
        Is("OK"),
    ),
    step(&["DBSIZE"], Is("4")),
    step(&["KEYS", "*"], Unordered("hallo\nhello\nhxllo\nworld")),
    step(&["KEYS", "h?llo"], Unordered("hallo\nhello\nhxllo")),
    step(&["KEYS", "h[ae]llo"], Unordered("hallo\nhello")),
    step(&["KEYS", "h[^e]llo"], Unordered("hallo\nhxllo")),
    step(&["KEYS", "h[a-b]llo"], Unordered("hallo")),
    step(&["KEYS", "w*"], Is("world")),
    step(&["KEYS", "nothing*"], Is("")),
    step(
        &["KEYS"],
        Is("ERR wrong number of arguments for 'keys' command"),
    ),
    step(
        &["DBSIZE", "extra"],
        Is("ERR wrong number of arguments for 'dbsize' command"),
    ),
    step(&["FLUSHALL"], Is("OK")),
    step(&["DBSIZE"], Is("0")),
    step(&["FLUSHDB", "ASYNC"], Is("OK")),
    step(&["FLUSHDB", "LATER"], Is("ERR syntax error")),
    // What clients and redis-benchmark ask at start.
    step(&["CONFIG", "GET", "save"], Is("save")),
    step(&["CONFIG", "GET", "appendonly"], Is("appendonly\nno")),
    step(&["CONFIG", "GET", "maxmemory"], Is("")),
    step(
        &["CONFIG", "SET", "save", ""],
        Is("ERR unknown subcommand 'SET'. Try CONFIG HELP."),
    ),
    step(
        &["CONFIG"],
        Is("ERR wrong number of arguments for 'config' command"),
    ),
    step(&["COMMAND"], Is("")),
    step(&["COMMAND", "COUNT"], Is("25")),
    step(&["SELECT", "0"], Is("OK")),
    step(&["SELECT", "1"], Is("ERR DB index is out of range")),
    step(
        &["SELECT", "x"],
        Is("ERR value is not an integer or out of range"),
    ),
    step(&["INFO"], Contains("redis_version:")),
    step(&["QUIT"], Is("OK")),
    step(
        &["FOO", "bar", "baz"],
        Is("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "),
    ),
    step(
        &["foo"],
        Is("ERR unknown command 'foo', with args beginning with: "),
    ),
];

/// Runs `program` with `args`, failing the test if it takes over `limit`.
fn run(program: &str, args: &[&str], limit: Duration) -> Output {
    let limit_secs = limit.as_secs().max(1).to_string();
    let mut timed = vec!["--kill-after=5", limit_secs.as_str(), program];
    timed.extend_from_slice(args);
    let output = Command::new("timeout")
        .args(&timed)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (installed by ci/install-deps.sh): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn redis_cli(addr: SocketAddr, args: &[&str]) -> String {
    let port = addr.port().to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", port.as_str()];
    all.extend_from_slice(args);
    let output = run("redis-cli", &all, Duration::from_secs(10));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `mini_redis --tls CERT KEY` as `main` sets it up (the PEM files loaded
/// by `ringo_proto::tls`), against `redis-cli --tls --cacert`.
fn redis_cli_speaks_tls_to_mini_redis(kind: DriverKind) {
    if !util::tls::have("redis-cli", "redis_cli_speaks_tls_to_mini_redis") {
        return;
    }
    let certs = tls_util::certs("mini_redis CA");
    let config = ringo_proto::tls::server_config_from_pem(&certs.cert_pem, &certs.key_pem)
        .expect("load the PEM files");
    let Some(running) = start_with_tls(kind, 2, Some(std::sync::Arc::new(config))) else {
        return;
    };
    let ca = certs.ca_pem.display().to_string();
    let tls = ["--tls", "--cacert", ca.as_str(), "--sni", "localhost"];
    let cli = |command: &[&str]| {
        let mut args = tls.to_vec();
        args.extend_from_slice(command);
        redis_cli(running.local_addr(), &args)
    };
    assert_eq!(cli(&["PING"]), "PONG\n");
    assert_eq!(cli(&["SET", "over", "tls"]), "OK\n");
    assert_eq!(cli(&["GET", "over"]), "tls\n");
    // Without --tls, redis-cli's plain RESP is no ClientHello: refused.
    let plain = Command::new("timeout")
        .args(["10", "redis-cli", "-h", "127.0.0.1", "-p"])
        .arg(running.local_addr().port().to_string())
        .arg("PING")
        .output()
        .expect("run redis-cli");
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("PONG"),
        "plain RESP must not be served on a TLS port"
    );
    running.shutdown().expect("shutdown");
}

fn redis_cli_gets_redis_answers_to_every_command(kind: DriverKind) {
    if !util::tls::have("redis-cli", "redis_cli_gets_redis_answers_to_every_command") {
        return;
    }
    let Some(running) = start(kind, 2) else {
        return;
    };
    for Step {
        wait_ms,
        args,
        expect,
    } in SESSION
    {
        std::thread::sleep(Duration::from_millis(*wait_ms));
        let output = redis_cli(running.local_addr(), args);
        let output = output.trim_end_matches('\n');
        match expect {
            Is(expected) => assert_eq!(output, *expected, "redis-cli {args:?}"),
            Unordered(expected) => {
                let mut lines: Vec<&str> = output.lines().collect();
                lines.sort_unstable();
                assert_eq!(lines.join("\n"), *expected, "redis-cli {args:?}");
            }
            Between(low, high) => {
                let n: i64 = output
                    .parse()
                    .unwrap_or_else(|e| panic!("redis-cli {args:?}: {output:?}: {e}"));
                assert!(
                    (*low..=*high).contains(&n),
                    "redis-cli {args:?}: {n} not in {low}..={high}"
                );
            }
            Contains(part) => assert!(output.contains(part), "redis-cli {args:?}: {output:?}"),
        }
    }
}

fn redis_benchmark_finishes_without_errors(kind: DriverKind) {
    if !util::tls::have("redis-benchmark", "redis_benchmark_finishes_without_errors") {
        return;
    }
    let Some(running) = start(kind, 2) else {
        return;
    };
    let port = running.local_addr().port().to_string();
    let args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "ping,set,get,incr,mset",
        "-P",
        "16",
        "-q",
        "-n",
        "20000",
        "-c",
        "20",
    ];
    let output = run("redis-benchmark", &args, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("ERR") && !text.to_lowercase().contains("error"),
            "redis-benchmark reported errors:\n{stdout}\n{stderr}"
        );
    }
    // With -q each test ends in one line; progress updates before it are
    // separated by carriage returns.
    let results: Vec<&str> = stdout
        .lines()
        .filter_map(|line| {
            line.rsplit('\r')
                .map(str::trim)
                .find(|part| !part.is_empty())
        })
        .collect();
    for line in &results {
        assert!(
            line.contains("requests per second"),
            "redis-benchmark: {line:?}\n{stdout}"
        );
    }
    // PING_INLINE, PING_MBULK, SET, GET, INCR, MSET.
    assert_eq!(results.len(), 6, "one result per test:\n{stdout}");
}

fn the_client_sets_and_gets(kind: DriverKind) {
    let Some(running) = start(kind, 2) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        let client = Client::connect(addr).await.expect("connect");
        client.ping().await.expect("PONG");
        client.set("greeting", "hello").await.expect("SET");
        assert_eq!(
            client.get("greeting").await.expect("GET").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(client.get("missing").await.expect("GET"), None);
        let reply = client
            .call(command(["INCR", "greeting"]))
            .await
            .expect("a reply");
        assert_eq!(
            reply,
            Frame::Error("ERR value is not an integer or out of range".into())
        );
        // A second connection, maybe on another worker, sees the same keyspace.
        let other = Client::connect(addr).await.expect("connect again");
        assert_eq!(
            other.get("greeting").await.expect("GET").as_deref(),
            Some(&b"hello"[..])
        );
    });
}

fn a_hundred_concurrent_calls_share_one_connection(kind: DriverKind) {
    let Some(running) = start(kind, 2) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        let client = Client::connect(addr).await.expect("connect");
        let calls: Vec<_> = (0..100)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move {
                    let word = format!("word-{i}");
                    let echo = command([Bytes::from_static(b"ECHO"), Bytes::from(word.clone())]);
                    let reply = client.call(echo).await;
                    (word, reply, client.call(command(["INCR", "calls"])).await)
                })
            })
            .collect();
        // Every call is queued before any reply can arrive: they pipeline.
        ringo_reactor::task::yield_now().await;
        assert!(
            client.outstanding() > 1,
            "calls are pipelined, not one at a time"
        );
        for call in calls {
            let (word, echoed, _) = call.await.expect("the task finishes");
            assert_eq!(
                echoed.expect("ECHO"),
                Frame::Bulk(word.into()),
                "replies match their calls"
            );
        }
        assert_eq!(
            client.get("calls").await.expect("GET").as_deref(),
            Some(&b"100"[..])
        );
    });
}

fn the_pool_reconnects_after_the_server_closes_its_connection(kind: DriverKind) {
    let Some(running) = start(kind, 2) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        let pool = Pool::builder(addr).size(1).build();
        let pong = pool.call(command(["PING"])).await.expect("PING");
        assert_eq!(pong, Frame::Simple("PONG".into()));
        assert_eq!(pool.connections(), 1);
        let client = pool.client().await.expect("the pooled connection");
        // QUIT makes the server close the connection after +OK.
        let ok = pool.call(command(["QUIT"])).await.expect("QUIT");
        assert_eq!(ok, Frame::Simple("OK".into()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client.is_closed() {
            assert!(Instant::now() < deadline, "the connection closes");
            sleep(Duration::from_millis(5)).await;
        }
        // The next call finds the connection dead and opens another (the
        // pool's background task may have replaced it already).
        pool.call(command(["SET", "after", "reconnect"]))
            .await
            .expect("SET");
        assert_eq!(pool.connections(), 1, "a new connection replaced it");
        let replacement = pool.client().await.expect("the pooled connection");
        assert!(!replacement.is_closed());
        assert_eq!(
            replacement.get("after").await.expect("GET").as_deref(),
            Some(&b"reconnect"[..])
        );
    });
}

fn the_pool_reports_an_unreachable_server_as_unavailable(kind: DriverKind) {
    let (_held, addr) = refused_addr();
    util::run_on(kind, || async move {
        let pool = Pool::builder(addr).size(2).build();
        let error = pool
            .call(command(["PING"]))
            .await
            .expect_err("nobody listens");
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
        assert_eq!(pool.connections(), 0);
    });
}
