//! `ringo_service::Error` composes: it is `std::error::Error + Send + Sync +
//! 'static` with its cause chain kept, so `?` moves it into
//! `Box<dyn Error + Send + Sync>` and `anyhow::Error`; and the HTTP server
//! answers its kinds with fitting statuses (504, 503, 500) unless a
//! `handle_error` layer answers first — on both drivers.

// The reactor's test helpers: on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::error::Error as StdError;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use ringo_reactor::time::sleep;
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error, ErrorKind, ServiceBuilder};

/// How long `/slow` may take before the timeout layer answers for it.
const HANDLER_LIMIT: Duration = Duration::from_millis(50);

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn error_is_a_std_error_that_crosses_threads() {
    assert_send_sync_static::<Error>();
    let error = Error::with_source(ErrorKind::Unavailable, std::io::Error::other("refused"));
    let moved = std::thread::spawn(move || error).join().unwrap();
    assert_eq!(moved.kind(), ErrorKind::Unavailable);
    let source = StdError::source(&moved).expect("the cause is the source");
    assert_eq!(source.to_string(), "refused");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
}

fn fails(kind: ErrorKind) -> Result<(), Error> {
    Err(Error::with_source(
        kind,
        std::io::Error::other("root cause"),
    ))
}

fn into_box() -> Result<(), Box<dyn StdError + Send + Sync>> {
    fails(ErrorKind::Timeout)?;
    Ok(())
}

fn into_anyhow() -> anyhow::Result<()> {
    fails(ErrorKind::CircuitOpen)?;
    Ok(())
}

#[test]
fn question_mark_moves_it_into_boxed_and_anyhow_errors_with_the_chain() {
    let boxed = into_box().unwrap_err();
    let error = boxed.downcast_ref::<Error>().expect("still our Error");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(boxed.source().unwrap().to_string(), "root cause");

    let any = into_anyhow().unwrap_err();
    assert_eq!(
        any.downcast_ref::<Error>().unwrap().kind(),
        ErrorKind::CircuitOpen
    );
    let chain: Vec<String> = any.chain().map(|e| e.to_string()).collect();
    assert_eq!(chain, ["circuit breaker open: root cause", "root cause"]);
}

#[test]
fn foreign_errors_enter_through_inner_and_keep_a_timeout_kind() {
    let parsed: Result<u8, _> = "x".parse::<u8>();
    let error = parsed.map_err(Error::inner).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Inner);
    assert!(error.downcast_ref::<std::num::ParseIntError>().is_some());
    let timed_out = Error::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
    assert!(timed_out.is_timeout());
}

/// Fails by path with each kind; `/slow` outlasts [`HANDLER_LIMIT`].
async fn app(request: Request<Body>) -> Result<Response<Body>, Error> {
    let kind = match request.uri().path() {
        "/slow" => {
            sleep(Duration::from_secs(10)).await;
            return Ok(Response::new(Body::from("late")));
        }
        "/overloaded" => ErrorKind::Overloaded,
        "/open" => ErrorKind::CircuitOpen,
        "/fail" => ErrorKind::Inner,
        _ => return Ok(Response::new(Body::from("ok"))),
    };
    Err(Error::new(kind))
}

fn url(running: &Running, path: &str) -> String {
    format!("http://{}{path}", running.local_addr())
}

/// The status codes curl gets for `paths`, one per line.
fn codes(running: &Running, paths: &[&str]) -> String {
    let urls: Vec<String> = paths.iter().map(|path| url(running, path)).collect();
    let mut args = vec!["-w", "%{http_code}\n"];
    for u in &urls {
        args.extend(["-o", "/dev/null", u.as_str()]);
    }
    util::curl(&args)
}

fn stop(running: Running) {
    util::within(Duration::from_secs(10), "shutdown", move || {
        running.shutdown()
    })
    .expect("shutdown");
}

on_both_drivers! {
    fn the_http_server_answers_error_kinds_with_fitting_statuses(kind: DriverKind) {
        if !util::tls::have("curl", "the_http_server_answers_error_kinds_with_fitting_statuses") {
            return;
        }
        let running = ringo_http::Server::bind(util::any_local())
            .driver(kind)
            .workers(1)
            .serve(|| ServiceBuilder::new().timeout(HANDLER_LIMIT).service(service_fn(app)))
            .expect("serve");
        let got = codes(&running, &["/slow", "/overloaded", "/open", "/fail", "/ok"]);
        assert_eq!(got, "504\n503\n503\n500\n200\n");
        stop(running);
    }
}

on_both_drivers! {
    fn handle_error_answers_errors_the_users_way(kind: DriverKind) {
        if !util::tls::have("curl", "handle_error_answers_errors_the_users_way") {
            return;
        }
        let teapot = |e: Error| {
            let mut response = Response::new(Body::from(format!("sorry: {e}")));
            *response.status_mut() = match e.kind() {
                ErrorKind::Timeout => StatusCode::IM_A_TEAPOT,
                _ => StatusCode::BAD_GATEWAY,
            };
            response
        };
        let running = ringo_http::Server::bind(util::any_local())
            .driver(kind)
            .workers(1)
            .serve(move || {
                ServiceBuilder::new()
                    .handle_error(teapot)
                    .timeout(HANDLER_LIMIT)
                    .service(service_fn(app))
            })
            .expect("serve");
        assert_eq!(codes(&running, &["/slow", "/fail", "/ok"]), "418\n502\n200\n");
        assert_eq!(util::curl(&[&url(&running, "/slow")]), "sorry: deadline elapsed: call not finished within limit 50ms");
        stop(running);
    }
}
