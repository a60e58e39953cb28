//! [`Layer`]: middleware as a function from one service to another.
//!
//! A layer wraps an inner service and returns the wrapped one, so a stack of
//! middleware is just layers applied in order. [`Stack`] composes two layers,
//! [`Identity`] is the empty stack.

use std::fmt;

/// Wraps a service in middleware.
pub trait Layer<S> {
    /// The wrapped service.
    type Service;

    /// Wraps `inner`.
    fn layer(&self, inner: S) -> Self::Service;
}

/// The layer that changes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl<S> Layer<S> for Identity {
    type Service = S;

    fn layer(&self, inner: S) -> S {
        inner
    }
}

/// Two layers in order: `outer` wraps what `inner` made.
#[derive(Clone)]
pub struct Stack<Inner, Outer> {
    inner: Inner,
    outer: Outer,
}

impl<Inner, Outer> Stack<Inner, Outer> {
    /// `outer` around `inner`.
    pub fn new(inner: Inner, outer: Outer) -> Stack<Inner, Outer> {
        Stack { inner, outer }
    }
}

impl<S, Inner: Layer<S>, Outer: Layer<Inner::Service>> Layer<S> for Stack<Inner, Outer> {
    type Service = Outer::Service;

    fn layer(&self, service: S) -> Self::Service {
        self.outer.layer(self.inner.layer(service))
    }
}

impl<Inner: fmt::Debug, Outer: fmt::Debug> fmt::Debug for Stack<Inner, Outer> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack")
            .field("inner", &self.inner)
            .field("outer", &self.outer)
            .finish()
    }
}

/// A layer made from a function; see [`layer_fn`].
#[derive(Clone, Copy)]
pub struct LayerFn<F> {
    f: F,
}

/// Makes a layer from a function from service to service.
pub fn layer_fn<F>(f: F) -> LayerFn<F> {
    LayerFn { f }
}

impl<F, S, Out> Layer<S> for LayerFn<F>
where
    F: Fn(S) -> Out,
{
    type Service = Out;

    fn layer(&self, inner: S) -> Out {
        (self.f)(inner)
    }
}

impl<F> fmt::Debug for LayerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerFn").finish_non_exhaustive()
    }
}
