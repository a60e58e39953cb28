//! An HTTP client balancing over several backends, with retries, time-outs
//! and circuit breaking, that prints its metrics at the end.
//!
//! ```text
//! cargo run --release -p ringo-service --example balanced_client
//! cargo run --release -p ringo-service --example balanced_client -- 127.0.0.1:8080 127.0.0.1:8081
//! RINGO_DRIVER=compat cargo run --release -p ringo-service --example balanced_client -- --requests 5000
//! ```
//!
//! Without addresses it starts its own backends on free loopback ports, each
//! on its own thread and runtime (`--backends N`, default 3): the first
//! answers at once, the second is slow (20 ms a request), the third fails 30%
//! of requests with a 500; any more answer at once. It then sends `--requests`
//! GETs (default 2000), `--concurrency` at a time (default 32), through:
//!
//! ```text
//! Observe(metrics) -> Timeout(total) -> Retry(budget) -> Balance(p2c, peak-EWMA)
//!     -> per backend: CircuitBreaker -> Timeout(per attempt) -> HTTP client
//! ```
//!
//! A 5xx counts as a failure everywhere (metrics, breaker, balancer) and is
//! retried, as are lost connections and time-outs: the requests are GETs,
//! idempotent. Expect the fast backend to get most requests. p2c never
//! sends a request to the dearer of its two draws, but the draw that pairs
//! the slow and the failing backend sends it to one of them: to the slow one
//! while few requests wait there, to the failing one once many do.
//!
//! The HTTP client is [`ringo_service::http::Client`], one for all backends:
//! it keeps a pool of keep-alive connections per backend.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use ringo_proto::http::{serve_connection, ServerConfig};
use ringo_reactor::net::TcpListener;
use ringo_reactor::time::sleep;
use ringo_reactor::Runtime;
use ringo_service::balance::{Balance, Load};
use ringo_service::breaker::{Accrual, CircuitBreaker, CircuitState};
use ringo_service::http::Client;
use ringo_service::observe::{Classify, DefaultClassifier, Metrics, ObserveLayer, Outcome};
use ringo_service::retry::{Backoff, Budget, Decision, DefaultPolicy, Jitter, Policy, RetryLayer};
use ringo_service::timeout::Timeout;
use ringo_service::{Error, Service, ServiceBuilder};

/// Backends started when none are given.
const DEFAULT_BACKENDS: usize = 3;
/// Requests sent in all.
const DEFAULT_REQUESTS: usize = 2000;
/// Requests in flight at once.
const DEFAULT_CONCURRENCY: usize = 32;

/// How long the slow backend takes per request.
const SLOW_DELAY: Duration = Duration::from_millis(20);
/// Percentage of requests the failing backend answers with a 500.
const FAILURE_PERCENT: u64 = 30;

/// Limit of one attempt on one backend: five times the slow backend's delay.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);
/// Limit of a whole request, retries and back-offs included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(1);
/// A breaker opens after this many failures in a row. The failing backend
/// (30%) trips it now and then: a run of four starts at about one request in
/// 120 (0.7 x 0.3^4).
const BREAKER_FAILURES: u32 = 4;
/// A breaker's first opening lasts between half this and this, doubling per
/// consecutive opening: short, so a few-second run shows probes too.
const BREAKER_OPEN_TIME: Duration = Duration::from_millis(200);

type HttpResult = Result<Response<Bytes>, Error>;

/// A 5xx response is a failure; errors count by kind.
fn classify(result: &HttpResult) -> Outcome {
    match result {
        Ok(response) if response.status().is_server_error() => Outcome::Failure,
        other => DefaultClassifier.classify(other),
    }
}

/// Retries a 5xx response, and whatever the idempotent default policy retries.
fn retry_policy(request: &Request<Bytes>, result: &HttpResult) -> Decision {
    match result {
        Ok(response) if response.status().is_server_error() => Decision::Retry,
        other => DefaultPolicy::idempotent().retry(request, other),
    }
}

/// What a started backend does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Fast,
    Slow,
    Failing,
}

impl Behaviour {
    fn of(index: usize) -> Behaviour {
        match index {
            1 => Behaviour::Slow,
            2 => Behaviour::Failing,
            _ => Behaviour::Fast,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Behaviour::Fast => "fast",
            Behaviour::Slow => "slow",
            Behaviour::Failing => "failing 30%",
        }
    }
}

/// Starts a backend on its own thread and runtime; returns its address.
fn start_backend(behaviour: Behaviour) -> io::Result<SocketAddr> {
    let (bound, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let served: io::Result<Infallible> = Runtime::new().and_then(|runtime| {
            runtime.block_on(async {
                let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
                let _ = bound.send(listener.local_addr());
                let dice = Rc::new(Cell::new(0x2545_F491_4F6C_DD1D_u64));
                loop {
                    let (stream, _) = listener.accept().await?;
                    let dice = dice.clone();
                    drop(ringo_reactor::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let handler = move |_request| answer(behaviour, &dice);
                        let config = ServerConfig::default();
                        let _ = serve_connection(stream, &config, handler, pending()).await;
                    }));
                }
            })
        });
        // The accept loop only ends by an error.
        let error = served.map_or_else(|e| e, |never| match never {});
        eprintln!(
            "balanced_client: backend ({}) stopped: {error}",
            behaviour.name()
        );
    });
    address
        .recv()
        .map_err(|_| io::Error::other("backend thread ended before binding"))?
}

/// A backend's answer to a request; `dice` is the state of the xorshift64
/// generator that picks the failing backend's failures, so they come in
/// random runs (a run of [`BREAKER_FAILURES`] trips a breaker).
fn answer(
    behaviour: Behaviour,
    dice: &Cell<u64>,
) -> impl std::future::Future<Output = Result<Response<Bytes>, Infallible>> {
    let mut x = dice.get();
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    dice.set(x);
    async move {
        let status = match behaviour {
            Behaviour::Slow => {
                sleep(SLOW_DELAY).await;
                StatusCode::OK
            }
            Behaviour::Failing if x % 100 < FAILURE_PERCENT => StatusCode::INTERNAL_SERVER_ERROR,
            Behaviour::Fast | Behaviour::Failing => StatusCode::OK,
        };
        let mut response = Response::new(Bytes::from_static(b"hello from a backend\n"));
        *response.status_mut() = status;
        Ok(response)
    }
}

/// One backend as the balancer sees it: the shared HTTP [`Client`] (a
/// keep-alive pool per backend inside) with requests aimed at this backend,
/// counting what came back.
#[derive(Debug)]
struct Backend {
    client: Client,
    /// `http://ADDR`, put in front of each request's path.
    origin: String,
    /// Requests sent, and of those the 5xx answers and the errors.
    sent: Cell<u64>,
    server_errors: Cell<u64>,
    errors: Cell<u64>,
}

impl Backend {
    fn new(client: Client, addr: SocketAddr) -> Backend {
        Backend {
            client,
            origin: format!("http://{addr}"),
            sent: Cell::new(0),
            server_errors: Cell::new(0),
            errors: Cell::new(0),
        }
    }
}

impl Service<Request<Bytes>> for Backend {
    type Response = Response<Bytes>;
    type Error = Error;

    async fn call(&self, request: Request<Bytes>) -> HttpResult {
        self.sent.set(self.sent.get() + 1);
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{}{path}", self.origin).parse::<Uri>()?;
        let result = self.client.call(Request::from_parts(parts, body)).await;
        match &result {
            Ok(response) if response.status().is_server_error() => {
                self.server_errors.set(self.server_errors.get() + 1);
            }
            Ok(_) => {}
            Err(_) => self.errors.set(self.errors.get() + 1),
        }
        result
    }
}

/// A breaker's state in a few words.
fn describe(state: CircuitState) -> String {
    match state {
        CircuitState::Closed => "closed".to_owned(),
        CircuitState::Open { until, backoff } => format!(
            "open for {backoff:?} ({:?} left)",
            until.saturating_duration_since(Instant::now())
        ),
        CircuitState::HalfOpen => "half-open".to_owned(),
    }
}

/// Command-line settings.
struct Args {
    backends: Vec<SocketAddr>,
    start: usize,
    requests: usize,
    concurrency: usize,
}

fn parse_args() -> io::Result<Args> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    let mut args = Args {
        backends: Vec::new(),
        start: DEFAULT_BACKENDS,
        requests: DEFAULT_REQUESTS,
        concurrency: DEFAULT_CONCURRENCY,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let count = |words: &mut dyn Iterator<Item = String>| {
            let value = words.next().unwrap_or_default();
            value
                .parse::<usize>()
                .map_err(|e| invalid(format!("{word} {value:?}: {e}")))
        };
        match word.as_str() {
            "--backends" => args.start = count(&mut words)?,
            "--requests" => args.requests = count(&mut words)?,
            "--concurrency" => args.concurrency = count(&mut words)?.max(1),
            address => args.backends.push(
                address
                    .parse()
                    .map_err(|e| invalid(format!("backend address {address:?}: {e}")))?,
            ),
        }
    }
    Ok(args)
}

fn main() -> io::Result<()> {
    let args = parse_args()?;
    let backends: Vec<(SocketAddr, &str)> = if args.backends.is_empty() {
        (0..args.start)
            .map(|i| Ok((start_backend(Behaviour::of(i))?, Behaviour::of(i).name())))
            .collect::<io::Result<_>>()?
    } else {
        args.backends.iter().map(|addr| (*addr, "given")).collect()
    };

    let runtime = Runtime::new()?;
    println!(
        "balanced_client: driver={} backends={} requests={} concurrency={}",
        runtime.driver_kind(),
        backends.len(),
        args.requests,
        args.concurrency
    );

    let balance = Rc::new(Balance::new(Load::PeakEwma).with_classifier(classify));
    let http = Client::new();
    for (addr, _) in &backends {
        let backend = Backend::new(http.clone(), *addr);
        let breaker = CircuitBreaker::new(Timeout::new(backend, ATTEMPT_TIMEOUT))
            .with_accrual(Accrual::new().with_consecutive_failures(BREAKER_FAILURES))
            .with_backoff(
                Backoff::new(BREAKER_OPEN_TIME, BREAKER_OPEN_TIME * 16).with_jitter(Jitter::Equal),
            )
            .with_classifier(classify);
        balance.insert(*addr, breaker);
    }
    let metrics = Metrics::new();
    let budget = Budget::default();
    let client = Rc::new(
        ServiceBuilder::new()
            .layer(ObserveLayer::new(metrics.clone()).with_classifier(classify))
            .timeout(TOTAL_TIMEOUT)
            .layer(RetryLayer::new(retry_policy).with_budget(budget.clone()))
            .service(balance.clone()),
    );

    let started = Instant::now();
    runtime.block_on(async {
        let next = Rc::new(Cell::new(0usize));
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| {
                let (client, next) = (client.clone(), next.clone());
                let requests = args.requests;
                ringo_reactor::spawn(async move {
                    while next.get() < requests {
                        next.set(next.get() + 1);
                        let request = Request::get("/").body(Bytes::new());
                        if let Ok(request) = request {
                            let _ = client.call(request).await;
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
    });
    let elapsed = started.elapsed();

    println!("\nper backend (as the client saw it):");
    for (addr, behaviour) in &backends {
        let line = balance.with_endpoint(addr, |breaker| {
            let backend = breaker.get_ref().get_ref();
            format!(
                "{:>6} requests, {:>4} answered 5xx, {:>4} errors, breaker {}",
                backend.sent.get(),
                backend.server_errors.get(),
                backend.errors.get(),
                describe(breaker.state())
            )
        });
        let estimate = balance.rtt_estimate(addr).unwrap_or_default();
        println!(
            "  {addr} ({behaviour}): {}, latency estimate {estimate:?}",
            line.unwrap_or_default()
        );
    }
    println!("\nretry budget left: {}", budget.balance());
    println!("{} requests in {elapsed:?}:\n{metrics}", args.requests);
    Ok(())
}
