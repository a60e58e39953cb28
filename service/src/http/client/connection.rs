//! One pooled keep-alive connection: the pipelined dispatcher's handle, the
//! task driving the socket, and the flag that keeps a connection a response
//! ended (or a call abandoned) from being lent again.

use std::cell::Cell;
use std::rc::Rc;

use ::http::{Request, Response};
use bytes::Bytes;
use ringo_proto::http::GatheredResponse;
use ringo_proto::pipeline;
use ringo_reactor::JoinHandle;

use crate::error::Error;
use crate::pool::Connection;
use crate::service::Service;

/// One keep-alive connection: the pipelined dispatcher's handle, and the
/// task driving the socket, which ends when the connection is dropped.
pub(super) struct HttpConnection {
    pub(super) client: pipeline::Client<Request<Bytes>, GatheredResponse>,
    /// Set when the connection must not be lent again: a response closed it,
    /// or a call on it was abandoned.
    pub(super) retired: Rc<Cell<bool>>,
    pub(super) task: JoinHandle<()>,
}

impl Drop for HttpConnection {
    fn drop(&mut self) {
        // A retired connection may still await a response nobody wants.
        self.task.abort();
    }
}

impl Connection for HttpConnection {
    fn is_closed(&self) -> bool {
        self.retired.get() || self.client.is_closed()
    }
}

impl Service<Request<Bytes>> for HttpConnection {
    type Response = Response<Bytes>;
    type Error = Error;

    async fn call(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let mut abandoned = Abandoned {
            retired: &self.retired,
            armed: true,
        };
        let result = self.client.call(request).await;
        abandoned.armed = false;
        Ok(result??)
    }
}

/// Retires the connection if its call is dropped before the response came.
struct Abandoned<'a> {
    retired: &'a Cell<bool>,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.retired.set(true);
        }
    }
}
