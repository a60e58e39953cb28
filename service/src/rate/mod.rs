//! [`RateLimit`]: at most `num` calls per period, with bursts, through a
//! token bucket.
//!
//! Unlike [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit), which bounds
//! calls in flight, a rate limit bounds calls started per unit of time — what a
//! paid API or a fragile backend asks for. The bucket is O(1) per call and
//! needs no background task: it is one timestamp (see `bucket.rs`).

mod bucket;
mod error;
mod layer;

use std::fmt;
use std::time::{Duration, Instant};

use ringo_reactor::time::sleep_until;

use crate::error::{Error, ErrorKind};
use crate::service::{Service, Status};
use bucket::{Bucket, Reservation};

pub use error::RateLimited;
pub use layer::RateLimitLayer;

/// A rate: `num` calls per `per`, with bursts of up to `burst` calls.
///
/// A new or long-idle limiter holds `burst` tokens, so the first `burst` calls
/// pass at once; after that, one token comes back every `per / num`. The burst
/// defaults to `num` (a full period's worth).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::rate::Rate;
///
/// let rate = Rate::new(10, Duration::from_millis(100)).with_burst(5);
/// assert_eq!(rate.to_string(), "10 per 100ms (burst 5)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    num: u32,
    per: Duration,
    burst: u32,
}

impl Rate {
    /// `num` calls per `per`, with a burst of `num`.
    ///
    /// # Panics
    /// If `num` is 0: a rate that admits nothing is a configuration mistake.
    pub fn new(num: u32, per: Duration) -> Rate {
        assert!(num > 0, "rate must admit at least one call per period");
        Rate {
            num,
            per,
            burst: num,
        }
    }

    /// The same rate with bursts of up to `burst` calls.
    ///
    /// # Panics
    /// If `burst` is 0: no call could ever pass.
    pub fn with_burst(self, burst: u32) -> Rate {
        assert!(burst > 0, "rate burst must be at least one call");
        Rate { burst, ..self }
    }

    /// Calls per period.
    pub fn num(&self) -> u32 {
        self.num
    }

    /// The period.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// The most calls that may pass at once after an idle spell.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {:?} (burst {})", self.num, self.per, self.burst)
    }
}

/// What a call does when the bucket is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenEmpty {
    /// Waits for its token. Waiters get tokens in arrival order; a caller
    /// dropped while waiting returns its token if no later caller has
    /// reserved one, and otherwise that token is lost.
    #[default]
    Wait,
    /// Fails at once with [`ErrorKind::RateLimited`], its cause a
    /// [`RateLimited`] saying when to retry.
    Reject,
}

/// Limits calls into the inner service to a [`Rate`].
///
/// [`status`](Service::status) is `Busy` while the bucket is empty (a call
/// would wait or be rejected), otherwise the inner service's status.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, ErrorKind, Service};
/// use ringo_service::rate::{Rate, RateLimit, WhenEmpty};
///
/// let echo = service_fn(|n: u8| async move { Ok::<_, std::io::Error>(n) });
/// let svc = RateLimit::new(echo, Rate::new(1, Duration::from_secs(60))).when_empty(WhenEmpty::Reject);
/// ringo_reactor::run(async {
///     assert_eq!(svc.call(1).await.unwrap(), 1);
///     assert_eq!(svc.call(2).await.unwrap_err().kind(), ErrorKind::RateLimited);
/// });
/// ```
#[derive(Debug)]
pub struct RateLimit<S> {
    inner: S,
    rate: Rate,
    when_empty: WhenEmpty,
    bucket: Bucket,
}

impl<S> RateLimit<S> {
    /// `inner`, limited to `rate`; calls wait for a token by default.
    pub fn new(inner: S, rate: Rate) -> RateLimit<S> {
        RateLimit {
            inner,
            rate,
            when_empty: WhenEmpty::Wait,
            bucket: Bucket::new(rate),
        }
    }

    /// What a call does when no token is left; see [`WhenEmpty`].
    pub fn when_empty(mut self, when_empty: WhenEmpty) -> RateLimit<S> {
        self.when_empty = when_empty;
        self
    }

    /// The rate enforced.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Takes a token, waiting or failing as configured.
    async fn take_token(&self) -> Result<(), Error> {
        let now = Instant::now();
        match self.when_empty {
            WhenEmpty::Reject => self.bucket.try_take(now).map_err(|retry_after| {
                Error::with_source(
                    ErrorKind::RateLimited,
                    RateLimited::new(self.rate, retry_after),
                )
            }),
            WhenEmpty::Wait => {
                let (start, reservation) = self.bucket.reserve(now);
                if start > now {
                    let waiting = Waiting {
                        bucket: &self.bucket,
                        reservation: Some(reservation),
                    };
                    sleep_until(start).await;
                    waiting.keep();
                }
                Ok(())
            }
        }
    }
}

impl<S, Req> Service<Req> for RateLimit<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        self.take_token().await?;
        self.inner.call(req).await.map_err(Into::into)
    }

    fn status(&self) -> Status {
        match self.inner.status() {
            Status::Open if self.bucket.is_empty(Instant::now()) => Status::Busy,
            status => status,
        }
    }
}

/// A reserved future slot, returned to the bucket if its caller is dropped
/// before the slot starts.
struct Waiting<'a> {
    bucket: &'a Bucket,
    reservation: Option<Reservation>,
}

impl Waiting<'_> {
    /// The slot started: the caller keeps it.
    fn keep(mut self) {
        self.reservation = None;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(reservation) = self.reservation.take() {
            self.bucket.cancel(reservation);
        }
    }
}
