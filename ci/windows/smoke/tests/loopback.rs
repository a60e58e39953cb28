//! What ringo's Windows tests will need from Wine: a Rust test binary
//! starts (std's ProcessPrng import resolves), threads run, and a loopback
//! TCP echo round-trips byte-exact with a timeout.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

#[test]
fn loopback_tcp_echo_round_trips() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stream.read(&mut buf).expect("server read");
            if n == 0 {
                return;
            }
            stream.write_all(&buf[..n]).expect("server write");
        }
    });
    let mut client = TcpStream::connect(addr).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let sent: Vec<u8> = (0..256 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut received = vec![0u8; sent.len()];
    let writer = {
        let mut client = client.try_clone().expect("clone");
        let sent = sent.clone();
        std::thread::spawn(move || client.write_all(&sent).expect("client write"))
    };
    client.read_exact(&mut received).expect("echo back");
    writer.join().expect("writer");
    assert!(received == sent, "echo lost or reordered bytes");
    client
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    server.join().expect("server");
}
