//! Criterion micro-benchmarks for ringo's hot paths: spawn and join, timer
//! insert and cancel, the op submit/complete round trip on both drivers, and
//! HTTP and RESP request decoding.
//!
//! ```text
//! cargo bench -p ringo-benches --bench micro
//! cargo bench -p ringo-benches --bench micro -- op/   # one group
//! ```
//!
//! The runner in `src/` says whether a whole server is fast; these say what
//! each step costs, so a regression points at the step that caused it. Every
//! benchmark checks its result once before it is timed (and the loops count
//! what they did), so none can silently measure a no-op such as a decoder that
//! returns `Ok(None)` or a read that returns nothing.
//!
//! I/O benchmarks run on both drivers, named `.../uring` and `.../compat`.
//! Where io_uring is refused the uring case panics with the reason, unless the
//! run declares such a machine with `RINGO_TEST_NO_URING=1` (as the tests do).

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use ringo_proto::http::{RequestPart, ServerCodec};
use ringo_proto::resp::{command, Frame, RespCodec};
use ringo_proto::{http, resp, Decoder};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::UnixStream;
use ringo_reactor::task::yield_now;
use ringo_reactor::time::sleep;
use ringo_reactor::{spawn, DriverKind, Runtime};

/// The drivers every runtime benchmark runs on.
const DRIVERS: [DriverKind; 2] = [DriverKind::Uring, DriverKind::Compat];

/// What the op round trip writes and reads back: 64 bytes, the smallest
/// message of the echo cells in the runner.
const PAYLOAD: &[u8; 64] = b"ringo micro-benchmark payload: 64 bytes of op round trip data...";

/// A typical API request of exactly 200 bytes: five header fields, no body.
const GET_200_BYTES: &[u8] = b"GET /api/v1/users/1234?fields=name,email,id HTTP/1.1\r\n\
Host: api.example.com\r\n\
User-Agent: ringo-benchmark/1.0.0\r\n\
Accept: application/json\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\n\
\r\n";

/// A browser-like request with ten header fields (485 bytes), no body.
const GET_10_HEADERS: &[u8] = b"GET /products/shoes/running?color=blue&size=42 HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://shop.example.com/products/shoes\r\n\
Cookie: session=4f2a9c81e7d3b6a0; theme=dark\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

// The names and docs promise these sizes.
const _: () = assert!(GET_200_BYTES.len() == 200);
const _: () = assert!(GET_10_HEADERS.len() == 485);

/// One RESP command, `SET key value`, as clients send it.
const RESP_SET: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";

/// Commands in the pipelined RESP case: redis-benchmark's `-P 16`.
const PIPELINE_DEPTH: usize = 16;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    task(&mut c);
    time(&mut c);
    op(&mut c);
    proto(&mut c);
    c.final_summary();
}

/// A runtime on `kind`, or `None` when io_uring is refused on a machine the
/// run declared without it (`RINGO_TEST_NO_URING`).
fn runtime(kind: DriverKind) -> Option<Runtime> {
    match Runtime::builder().driver(kind).build() {
        Ok(rt) => Some(rt),
        Err(e) if kind == DriverKind::Uring && std::env::var_os("RINGO_TEST_NO_URING").is_some() => {
            eprintln!("io_uring unavailable and RINGO_TEST_NO_URING is set; no uring benchmarks: {e}");
            None
        }
        Err(e) => panic!(
            "cannot build a {kind} runtime (set RINGO_TEST_NO_URING=1 on machines without io_uring): {e}"
        ),
    }
}

/// `task/spawn_join/{driver}`: spawn a trivial task and await its handle.
fn task(c: &mut Criterion) {
    let mut group = c.benchmark_group("task");
    for kind in DRIVERS {
        let Some(rt) = runtime(kind) else { continue };
        let answer = rt.block_on(async { spawn(async { 6 * 7 }).await });
        assert!(
            matches!(answer, Ok(42)),
            "spawned task on {kind} gave {answer:?}, not Ok(42)"
        );
        group.bench_function(BenchmarkId::new("spawn_join", kind), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        if let Err(e) = spawn(async {}).await {
                            panic!("a trivial task failed on {kind}: {e}");
                        }
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// `time/sleep_insert_cancel`: make a far `sleep`, poll it once so it enters
/// the timer wheel, and drop it, which removes it. The wheel is the same on
/// both drivers, so this runs on compat only, which every machine has.
fn time(c: &mut Criterion) {
    let mut group = c.benchmark_group("time");
    let Some(rt) = runtime(DriverKind::Compat) else {
        return;
    };
    let first = rt.block_on(poll_fn(|cx| {
        let mut far = sleep(Duration::from_secs(60));
        Poll::Ready(Pin::new(&mut far).poll(cx))
    }));
    assert!(
        first.is_pending(),
        "a 60 s sleep was ready at its first poll"
    );
    group.bench_function("sleep_insert_cancel", |b| {
        b.iter_custom(|iters| {
            rt.block_on(poll_fn(|cx| {
                let mut pending = 0;
                let start = Instant::now();
                for _ in 0..iters {
                    let mut far = sleep(Duration::from_secs(60));
                    if Pin::new(&mut far).poll(cx).is_pending() {
                        pending += 1;
                    }
                }
                let elapsed = start.elapsed();
                assert_eq!(
                    pending, iters,
                    "every 60 s sleep must be pending at its first poll"
                );
                Poll::Ready(elapsed)
            }))
        })
    });
    group.finish();
}

/// `op/round_trip/{driver}`: one 64-byte write on one end of a Unix stream
/// pair and one read on the other, each op a submit and a completion; and
/// `op/yield_now/{driver}`, one trip through the run queue and the driver's
/// no-wait turn, for reference.
fn op(c: &mut Criterion) {
    let mut group = c.benchmark_group("op");
    for kind in DRIVERS {
        let Some(rt) = runtime(kind) else { continue };
        let (tx, rx) = rt
            .block_on(async { UnixStream::pair() })
            .unwrap_or_else(|e| panic!("cannot make a Unix stream pair on {kind}: {e}"));
        let (read, buf) = rt.block_on(round_trip(&tx, &rx, Vec::with_capacity(PAYLOAD.len())));
        assert!(
            matches!(read, Ok(n) if n == PAYLOAD.len()) && buf == PAYLOAD,
            "round trip on {kind} read {read:?}: {buf:?}"
        );
        group.bench_function(BenchmarkId::new("round_trip", kind), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut buf = Vec::with_capacity(PAYLOAD.len());
                    let mut total = 0;
                    let start = Instant::now();
                    for _ in 0..iters {
                        let (read, back) = round_trip(&tx, &rx, buf).await;
                        buf = back;
                        match read {
                            Ok(n) => total += n,
                            Err(e) => panic!("round trip on {kind} failed: {e}"),
                        }
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(
                        total as u64,
                        iters * PAYLOAD.len() as u64,
                        "bytes read on {kind}"
                    );
                    elapsed
                })
            })
        });

        let other_ran = rt.block_on(async {
            let ran = Rc::new(Cell::new(false));
            let flag = ran.clone();
            let _detached = spawn(async move { flag.set(true) });
            yield_now().await;
            ran.get()
        });
        assert!(
            other_ran,
            "yield_now on {kind} did not let a ready task run"
        );
        group.bench_function(BenchmarkId::new("yield_now", kind), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        yield_now().await;
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// Writes [`PAYLOAD`] on `tx` (one op), then reads into `buf` on `rx` (one op).
async fn round_trip(
    tx: &UnixStream,
    rx: &UnixStream,
    buf: Vec<u8>,
) -> (io::Result<usize>, Vec<u8>) {
    let (written, _) = tx.write(&PAYLOAD[..]).await;
    if let Err(e) = written {
        return (Err(e), buf);
    }
    rx.read(buf).await
}

/// `proto/http_decode/*` and `proto/resp_decode/*`: decoding from a `BytesMut`
/// refilled (with a fresh codec) outside the timed part of every iteration.
fn proto(c: &mut Criterion) {
    let mut group = c.benchmark_group("proto");
    for (name, request, fields) in [
        ("get_200_bytes", GET_200_BYTES, 5),
        ("get_10_headers", GET_10_HEADERS, 10),
    ] {
        check_request(name, request, fields);
        group.throughput(Throughput::Bytes(request.len() as u64));
        group.bench_function(BenchmarkId::new("http_decode", name), |b| {
            b.iter_batched_ref(
                || (ServerCodec::new(), BytesMut::from(request)),
                |(codec, buf)| decode_request(codec, buf),
                BatchSize::SmallInput,
            )
        });
    }

    let pipeline = RESP_SET.repeat(PIPELINE_DEPTH);
    for (name, input, commands) in [
        ("set", RESP_SET, 1),
        ("pipeline_16", &pipeline[..], PIPELINE_DEPTH),
    ] {
        let expected = command(["SET", "key", "value"]);
        let mut buf = BytesMut::from(input);
        let decoded = decode_frames(&mut RespCodec::new(), &mut buf, |frame| {
            assert_eq!(frame, expected, "resp_decode/{name} decoded a wrong frame");
        });
        assert!(
            matches!(decoded, Ok(n) if n == commands) && buf.is_empty(),
            "resp_decode/{name} decoded {decoded:?} of {commands} commands, {} bytes left",
            buf.len()
        );
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(BenchmarkId::new("resp_decode", name), |b| {
            b.iter_batched_ref(
                || (RespCodec::new(), BytesMut::from(input)),
                |(codec, buf)| {
                    decode_frames(codec, buf, |frame| {
                        black_box(frame);
                    })
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// Asserts that `request` decodes to a `GET` head with `fields` header fields,
/// then the end of the request, consuming every byte.
fn check_request(name: &str, request: &[u8], fields: usize) {
    let mut buf = BytesMut::from(request);
    match decode_request(&mut ServerCodec::new(), &mut buf) {
        Ok((Some(RequestPart::Head(head)), Some(RequestPart::End))) => {
            assert_eq!(
                head.request.method(),
                ::http::Method::GET,
                "http_decode/{name} method"
            );
            assert_eq!(
                head.request.headers().len(),
                fields,
                "http_decode/{name} field count"
            );
            assert!(
                buf.is_empty(),
                "http_decode/{name} left {} bytes",
                buf.len()
            );
        }
        other => panic!("http_decode/{name} decoded {other:?}, not a head and its end"),
    }
}

/// Decodes one bodiless request: its head, then its end.
fn decode_request(
    codec: &mut ServerCodec,
    buf: &mut BytesMut,
) -> Result<(Option<RequestPart>, Option<RequestPart>), http::Error> {
    let head = codec.decode(buf)?;
    let end = codec.decode(buf)?;
    Ok((head, end))
}

/// Decodes every frame in `buf`, handing each to `seen`; returns how many.
fn decode_frames(
    codec: &mut RespCodec,
    buf: &mut BytesMut,
    mut seen: impl FnMut(Frame),
) -> Result<usize, resp::Error> {
    let mut count = 0;
    while let Some(frame) = codec.decode(buf)? {
        seen(frame);
        count += 1;
    }
    Ok(count)
}
