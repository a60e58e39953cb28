//! The echo server through the poll adapter: ringo's `io::poll::PollIo`
//! under tokio's `AsyncRead`/`AsyncWrite`, with the loop a tokio user would
//! write. Beside ringo's native `echo` example in the same cells, it shows
//! what the adapter (its copy and its bookkeeping) costs per request.
//!
//! `poll_echo [ADDR]` prints `poll_echo: listening on ADDR`; `RINGO_DRIVER`
//! picks the driver.

use ringo_reactor::io::poll::PollIo;
use ringo_reactor::net::TcpListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse::<std::net::SocketAddr>()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    ringo_reactor::run(async {
        let listener = TcpListener::bind(addr)?;
        println!("poll_echo: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            drop(ringo_reactor::spawn(async move {
                let mut io = PollIo::new(stream);
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match io.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if io.write_all(&buf[..n]).await.is_err() || io.flush().await.is_err() {
                        return;
                    }
                }
            }));
        }
    })
}
