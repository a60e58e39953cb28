//! The service core on both drivers: builder order, the `ServiceExt`
//! combinators, and type-erased services.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ringo_service::{
    service_fn, BoxService, Error, ErrorKind, Layer, RcService, Service, ServiceBuilder,
    ServiceExt, Status,
};

type Log = Rc<RefCell<Vec<String>>>;

/// A layer whose service writes "<name> in" and "<name> out" around each call.
struct RecordLayer {
    name: &'static str,
    log: Log,
}

struct Record<S> {
    name: &'static str,
    log: Log,
    inner: S,
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Record<S> {
        Record {
            name: self.name,
            log: self.log.clone(),
            inner,
        }
    }
}

impl<S: Service<Req>, Req> Service<Req> for Record<S> {
    type Response = S::Response;
    type Error = S::Error;

    async fn call(&self, req: Req) -> Result<S::Response, S::Error> {
        self.log.borrow_mut().push(format!("{} in", self.name));
        let result = self.inner.call(req).await;
        self.log.borrow_mut().push(format!("{} out", self.name));
        result
    }
}

/// A service that answers with its request and reports a fixed status.
struct Fixed(Status);

impl Service<u32> for Fixed {
    type Response = u32;
    type Error = std::io::Error;

    async fn call(&self, req: u32) -> Result<u32, std::io::Error> {
        Ok(req)
    }

    fn status(&self) -> Status {
        self.0
    }
}

fn record(name: &'static str, log: &Log) -> RecordLayer {
    RecordLayer {
        name,
        log: log.clone(),
    }
}

both_drivers! {
    async fn builder_applies_layers_outermost_first() {
        let log: Log = Rc::default();
        let inner_log = log.clone();
        let svc = ServiceBuilder::new().layer(record("a", &log)).layer(record("b", &log)).service(service_fn(
            move |()| {
                inner_log.borrow_mut().push("service".to_string());
                async { Ok::<_, std::io::Error>(()) }
            },
        ));
        svc.call(()).await.unwrap();
        assert_eq!(*log.borrow(), ["a in", "b in", "service", "b out", "a out"]);
    }
}

both_drivers! {
    async fn builder_map_layers_convert_in_stack_order() {
        let svc = ServiceBuilder::new()
            .map_response(|n: usize| n * 10)
            .map_request(|s: &str| s.len())
            .map_response(|n: usize| n + 1)
            .map_err(|e: std::io::Error| e.to_string())
            .service(service_fn(|n: usize| async move { Ok::<_, std::io::Error>(n) }));
        // The inner map adds 1 first; the outer one multiplies its result.
        assert_eq!(svc.call("abc").await.unwrap(), 40);
    }
}

both_drivers! {
    async fn map_request_map_response_and_map_err_convert_each_part() {
        let svc = service_fn(|n: u32| async move {
            if n == 0 { Err(std::io::Error::other("zero")) } else { Ok(n) }
        })
        .map_request(|s: String| s.parse::<u32>().unwrap_or(0))
        .map_response(|n| format!("got {n}"))
        .map_err(|e| format!("failed: {e}"));
        assert_eq!(svc.call("7".to_string()).await, Ok("got 7".to_string()));
        assert_eq!(svc.call("x".to_string()).await, Err("failed: zero".to_string()));
    }
}

both_drivers! {
    async fn and_then_runs_only_after_a_successful_response() {
        let runs = Rc::new(Cell::new(0));
        let counted = runs.clone();
        let svc = service_fn(|n: u32| async move {
            if n == 0 { Err(std::io::Error::other("zero")) } else { Ok(n) }
        })
        .and_then(move |n| {
            counted.set(counted.get() + 1);
            async move {
                if n > 100 { Err(Error::new(ErrorKind::Overloaded)) } else { Ok(n * 2) }
            }
        });
        assert_eq!(svc.call(4).await.unwrap(), 8);
        let inner = svc.call(0).await.unwrap_err();
        assert_eq!(inner.kind(), ErrorKind::Inner, "the inner io::Error converts into the combined error");
        assert_eq!(inner.to_string(), "zero");
        assert_eq!(runs.get(), 1, "and_then is skipped when the inner call fails");
        assert_eq!(svc.call(101).await.unwrap_err().kind(), ErrorKind::Overloaded);
        assert_eq!(runs.get(), 2);
    }
}

#[test]
fn combinators_and_erased_services_forward_the_inner_status() {
    for status in [Status::Open, Status::Busy, Status::Closed] {
        let mapped = Fixed(status)
            .map_request(|n: u32| n)
            .map_response(|n| n)
            .map_err(|e| e);
        assert_eq!(mapped.status(), status, "map combinators on {status:?}");
        let chained = Fixed(status).and_then(|n| async move { Ok::<_, std::io::Error>(n) });
        assert_eq!(chained.status(), status, "and_then on {status:?}");
        let boxed = Fixed(status).boxed();
        assert_eq!(boxed.status(), status, "BoxService on {status:?}");
        let shared = RcService::from(boxed);
        assert_eq!(shared.status(), status, "RcService on {status:?}");
    }
}

both_drivers! {
    async fn boxed_services_of_different_types_share_one_vec() {
        let offset = 100;
        let handlers: Vec<BoxService<u32, u32, std::io::Error>> = vec![
            Fixed(Status::Open).boxed(),
            service_fn(|n: u32| async move { Ok(n + 1) }).boxed(),
            service_fn(move |n: u32| async move { Ok(n + offset) }).map_response(|n| n * 2).boxed(),
            ServiceBuilder::new().map_request(|n: u32| n * 3).service(Fixed(Status::Open)).boxed(),
        ];
        let mut answers = Vec::new();
        for handler in &handlers {
            answers.push(handler.call(1).await.unwrap());
        }
        assert_eq!(answers, [1, 2, 202, 3]);
    }
}

both_drivers! {
    async fn rc_service_clones_share_one_service() {
        let calls = Rc::new(Cell::new(0));
        let counted = calls.clone();
        let shared = RcService::new(service_fn(move |()| {
            counted.set(counted.get() + 1);
            async { Ok::<_, std::io::Error>(()) }
        }));
        let copy = shared.clone();
        shared.call(()).await.unwrap();
        copy.call(()).await.unwrap();
        assert_eq!(calls.get(), 2);
    }
}
