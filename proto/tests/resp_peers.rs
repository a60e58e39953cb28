//! The RESP server dispatch against the real `redis-cli` (Debian redis-tools).
//!
//! A tiny key-value server on `pipeline::Server` + `RespCodec`, one runtime of
//! the driver under test on its own thread; `redis-cli` runs as a child process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use ringo_proto::resp::{serve_connection, Frame, RespCodec, ServerConfig};
use ringo_reactor::net::TcpListener;
use ringo_reactor::{DriverKind, Runtime};

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
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = Runtime::builder().driver(kind).build() else {
            assert!(
                std::env::var_os("RINGO_TEST_NO_URING").is_some(),
                "cannot build a {kind} runtime"
            );
            let _ = tx.send(None);
            return;
        };
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            tx.send(Some(listener.local_addr().unwrap())).unwrap();
            let store: Store = Rc::default();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let store = store.clone();
                drop(ringo_reactor::spawn(async move {
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
                }));
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server thread starts")
}

fn redis_cli(addr: SocketAddr, args: &[&str]) -> String {
    let output = Command::new("timeout")
        .args([
            "20",
            "redis-cli",
            "-h",
            "127.0.0.1",
            "-p",
            &addr.port().to_string(),
        ])
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

macro_rules! on_both_drivers {
    ($name:ident) => {
        mod $name {
            #[test]
            fn uring() {
                super::$name(ringo_reactor::DriverKind::Uring);
            }
            #[test]
            fn compat() {
                super::$name(ringo_reactor::DriverKind::Compat);
            }
        }
    };
}

fn redis_cli_commands_get_redis_answers(kind: DriverKind) {
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
    let Some(addr) = start_server(kind) else {
        return;
    };
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("SET key{i} value{i}\r\n"));
    }
    let mut child = Command::new("timeout")
        .args([
            "20",
            "redis-cli",
            "-h",
            "127.0.0.1",
            "-p",
            &addr.port().to_string(),
            "--pipe",
        ])
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
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"*1\r\n$4\r\nPING\r\n*1\r\n$-5\r\nxx\r\n")
        .unwrap();
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .expect("server closes after the error");
    assert_eq!(
        reply, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        "on {kind}"
    );
}
on_both_drivers!(protocol_error_gets_err_reply_then_close);
