//! The endpoint set of a [`Balance`](super::Balance): each endpoint's service
//! with its load statistics, keyed, changeable while calls run.
//!
//! An endpoint lives in an `Rc`: a call holds its own handle for as long as
//! it runs, so removing or replacing the endpoint never cuts a call short —
//! the set forgets the endpoint at once (no new call goes to it) and the last
//! call to finish drops it.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::ewma::{Decaying, RttEstimate};
use crate::service::Status;

/// One endpoint: its service and what the load metrics know about it.
#[derive(Debug)]
pub(super) struct Endpoint<S> {
    pub(super) service: S,
    /// Calls sent and not yet finished (answered, failed or dropped).
    pending: Cell<usize>,
    /// Peak-EWMA latency, with failures counted at the failure penalty.
    rtt: Cell<RttEstimate>,
    /// Recent failures, each fading with the failure penalty as time constant.
    failures: Cell<Decaying>,
}

impl<S> Endpoint<S> {
    /// A new endpoint, assumed to answer in `default_rtt` until it does.
    pub(super) fn new(service: S, default_rtt: Duration, now: Instant) -> Endpoint<S> {
        Endpoint {
            service,
            pending: Cell::new(0),
            rtt: Cell::new(RttEstimate::new(default_rtt, now)),
            failures: Cell::new(Decaying::zero(now)),
        }
    }

    /// Calls in flight.
    pub(super) fn pending(&self) -> usize {
        self.pending.get()
    }

    /// The latency estimate at `now`, in nanoseconds.
    pub(super) fn rtt_nanos(&self, now: Instant, decay: Duration) -> f64 {
        self.rtt.get().nanos_at(now, decay)
    }

    /// The weight of recent failures at `now`, in calls.
    pub(super) fn failures(&self, now: Instant, penalty: Duration) -> f64 {
        self.failures.get().at(now, penalty)
    }

    /// A call was sent.
    pub(super) fn start(&self) {
        self.pending.set(self.pending.get() + 1);
    }

    /// A call sent earlier ended after `rtt`; `failed` if it counts as a
    /// failure. A failure's latency counts as at least `penalty`, and it
    /// weighs as one more call in flight fading with time constant `penalty`
    /// (so a zero penalty makes a failure weigh as its bare latency).
    pub(super) fn end(&self, rtt: Duration, failed: bool, settings: &Settings, now: Instant) {
        self.pending.set(self.pending.get().saturating_sub(1));
        let sample = if failed {
            rtt.max(settings.failure_penalty)
        } else {
            rtt
        };
        let mut estimate = self.rtt.get();
        estimate.observe(sample, now, settings.decay);
        self.rtt.set(estimate);
        if failed {
            let mut failures = self.failures.get();
            failures.add(1.0, now, settings.failure_penalty);
            self.failures.set(failures);
        }
    }
}

/// The knobs of the load metrics, copied into every call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Settings {
    /// Time constant of the latency estimate.
    pub(super) decay: Duration,
    /// Latency assumed before an endpoint's first response.
    pub(super) default_rtt: Duration,
    /// What a failure costs; see [`Endpoint::end`].
    pub(super) failure_penalty: Duration,
}

/// Endpoints by key, in insertion order (removal swaps the last one in).
#[derive(Debug)]
pub(super) struct EndpointSet<K, S> {
    endpoints: Vec<(K, Rc<Endpoint<S>>)>,
    /// Reused by [`candidates`](Self::candidates) so picking allocates nothing
    /// once it has grown to the set's size.
    scratch: Vec<usize>,
}

impl<K, S> EndpointSet<K, S> {
    pub(super) fn new() -> EndpointSet<K, S> {
        EndpointSet {
            endpoints: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.endpoints.len()
    }

    fn position(&self, key: &K) -> Option<usize>
    where
        K: Eq,
    {
        self.endpoints.iter().position(|(k, _)| k == key)
    }

    /// Adds `endpoint` under `key`, replacing (and returning) any endpoint
    /// there was under it.
    pub(super) fn insert(&mut self, key: K, endpoint: Endpoint<S>) -> Option<Rc<Endpoint<S>>>
    where
        K: Eq,
    {
        let endpoint = Rc::new(endpoint);
        match self.position(&key) {
            Some(at) => self
                .endpoints
                .get_mut(at)
                .map(|slot| std::mem::replace(&mut slot.1, endpoint)),
            None => {
                self.endpoints.push((key, endpoint));
                None
            }
        }
    }

    /// Forgets the endpoint under `key` and returns it.
    pub(super) fn remove(&mut self, key: &K) -> Option<Rc<Endpoint<S>>>
    where
        K: Eq,
    {
        let at = self.position(key)?;
        Some(self.endpoints.swap_remove(at).1)
    }

    pub(super) fn get(&self, key: &K) -> Option<&Rc<Endpoint<S>>>
    where
        K: Eq,
    {
        self.endpoints
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| e)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &Rc<Endpoint<S>>)> {
        self.endpoints.iter().map(|(k, e)| (k, e))
    }

    /// The endpoints a call may go to: the `Open` ones, or if none is open
    /// the `Busy` ones; never a `Closed` one.
    pub(super) fn candidates(&mut self, status: impl Fn(&S) -> Status) -> Candidates<'_, K, S> {
        self.scratch.clear();
        let mut busy_only = true;
        for (index, (_, endpoint)) in self.endpoints.iter().enumerate() {
            match status(&endpoint.service) {
                Status::Open if busy_only => {
                    // The first open endpoint: the busy ones seen so far lose.
                    busy_only = false;
                    self.scratch.clear();
                    self.scratch.push(index);
                }
                Status::Open => self.scratch.push(index),
                Status::Busy if busy_only => self.scratch.push(index),
                Status::Busy | Status::Closed => {}
            }
        }
        Candidates {
            indices: &self.scratch,
            endpoints: &self.endpoints,
        }
    }
}

/// The usable endpoints of a set, as [`EndpointSet::candidates`] found them.
pub(super) struct Candidates<'a, K, S> {
    /// Indices into `endpoints`.
    pub(super) indices: &'a [usize],
    endpoints: &'a [(K, Rc<Endpoint<S>>)],
}

impl<'a, K, S> Candidates<'a, K, S> {
    /// The endpoint at `index` of the set.
    pub(super) fn endpoint(&self, index: usize) -> Option<&'a Rc<Endpoint<S>>> {
        self.endpoints.get(index).map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(statuses: &[Status]) -> EndpointSet<usize, Status> {
        let now = Instant::now();
        let mut set = EndpointSet::new();
        for (key, status) in statuses.iter().enumerate() {
            set.insert(key, Endpoint::new(*status, Duration::ZERO, now));
        }
        set
    }

    #[test]
    fn candidates_are_the_open_endpoints_else_the_busy_ones_never_closed_ones() {
        use Status::{Busy, Closed, Open};
        let cases: [(&str, &[Status], &[usize]); 6] = [
            ("empty", &[], &[]),
            ("all open", &[Open, Open, Open], &[0, 1, 2]),
            ("open beat busy", &[Busy, Open, Busy, Open], &[1, 3]),
            ("busy when none open", &[Busy, Closed, Busy], &[0, 2]),
            ("closed never", &[Closed, Closed], &[]),
            ("open among closed", &[Closed, Open, Closed], &[1]),
        ];
        for (name, statuses, expected) in cases {
            let mut set = set_of(statuses);
            assert_eq!(set.candidates(|s| *s).indices, expected, "{name}");
        }
    }

    #[test]
    fn insert_replaces_by_key_and_remove_forgets() {
        let now = Instant::now();
        let mut set = EndpointSet::new();
        assert!(set
            .insert("a", Endpoint::new(1, Duration::ZERO, now))
            .is_none());
        assert!(set
            .insert("b", Endpoint::new(2, Duration::ZERO, now))
            .is_none());
        let old = set.insert("a", Endpoint::new(3, Duration::ZERO, now));
        assert_eq!(old.map(|e| e.service), Some(1));
        assert_eq!(set.len(), 2);
        assert_eq!(set.get(&"a").map(|e| e.service), Some(3));
        assert_eq!(set.remove(&"a").map(|e| e.service), Some(3));
        assert!(set.remove(&"a").is_none());
        assert_eq!(set.iter().map(|(k, _)| *k).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn a_failure_raises_the_estimate_to_the_penalty_and_weighs_as_a_call() {
        let now = Instant::now();
        let settings = Settings {
            decay: Duration::from_secs(10),
            default_rtt: Duration::from_millis(30),
            failure_penalty: Duration::from_secs(1),
        };
        let endpoint = Endpoint::new((), settings.default_rtt, now);
        endpoint.start();
        endpoint.start();
        assert_eq!(endpoint.pending(), 2);
        endpoint.end(Duration::from_millis(1), false, &settings, now);
        assert_eq!(endpoint.rtt_nanos(now, settings.decay), 1e6);
        endpoint.end(Duration::from_micros(10), true, &settings, now);
        assert_eq!(endpoint.pending(), 0);
        assert_eq!(endpoint.rtt_nanos(now, settings.decay), 1e9);
        assert_eq!(endpoint.failures(now, settings.failure_penalty), 1.0);
    }
}
