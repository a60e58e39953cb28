//! [`PoolLayer`]: makes a [`Pool`] of each connection maker it wraps.

use super::{MakeConnection, Pool, PoolConfig};
use crate::layer::Layer;

/// Turns a [`MakeConnection`] into a [`Pool`] of its connections, each pool
/// with this configuration (and its own connections).
///
/// # Examples
/// ```
/// use ringo_service::pool::{Connection, MakeConnection, PoolConfig, PoolLayer};
/// use ringo_service::{Error, Layer, Service};
///
/// struct Conn;
/// impl Service<u8> for Conn {
///     type Response = u8;
///     type Error = Error;
///     async fn call(&self, n: u8) -> Result<u8, Error> { Ok(n + 1) }
/// }
/// impl Connection for Conn {
///     fn is_closed(&self) -> bool { false }
/// }
/// struct Connector;
/// impl MakeConnection for Connector {
///     type Conn = Conn;
///     async fn connect(&self) -> Result<Conn, Error> { Ok(Conn) }
/// }
///
/// let pool = PoolLayer::new(PoolConfig::default()).layer(Connector);
/// assert_eq!(ringo_reactor::run(pool.call(1)).unwrap(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct PoolLayer {
    config: PoolConfig,
}

impl PoolLayer {
    /// A layer making pools configured as `config`.
    pub fn new(config: PoolConfig) -> PoolLayer {
        PoolLayer { config }
    }
}

impl<M: MakeConnection> Layer<M> for PoolLayer {
    type Service = Pool<M>;

    fn layer(&self, make: M) -> Pool<M> {
        Pool::new(make, self.config.clone())
    }
}
