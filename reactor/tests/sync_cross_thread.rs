//! Runtime-agnostic channels between two ringo runtimes on two threads, on
//! both drivers: `futures::channel::{mpsc, oneshot}` wake a ringo task from
//! another thread (through the runtime's cross-thread wake queue), which is
//! how work crosses between thread-per-core workers.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::thread;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use ringo_reactor::time::sleep;

const MESSAGES: u32 = 1000;

on_both_drivers! {
    fn futures_channels_carry_work_between_two_runtimes(kind: DriverKind) {
        let (mut requests_tx, mut requests_rx) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(8);
        let worker = thread::spawn(move || {
            let Some(rt) = util::runtime(kind) else { return };
            rt.block_on(async move {
                while let Some((n, reply)) = requests_rx.next().await {
                    let _ = reply.send(n * 2);
                }
            });
        });
        if let Some(rt) = util::runtime(kind) {
            rt.block_on(async move {
                let mut sum = 0;
                for n in 0..MESSAGES {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    requests_tx.send((n, reply_tx)).await.unwrap();
                    if n % 100 == 0 {
                        // Let the worker go idle, so the next wake must cross threads.
                        sleep(std::time::Duration::from_millis(1)).await;
                    }
                    sum += reply_rx.await.expect("the worker replies");
                }
                assert_eq!(sum, (0..MESSAGES).map(|n| n * 2).sum::<u32>());
            });
        }
        worker.join().unwrap();
    }
}
