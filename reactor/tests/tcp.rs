//! TCP on both drivers: echo, concurrency, large transfers, peer faults.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::rc::Rc;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use util::{echo, pattern, spawn_server};

both_drivers! {
    async fn echo_one_message() {
        let addr = spawn_server(echo);
        let client = TcpStream::connect(addr).await.expect("connect");
        let (r, _) = client.write_all(b"hello ringo".to_vec()).await;
        r.expect("write");
        let (r, buf) = client.read_exact(vec![0u8; 11]).await;
        r.expect("read");
        assert_eq!(&buf, b"hello ringo");
    }
}

both_drivers! {
    async fn echo_many_concurrent_connections() {
        let addr = spawn_server(echo);
        let clients: Vec<_> = (0..200u64)
            .map(|i| {
                ringo_reactor::spawn(async move {
                    let stream = TcpStream::connect(addr).await.expect("connect");
                    for round in 0..10u64 {
                        let message = pattern(100 + (i as usize % 50), i * 1000 + round);
                        let (r, _) = stream.write_all(message.clone()).await;
                        r.expect("write");
                        let (r, echoed) = stream.read_exact(vec![0u8; message.len()]).await;
                        r.expect("read");
                        assert_eq!(echoed, message, "client {i} round {round}");
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.expect("client task");
        }
    }
}

both_drivers! {
    async fn large_transfer_is_byte_exact() {
        const LEN: usize = 64 * 1024 * 1024;
        let addr = spawn_server(echo);
        let stream = Rc::new(TcpStream::connect(addr).await.expect("connect"));
        let data = pattern(LEN, 7);
        let writer = {
            let stream = stream.clone();
            let data = data.clone();
            ringo_reactor::spawn(async move {
                let (r, _) = stream.write_all(data).await;
                r.expect("write 64 MiB");
            })
        };
        let (r, received) = stream.read_exact(vec![0u8; LEN]).await;
        r.expect("read 64 MiB");
        writer.await.expect("writer");
        assert!(received == data, "64 MiB echoed back byte-exact");
    }
}
