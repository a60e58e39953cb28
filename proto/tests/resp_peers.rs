//! The RESP server dispatch against the real `redis-cli` (Debian redis-tools).
//!
//! A tiny key-value server on `pipeline::Server` + `RespCodec`, one runtime of
//! the driver under test on its own thread; `redis-cli` runs as a child process.

// The shared test helpers (ringo-test-util): on_both_drivers! and the server thread.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::rc::Rc;

use bytes::Bytes;
use ringo_proto::resp::{serve_connection, Frame, RespCodec, ServerConfig};
use ringo_reactor::DriverKind;

type Store = Rc<RefCell<HashMap<Bytes, Bytes>>>;

fn error(message: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(message.as_bytes()))
}

fn execute(store: &Store, command: Frame) -> Frame {
    let Frame::Array(parts) = command else {
        return error("ERR expected an array");
    };
    let args: Vec<Bytes> = parts
        .into_iter()
        .filter_map(|p| match p {
            Frame::Bulk(b) => Some(b),
            _ => None,
        })
        .collect();
    let Some(name) = args.first() else {
        return error("ERR empty command");
    };
    match (name.to_ascii_uppercase().as_slice(), args.len()) {
        (b"PING", 1) => Frame::Simple(Bytes::from_static(b"PONG")),
        (b"ECHO", 2) => Frame::Bulk(args[1].clone()),
        (b"SET", 3) => {
            store.borrow_mut().insert(args[1].clone(), args[2].clone());
            Frame::Simple(Bytes::from_static(b"OK"))
        }
        (b"GET", 2) => store
            .borrow()
            .get(&args[1])
            .cloned()
            .map_or(Frame::Null, Frame::Bulk),
        (b"PING" | b"ECHO" | b"SET" | b"GET", _) => error("ERR wrong number of arguments"),
        _ => error(&format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(name)
        )),
    }
}

/// Starts the server on `kind`; `None` where io_uring is declared unavailable.
fn start_server(kind: DriverKind) -> Option<SocketAddr> {
    util::server_thread(kind, || {
        let store: Store = Rc::default();
        move |stream| {
            let store = store.clone();
            async move {
                let handler = |command| {
                    let reply = execute(&store, command);
                    async move { Ok::<_, std::convert::Infallible>(reply) }
                };
                let config = ServerConfig::default();
                let _ = serve_connection(
                    stream,
                    RespCodec::new(),
                    &config,
                    handler,
                    std::future::pending(),
                )
                .await;
            }
        }
    })
}

/// `redis-cli` talking to the server at `addr`, under a 20 s time limit.
fn redis_cli_command(addr: SocketAddr) -> Command {
    let mut command = Command::new("timeout");
    command.args([
        "20",
        "redis-cli",
        "-h",
        "127.0.0.1",
        "-p",
        &addr.port().to_string(),
    ]);
    command
}

/// Runs `redis-cli args` against `addr`; returns its output, trimmed.
fn redis_cli(addr: SocketAddr, args: &[&str]) -> String {
    let output = redis_cli_command(addr)
        .args(args)
        .output()
        .expect("redis-cli is installed (ci/install-deps.sh installs redis-tools)");
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

fn redis_cli_commands_get_redis_answers(kind: DriverKind) {
    if !util::tls::have("redis-cli", "redis_cli_commands_get_redis_answers") {
        return;
    }
    let Some(addr) = start_server(kind) else {
        return;
    };
    let cases: &[(&[&str], &str)] = &[
        (&["PING"], "PONG"),
        (&["ECHO", "hello world"], "hello world"),
        (&["SET", "k", "v1"], "OK"),
        (&["GET", "k"], "v1"),
        (&["GET", "missing"], ""),
        (&["NOSUCH", "x"], "ERR unknown command 'NOSUCH'"),
        (&["GET"], "ERR wrong number of arguments"),
    ];
    for (args, expected) in cases {
        assert_eq!(
            redis_cli(addr, args),
            *expected,
            "redis-cli {args:?} on {kind}"
        );
    }
}
on_both_drivers!(redis_cli_commands_get_redis_answers);

fn pipelined_commands_from_redis_cli_pipe_mode(kind: DriverKind) {
    if !util::tls::have("redis-cli", "pipelined_commands_from_redis_cli_pipe_mode") {
        return;
    }
    let Some(addr) = start_server(kind) else {
        return;
    };
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("SET key{i} value{i}\r\n"));
    }
    let mut child = redis_cli_command(addr)
        .arg("--pipe")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("errors: 0, replies: 1000"),
        "redis-cli --pipe on {kind}: {text}"
    );
    assert_eq!(redis_cli(addr, &["GET", "key999"]), "value999");
}
on_both_drivers!(pipelined_commands_from_redis_cli_pipe_mode);

fn protocol_error_gets_err_reply_then_close(kind: DriverKind) {
    let Some(addr) = start_server(kind) else {
        return;
    };
    let reply = util::exchange_until_close(addr, b"*1\r\n$4\r\nPING\r\n*1\r\n$-5\r\nxx\r\n");
    let reply = String::from_utf8(reply).expect("a UTF-8 reply");
    assert_eq!(
        reply, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        "on {kind}"
    );
}
on_both_drivers!(protocol_error_gets_err_reply_then_close);
