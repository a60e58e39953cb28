//! [`Commands`]: typed Redis commands for anything that can send a [`Frame`]
//! — [`Client`](super::Client) (one connection) and [`Pool`](super::Pool)
//! (whose `call` resends a request that never left a broken connection, so
//! the typed commands get that too).
//!
//! Each method builds the command, sends it with [`Commands::call`] and turns
//! the reply into a Rust value; an error reply or a reply of a type the
//! command never returns is a [`ReplyError`] (as the `Error`'s source). For
//! any other command, build it with [`command`] and use `call`.

// The futures are not Send on purpose: clients live on one runtime thread.
#![allow(async_fn_in_trait)]

use std::time::Duration;

use bytes::Bytes;

use super::{command, Client, Frame, Pool, ReplyError};
use crate::Error;

/// `SET`'s options; see [`Commands::set_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Expire after this long (`PX`, millisecond precision).
    pub expire: Option<Duration>,
    /// Set only if the key does not exist (`NX`), or only if it does (`XX`).
    pub condition: Option<SetCondition>,
}

/// When `SET` with [`SetOptions::condition`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// `NX`: only if the key does not exist.
    IfAbsent,
    /// `XX`: only if the key exists.
    IfPresent,
}

/// Typed Redis commands over [`call`](Commands::call).
///
/// # Examples
/// ```no_run
/// use ringo_service::redis::{Commands, Pool};
///
/// ringo_reactor::run(async {
///     let pool = Pool::builder("localhost:6379").build();
///     pool.set("greeting", "hello").await?;
///     assert_eq!(pool.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
///     assert_eq!(pool.incr_by("visits", 5).await?, 5);
///     Ok::<(), ringo_service::Error>(())
/// })?;
/// # Ok::<(), ringo_service::Error>(())
/// ```
pub trait Commands {
    /// Sends `request` and waits for the reply (an error reply is `Ok`).
    async fn call(&self, request: Frame) -> Result<Frame, Error>;

    /// `PING`.
    async fn ping(&self) -> Result<(), Error> {
        expect_ok(self.call(command(["PING"])).await?, "PONG")
    }

    /// `GET key`: the value, or `None` for a missing key.
    async fn get(&self, key: impl Into<Bytes>) -> Result<Option<Bytes>, Error> {
        bulk(self.call(command([b("GET"), key.into()])).await?)
    }

    /// `SET key value`.
    async fn set(&self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), Error> {
        let reply = self
            .call(command([b("SET"), key.into(), value.into()]))
            .await?;
        expect_ok(reply, "OK")
    }

    /// `SET key value [PX ms] [NX|XX]`: whether it was set (a condition that
    /// did not hold sets nothing).
    async fn set_with(
        &self,
        key: impl Into<Bytes>,
        value: impl Into<Bytes>,
        options: SetOptions,
    ) -> Result<bool, Error> {
        let mut args = vec![b("SET"), key.into(), value.into()];
        if let Some(expire) = options.expire {
            args.extend([b("PX"), Bytes::from(expire.as_millis().max(1).to_string())]);
        }
        match options.condition {
            Some(SetCondition::IfAbsent) => args.push(b("NX")),
            Some(SetCondition::IfPresent) => args.push(b("XX")),
            None => {}
        }
        match self.call(command(args)).await? {
            Frame::Null => Ok(false),
            reply => expect_ok(reply, "OK").map(|()| true),
        }
    }

    /// `DEL key..`: how many keys were removed.
    async fn del<K: Into<Bytes>>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64, Error> {
        integer(self.call(with_keys("DEL", keys)).await?)
    }

    /// `EXISTS key..`: how many of the keys exist.
    async fn exists<K: Into<Bytes>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<i64, Error> {
        integer(self.call(with_keys("EXISTS", keys)).await?)
    }

    /// `INCR key`: the new value.
    async fn incr(&self, key: impl Into<Bytes>) -> Result<i64, Error> {
        integer(self.call(command([b("INCR"), key.into()])).await?)
    }

    /// `INCRBY key by`: the new value.
    async fn incr_by(&self, key: impl Into<Bytes>, by: i64) -> Result<i64, Error> {
        let request = command([b("INCRBY"), key.into(), Bytes::from(by.to_string())]);
        integer(self.call(request).await?)
    }

    /// `PEXPIRE key ms`: whether the key exists (and now expires).
    async fn expire(&self, key: impl Into<Bytes>, after: Duration) -> Result<bool, Error> {
        let ms = Bytes::from(after.as_millis().to_string());
        Ok(integer(self.call(command([b("PEXPIRE"), key.into(), ms])).await?)? == 1)
    }

    /// `TTL key` in seconds; as Redis: -2 if the key does not exist, -1 if it
    /// has no expiry.
    async fn ttl(&self, key: impl Into<Bytes>) -> Result<i64, Error> {
        integer(self.call(command([b("TTL"), key.into()])).await?)
    }

    /// `MGET key..`: each value, `None` where missing.
    async fn mget<K: Into<Bytes>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<Bytes>>, Error> {
        array(self.call(with_keys("MGET", keys)).await?)?
            .into_iter()
            .map(bulk)
            .collect()
    }

    /// `MSET key value ..`.
    async fn mset<K: Into<Bytes>, V: Into<Bytes>>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let mut args = vec![b("MSET")];
        for (key, value) in pairs {
            args.extend([key.into(), value.into()]);
        }
        expect_ok(self.call(command(args)).await?, "OK")
    }

    /// `HGET key field`.
    async fn hget(
        &self,
        key: impl Into<Bytes>,
        field: impl Into<Bytes>,
    ) -> Result<Option<Bytes>, Error> {
        bulk(
            self.call(command([b("HGET"), key.into(), field.into()]))
                .await?,
        )
    }

    /// `HSET key field value`: how many fields were added (0 if it was updated).
    async fn hset(
        &self,
        key: impl Into<Bytes>,
        field: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<i64, Error> {
        let request = command([b("HSET"), key.into(), field.into(), value.into()]);
        integer(self.call(request).await?)
    }

    /// `LPUSH key value..`: the list's new length.
    async fn lpush<V: Into<Bytes>>(
        &self,
        key: impl Into<Bytes>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<i64, Error> {
        let mut args = vec![b("LPUSH"), key.into()];
        args.extend(values.into_iter().map(Into::into));
        integer(self.call(command(args)).await?)
    }

    /// `LRANGE key start stop` (inclusive; negative counts from the end).
    async fn lrange(
        &self,
        key: impl Into<Bytes>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<Bytes>, Error> {
        let (start, stop) = (
            Bytes::from(start.to_string()),
            Bytes::from(stop.to_string()),
        );
        let items = array(
            self.call(command([b("LRANGE"), key.into(), start, stop]))
                .await?,
        )?;
        items
            .into_iter()
            .map(|item| bulk(item)?.ok_or_else(|| unexpected(Frame::Null)))
            .collect()
    }
}

impl Commands for Client {
    async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Client::call(self, request).await
    }
}

impl Commands for Pool {
    async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Pool::call(self, request).await
    }
}

fn b(word: &'static str) -> Bytes {
    Bytes::from_static(word.as_bytes())
}

fn with_keys<K: Into<Bytes>>(name: &'static str, keys: impl IntoIterator<Item = K>) -> Frame {
    command(std::iter::once(b(name)).chain(keys.into_iter().map(Into::into)))
}

/// A [`ReplyError`] for `frame`: `Server` for an error reply, else `Unexpected`.
pub(super) fn unexpected(frame: Frame) -> Error {
    let reply = match frame {
        Frame::Error(text) | Frame::BulkError(text) => {
            ReplyError::Server(String::from_utf8_lossy(&text).into_owned())
        }
        other => ReplyError::Unexpected(other),
    };
    Error::from(reply)
}

fn expect_ok(reply: Frame, status: &str) -> Result<(), Error> {
    match reply {
        Frame::Simple(text) if text == status => Ok(()),
        other => Err(unexpected(other)),
    }
}

fn bulk(reply: Frame) -> Result<Option<Bytes>, Error> {
    match reply {
        Frame::Bulk(value) => Ok(Some(value)),
        Frame::Null => Ok(None),
        other => Err(unexpected(other)),
    }
}

fn integer(reply: Frame) -> Result<i64, Error> {
    match reply {
        Frame::Integer(n) => Ok(n),
        other => Err(unexpected(other)),
    }
}

fn array(reply: Frame) -> Result<Vec<Frame>, Error> {
    match reply {
        Frame::Array(items) => Ok(items),
        other => Err(unexpected(other)),
    }
}
