//! The `axum_on_ringo` example on both drivers: curl fetches its routes over
//! HTTP/1.1 and HTTP/2 (h2c prior knowledge), JSON in and out, and axum's own
//! rejections (a bad path parameter, an unknown path, a body that is not
//! JSON) come through with their statuses.

// The shared test helpers: on_both_drivers!, curl, runtimes.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

// The example's server itself, so the test runs the code the example runs.
#[path = "../examples/axum_on_ringo/app.rs"]
mod app;

use std::net::SocketAddr;

use ringo_reactor::DriverKind;
use util::curl;

/// Starts the example's server on a thread with a runtime of `kind`.
fn example_server(kind: DriverKind) -> Option<SocketAddr> {
    util::listener_thread(kind, |listener| async move {
        app::serve(listener).await.expect("accept loop");
    })
}

on_both_drivers! {
    fn curl_fetches_axum_routes_over_http1_and_h2c(kind: DriverKind) {
        if !util::tls::have("curl", "curl_fetches_axum_routes_over_http1_and_h2c") {
            return;
        }
        let Some(addr) = example_server(kind) else { return };
        let base = format!("http://{addr}");
        let status = |version: &str, path: &str| {
            curl(&[version, "-o", "/dev/null", "-w", "%{http_code}", &format!("{base}{path}")])
        };
        let has_http2 = String::from_utf8_lossy(
            &std::process::Command::new("curl").arg("-V").output().expect("curl -V").stdout,
        )
        .contains("HTTP2");
        let mut versions = vec!["--http1.1"];
        if has_http2 {
            versions.push("--http2-prior-knowledge");
        } else {
            eprintln!("SKIPPED: this curl has no HTTP/2; only HTTP/1.1 was checked");
        }
        for version in versions {
            assert_eq!(curl(&[version, &format!("{base}/")]), "Hello from axum on ringo\n");
            assert_eq!(curl(&[version, &format!("{base}/users/42")]), "user 42\n");
            assert_eq!(status(version, "/users/not-a-number"), "400", "{version}");
            assert_eq!(status(version, "/nowhere"), "404", "{version}");
            let json = ["-H", "content-type: application/json"];
            let sum = |body: &str, out: &[&str]| {
                let url = format!("{base}/sum");
                let mut args = vec![version, "-d", body];
                args.extend_from_slice(&json);
                args.extend_from_slice(out);
                args.push(&url);
                curl(&args)
            };
            assert_eq!(sum("[1, 2.5, 3]", &[]), r#"{"sum":6.5}"#, "{version}");
            assert_eq!(sum("not json", &["-o", "/dev/null", "-w", "%{http_code}"]), "400", "{version}");
        }
    }
}
