//! [`Balance`]: spreads calls over a set of endpoints by power of two choices.
//!
//! A client talking to several replicas of a server wants each call to go
//! where it will be answered soonest. [`Balance`] holds the replicas — any
//! services, keyed by `K` (an address, a name) — and for each call draws two
//! usable endpoints at random and sends the call to the less loaded by its
//! [`Load`] metric: calls in flight, or peak-EWMA latency times calls in
//! flight. Failures count as load, so an endpoint that fails fast is avoided
//! rather than flooded.
//!
//! The set changes at run time ([`insert`](Balance::insert),
//! [`remove`](Balance::remove)) through `&self`, so one task can follow
//! service discovery while others call. Endpoints whose
//! [`status`](Service::status) is `Closed` — an open circuit breaker, a dead
//! connection pool — are skipped, and `Busy` ones are used only when none is
//! `Open`.
//!
//! Typical stack, per endpoint a breaker and a per-attempt timeout, retries
//! above the balancer so a retry may land elsewhere:
//!
//! ```text
//! Timeout(total) -> Retry -> Balance -> [CircuitBreaker -> Timeout(attempt) -> client]
//! ```

mod error;
mod ewma;
mod p2c;
mod set;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::observe::{Classify, DefaultClassifier};
use crate::rng::Rng;
use crate::service::{Service, Status};
use p2c::choose;
use set::{Endpoint, EndpointSet, Settings};

pub use error::NoEndpoint;
pub use p2c::Load;

// The defaults, documented (with why) on the `Balance::with_*` setters.
const DEFAULT_DECAY: Duration = Duration::from_secs(10);
const DEFAULT_RTT: Duration = Duration::from_millis(30);
const DEFAULT_FAILURE_PENALTY: Duration = Duration::from_secs(1);

/// Power-of-two-choices balancing of calls over endpoint services `S` keyed
/// by `K`; a call's failure is judged by the classifier `C`.
///
/// A call to an empty set, or to a set whose endpoints are all `Closed`,
/// fails at once with [`ErrorKind::Unavailable`] (cause: [`NoEndpoint`]),
/// which the default retry policy retries. Dropping a call mid-flight counts
/// its time so far as a latency sample (an outer timeout that cancels a slow
/// call makes the endpoint look slow), but not as a failure.
///
/// # Examples
/// ```
/// use ringo_service::balance::{Balance, Load};
/// use ringo_service::{service_fn, Error, ErrorKind, Service, Status};
///
/// let balance = Balance::new(Load::PeakEwma).with_seed(1);
/// let replica = |name: &'static str| service_fn(move |n: u32| async move { Ok::<_, Error>((name, n)) });
/// balance.insert("a", replica("a"));
/// balance.insert("b", replica("b"));
/// let (name, n) = ringo_reactor::run(balance.call(7)).unwrap();
/// assert!(name == "a" || name == "b");
/// assert_eq!(n, 7);
///
/// balance.remove(&"a");
/// balance.remove(&"b");
/// assert_eq!(balance.status(), Status::Closed);
/// let err = ringo_reactor::run(balance.call(8)).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// ```
pub struct Balance<K, S, C = DefaultClassifier> {
    /// Borrowed only within `call`'s synchronous steps and the set's methods,
    /// never across an `await`, so borrows cannot clash.
    set: RefCell<EndpointSet<K, S>>,
    load: Load,
    settings: Settings,
    rng: Rng,
    classifier: C,
}

impl<K: Eq, S> Balance<K, S> {
    /// An empty balancer comparing endpoints by `load`, with the defaults
    /// each setter gives: a 10 s decay, a 30 ms assumed latency, a 1 s
    /// failure penalty, a random seed, and every `Err` counted as a failure.
    pub fn new(load: Load) -> Balance<K, S> {
        Balance {
            set: RefCell::new(EndpointSet::new()),
            load,
            settings: Settings {
                decay: DEFAULT_DECAY,
                default_rtt: DEFAULT_RTT,
                failure_penalty: DEFAULT_FAILURE_PENALTY,
            },
            rng: Rng::random(),
            classifier: DefaultClassifier,
        }
    }
}

impl<K: Eq, S> Default for Balance<K, S> {
    /// A [`Load::PeakEwma`] balancer with the defaults of [`Balance::new`].
    fn default() -> Balance<K, S> {
        Balance::new(Load::default())
    }
}

impl<K: Eq, S, C> Balance<K, S, C> {
    /// Uses `decay` as the time constant of the peak-EWMA latency estimate
    /// (zero: only the last response counts, and an idle endpoint looks free
    /// at once); default 10 s, the decay of Finagle's and linkerd2-proxy's
    /// peak-EWMA balancers. A latency seen this long ago keeps `1/e` (37%) of
    /// its weight, and an endpoint getting no calls looks `e` times cheaper
    /// after each such period.
    pub fn with_decay(mut self, decay: Duration) -> Balance<K, S, C> {
        self.settings.decay = decay;
        self
    }

    /// Assumes endpoints inserted from now on answer in `rtt` until their
    /// first response (which replaces it); default 30 ms, linkerd2-proxy's
    /// default RTT.
    pub fn with_default_rtt(mut self, rtt: Duration) -> Balance<K, S, C> {
        self.settings.default_rtt = rtt;
        self
    }

    /// Makes a failure cost `penalty`; zero makes a failure count as an
    /// ordinary response of its latency. Default 1 s.
    ///
    /// Under [`Load::PeakEwma`] a failed call counts as a response that took
    /// at least `penalty`; under [`Load::PendingRequests`] it weighs as one
    /// call in flight that fades with this time constant. A second is far
    /// above healthy latencies on a local network (well under 10 ms), so a
    /// failing endpoint loses nearly every comparison, while the decay lets it
    /// back in for a probe within tens of seconds.
    pub fn with_failure_penalty(mut self, penalty: Duration) -> Balance<K, S, C> {
        self.settings.failure_penalty = penalty;
        self
    }

    /// Draws endpoints from a generator seeded with `seed`: the same seed and
    /// the same sequence of loads give the same picks.
    pub fn with_seed(mut self, seed: u64) -> Balance<K, S, C> {
        self.rng = Rng::seeded(seed);
        self
    }

    /// Counts a call as failed unless `classifier` says
    /// [`Outcome::Success`](crate::observe::Outcome::Success) (for HTTP, a
    /// 5xx response may count as a failure).
    pub fn with_classifier<C2>(self, classifier: C2) -> Balance<K, S, C2> {
        Balance {
            set: self.set,
            load: self.load,
            settings: self.settings,
            rng: self.rng,
            classifier,
        }
    }

    /// The metric endpoints are compared by.
    pub fn load(&self) -> Load {
        self.load
    }

    /// Adds `service` as the endpoint `key`; returns whether it replaced one.
    /// Calls running on a replaced endpoint finish normally; new calls go to
    /// the new service, whose load statistics start afresh.
    pub fn insert(&self, key: K, service: S) -> bool {
        let endpoint = Endpoint::new(service, self.settings.default_rtt, Instant::now());
        self.set.borrow_mut().insert(key, endpoint).is_some()
    }

    /// Removes the endpoint `key`; returns whether there was one. No new
    /// call goes to it; calls running on it finish normally, and the service
    /// is dropped when the last of them ends.
    pub fn remove(&self, key: &K) -> bool {
        self.set.borrow_mut().remove(key).is_some()
    }

    /// Whether there is an endpoint `key`.
    pub fn contains(&self, key: &K) -> bool {
        self.set.borrow().get(key).is_some()
    }

    /// How many endpoints there are, usable or not.
    pub fn len(&self) -> usize {
        self.set.borrow().len()
    }

    /// Whether there are no endpoints.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The endpoints' keys, in no particular order.
    pub fn keys(&self) -> Vec<K>
    where
        K: Clone,
    {
        self.set.borrow().iter().map(|(k, _)| k.clone()).collect()
    }

    /// Calls in flight on the endpoint `key`.
    pub fn pending(&self, key: &K) -> Option<usize> {
        self.set.borrow().get(key).map(|e| e.pending())
    }

    /// The peak-EWMA latency estimate of the endpoint `key` now (kept under
    /// either [`Load`]).
    pub fn rtt_estimate(&self, key: &K) -> Option<Duration> {
        let nanos = self
            .set
            .borrow()
            .get(key)?
            .rtt_nanos(Instant::now(), self.settings.decay);
        Some(Duration::from_nanos(nanos as u64))
    }

    /// Runs `f` on the endpoint `key`'s service.
    pub fn with_endpoint<R>(&self, key: &K, f: impl FnOnce(&S) -> R) -> Option<R> {
        let endpoint = self.set.borrow().get(key).cloned()?;
        Some(f(&endpoint.service))
    }

    /// Picks the endpoint for a call by two random choices.
    fn pick(&self, status: impl Fn(&S) -> Status) -> Result<Rc<Endpoint<S>>, Error> {
        let now = Instant::now();
        let mut set = self.set.borrow_mut();
        let endpoints = set.len();
        let candidates = set.candidates(status);
        let cost = |index| {
            candidates
                .endpoint(index)
                .map_or(f64::INFINITY, |e| self.load.cost(e, &self.settings, now))
        };
        choose(&self.rng, candidates.indices, cost)
            .and_then(|index| candidates.endpoint(index).cloned())
            .ok_or_else(|| Error::with_source(ErrorKind::Unavailable, NoEndpoint::new(endpoints)))
    }
}

impl<K, S, C, Req> Service<Req> for Balance<K, S, C>
where
    K: Eq,
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Classify<S::Response>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        let endpoint = self.pick(|service| service.status())?;
        let mut call = InFlight::start(endpoint, self.settings);
        let result = call.endpoint.service.call(req).await.map_err(Into::into);
        call.failed = !self.classifier.classify(&result).is_success();
        drop(call);
        result
    }

    /// `Open` if any endpoint is `Open`, else `Busy` if any is `Busy`, else
    /// `Closed` (all closed, or none at all).
    fn status(&self) -> Status {
        let set = self.set.borrow();
        let mut status = Status::Closed;
        for (_, endpoint) in set.iter() {
            match endpoint.service.status() {
                Status::Open => return Status::Open,
                Status::Busy => status = Status::Busy,
                Status::Closed => {}
            }
        }
        status
    }
}

impl<K: fmt::Debug, S, C> fmt::Debug for Balance<K, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.set.borrow();
        let pending: Vec<_> = set.iter().map(|(k, e)| (k, e.pending())).collect();
        f.debug_struct("Balance")
            .field("load", &self.load)
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

/// A call on its way: counted in flight from `start` until dropped, when its
/// latency (and whether it failed) feeds the endpoint's load.
struct InFlight<S> {
    endpoint: Rc<Endpoint<S>>,
    settings: Settings,
    started: Instant,
    /// Set when the call's result counts as a failure; stays unset for a call
    /// dropped before it ended.
    failed: bool,
}

impl<S> InFlight<S> {
    fn start(endpoint: Rc<Endpoint<S>>, settings: Settings) -> InFlight<S> {
        endpoint.start();
        InFlight {
            endpoint,
            settings,
            started: Instant::now(),
            failed: false,
        }
    }
}

impl<S> Drop for InFlight<S> {
    fn drop(&mut self) {
        let now = Instant::now();
        let rtt = now.saturating_duration_since(self.started);
        self.endpoint.end(rtt, self.failed, &self.settings, now);
    }
}
