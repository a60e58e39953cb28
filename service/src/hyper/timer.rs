//! [`RingoTimer`]: hyper's `Timer` on ringo's timer wheel, for hyper's
//! timeouts (HTTP/1.1 header read, HTTP/2 keep-alive pings) without a second
//! runtime.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ringo_reactor::time::{sleep, sleep_until, Sleep};

/// Makes hyper's sleeps from ringo's timers; see [`RingoSleep`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RingoTimer;

impl ::hyper::rt::Timer for RingoTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(RingoSleep(sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(RingoSleep(sleep_until(deadline)))
    }

    /// Moves one of our sleeps in place (no new allocation); any other kind
    /// is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<RingoSleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A ringo [`Sleep`] as hyper's `Sleep`. It must be polled and dropped on the
/// thread of the runtime that made it, which is where hyper uses it when the
/// connection runs on ringo.
#[derive(Debug)]
pub struct RingoSleep(Sleep);

impl Future for RingoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl ::hyper::rt::Sleep for RingoSleep {}
