//! A Redis client doing 1,000 concurrent SET/GET pairs through a pool.
//!
//! Start a server (`cargo run -p ringo-service --example mini_redis`, or
//! redis-server), then `cargo run -p ringo-service --example redis_load
//! [redis://127.0.0.1:6379/0]`.

use futures::future::try_join_all;
use ringo_service::redis::{Commands, Pool};
use ringo_service::{Error, ErrorKind};

/// Sets and reads back `n` keys at once; fails if any value comes back wrong.
pub async fn run(pool: &Pool, n: usize) -> Result<(), Error> {
    try_join_all((0..n).map(|i| async move {
        let (key, value) = (format!("key:{i}"), i.to_string());
        pool.set(key.clone(), value.clone()).await?;
        match pool.get(key).await? {
            Some(got) if got == value.as_bytes() => Ok(()),
            got => Err(Error::with_source(
                ErrorKind::Inner,
                format!("key:{i}: got {got:?}"),
            )),
        }
    }))
    .await
    .map(drop)
}

#[allow(dead_code)] // the tests include this file for `run`
fn main() -> Result<(), Error> {
    env_logger::init();
    let url = std::env::args()
        .nth(1)
        .unwrap_or("redis://127.0.0.1:6379".into());
    ringo_reactor::run(async {
        let pool = Pool::builder_url(&url)?.build();
        run(&pool, 1000).await?;
        println!("1000 SET/GET pairs done");
        Ok(())
    })
}
