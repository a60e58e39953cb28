//! Observe and Metrics: counts by outcome, the in-flight gauge, latency
//! percentiles, the summary, response classification and the access log.

use ringo_test_util as util;

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use ringo_service::observe::{Histogram, Metrics, Observe, ObserveLayer, Outcome};
use ringo_service::{service_fn, Error, ErrorKind, Layer, Service};

const LIMIT: Duration = Duration::from_secs(10);

fn block_on<F: Future>(body: F) -> F::Output {
    util::block_on_within(LIMIT, body)
}

/// Replies `Ok(n)`, after a minute for n ≥ 2000; 1000 fails with a time-out and
/// 1001 with not-written.
fn replier() -> impl Service<u32, Response = u32, Error = Error> {
    service_fn(|n: u32| async move {
        match n {
            1000 => Err(Error::new(ErrorKind::Timeout)),
            1001 => Err(Error::new(ErrorKind::NotWritten)),
            2000.. => {
                ringo_reactor::time::sleep(Duration::from_secs(60)).await;
                Ok(n)
            }
            _ => Ok(n),
        }
    })
}

#[test]
fn metrics_count_calls_by_outcome() {
    let metrics = Metrics::new();
    let observed = Observe::new(replier(), metrics.clone());
    block_on(async {
        for n in [1, 2, 1000, 1000, 1001] {
            let _ = observed.call(n).await;
        }
    });
    assert_eq!(metrics.requests(), 5);
    assert_eq!(metrics.successes(), 2);
    assert_eq!(metrics.failures(), 0);
    assert_eq!(metrics.errors(ErrorKind::Timeout), 2);
    assert_eq!(metrics.errors(ErrorKind::NotWritten), 1);
    assert_eq!(metrics.errors(ErrorKind::Inner), 0);
    assert_eq!(metrics.total_errors(), 3);
    assert_eq!(metrics.latency().count(), 5);
    assert_eq!(metrics.in_flight(), 0);
}

#[test]
fn the_in_flight_gauge_follows_calls_and_dropped_calls_count_as_cancelled() {
    let metrics = Metrics::new();
    let observed = Observe::new(replier(), metrics.clone());
    block_on(async {
        {
            let mut slow = pin!(observed.call(2000));
            let mut other = pin!(observed.call(2001));
            poll_fn(|cx| {
                assert!(slow.as_mut().poll(cx).is_pending());
                assert!(other.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            assert_eq!(metrics.in_flight(), 2);
        }
        assert_eq!(metrics.in_flight(), 0);
        assert_eq!(metrics.cancelled(), 2);
        observed.call(1).await.expect("a reply");
    });
    assert_eq!(metrics.requests(), 1, "cancelled calls are not requests");
    assert_eq!(metrics.latency().count(), 1);
}

#[test]
fn percentiles_are_exact_on_a_known_latency_set() {
    let metrics = Metrics::new();
    // Recorded out of order, to show the histogram does not care.
    for micros in (1..=100).rev() {
        metrics.record(Outcome::Success, Duration::from_micros(micros));
    }
    let cases = [
        (0.0, 1),
        (50.0, 50),
        (90.0, 90),
        (99.0, 99),
        (99.9, 100),
        (100.0, 100),
    ];
    for (p, micros) in cases {
        assert_eq!(
            metrics.percentile(p),
            Some(Duration::from_micros(micros)),
            "p{p}"
        );
    }
    let latency = metrics.latency();
    assert_eq!(
        (latency.min(), latency.max()),
        (
            Some(Duration::from_micros(1)),
            Some(Duration::from_micros(100))
        )
    );
    assert_eq!(
        latency.mean(),
        Some(Duration::from_micros(50)),
        "5050 / 100, rounded down"
    );
}

#[test]
fn large_percentiles_keep_two_significant_digits() {
    let mut histogram = Histogram::new();
    for millis in 1..=1000 {
        histogram.record(Duration::from_millis(millis));
    }
    for (p, millis) in [(50.0, 500), (90.0, 900), (99.0, 990), (99.9, 999)] {
        let exact = Duration::from_millis(millis);
        let got = histogram.percentile(p).expect("samples");
        assert!(
            got >= exact && got <= exact + exact / 128,
            "p{p}: {got:?} not within 1/128 above {exact:?}"
        );
    }
    assert_eq!(
        histogram.percentile(100.0),
        Some(Duration::from_secs(1)),
        "never past the maximum"
    );
}

#[test]
fn the_summary_shows_the_numbers() {
    let metrics = Metrics::new();
    for micros in 1..=100 {
        metrics.record(Outcome::Success, Duration::from_micros(micros));
    }
    metrics.record(Outcome::Failure, Duration::from_micros(50));
    metrics.record(
        Outcome::Error(ErrorKind::Timeout),
        Duration::from_micros(50),
    );
    let summary = metrics.to_string();
    for expected in [
        "requests 102",
        "success 100",
        "failure 1",
        "error 1 (timeout 1)",
        "in flight 0",
        "p50 50µs",
        "p90 90µs",
        "p99 99µs",
        "p99.9 100µs",
        "max 100µs",
    ] {
        assert!(
            summary.contains(expected),
            "{expected:?} missing from {summary:?}"
        );
    }
    assert!(Metrics::new().to_string().contains("no samples"));
}

#[test]
fn the_classifier_marks_chosen_responses_as_failures() {
    let metrics = Metrics::new();
    let layer =
        ObserveLayer::new(metrics.clone()).with_classifier(|result: &Result<u32, Error>| {
            match result {
                Ok(status) if *status >= 500 => Outcome::Failure,
                Ok(_) => Outcome::Success,
                Err(error) => Outcome::Error(error.kind()),
            }
        });
    let (a, b) = (layer.layer(replier()), layer.layer(replier()));
    block_on(async {
        assert_eq!(a.call(200).await.expect("a reply"), 200);
        assert_eq!(a.call(503).await.expect("a 503 is still a reply"), 503);
        assert_eq!(b.call(500).await.expect("a reply"), 500);
        assert!(b.call(1000).await.is_err());
    });
    assert_eq!(
        (
            metrics.successes(),
            metrics.failures(),
            metrics.errors(ErrorKind::Timeout)
        ),
        (1, 2, 1)
    );
    assert_eq!(
        metrics.requests(),
        4,
        "both services record into the layer's metrics"
    );
}

/// Collects log lines; installed once for this test binary.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            self.0.lock().expect("log lines").push(line);
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn the_access_log_writes_one_line_per_call() {
    log::set_logger(&CAPTURE).expect("the only logger of this binary");
    log::set_max_level(log::LevelFilter::Info);
    let observed = Observe::new(replier(), Metrics::new())
        .with_access_log(|n: &u32| format!("GET /items/{n}"));
    block_on(async {
        observed.call(7).await.expect("a reply");
        assert!(observed.call(1000).await.is_err());
    });
    let lines = CAPTURE.0.lock().expect("log lines").clone();
    let ours: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("GET /items/"))
        .collect();
    assert_eq!(ours.len(), 2, "{lines:?}");
    assert!(
        ours[0].starts_with("INFO ringo_service::observe GET /items/7 -> success in "),
        "{}",
        ours[0]
    );
    assert!(
        ours[1].contains("GET /items/1000 -> error (timeout) in "),
        "{}",
        ours[1]
    );
    assert!(ours[1].ends_with(": deadline elapsed"), "{}", ours[1]);
}
