//! `ringo_reactor::sync` on both drivers: each primitive's basic contract,
//! first-come-first-served order, and cancellation — a waiter whose future is
//! dropped never keeps or loses a permit, a message or a wake-up.

use ringo_test_util::both_drivers;

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures::{poll, FutureExt, StreamExt};
use ringo_reactor::sync::{mpsc, oneshot, AcquireError, Mutex, Notify, RwLock, Semaphore};
use ringo_reactor::task::yield_now;
use ringo_reactor::time::timeout;

/// Long enough for a woken task to run; a missed wake-up fails with `Elapsed`.
const WAKE_LIMIT: Duration = Duration::from_secs(5);

both_drivers! {
    async fn semaphore_serves_waiters_in_arrival_order() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.acquire().await.unwrap();
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..5 {
            let (semaphore, order) = (semaphore.clone(), order.clone());
            tasks.push(ringo_reactor::spawn(async move {
                let _permit = semaphore.acquire().await.unwrap();
                order.borrow_mut().push(n);
                yield_now().await;
            }));
            yield_now().await; // queue them one by one
        }
        assert!(semaphore.try_acquire().is_none(), "no overtaking the queue");
        drop(held);
        for task in tasks {
            timeout(WAKE_LIMIT, task).await.unwrap().unwrap();
        }
        assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
        assert_eq!(semaphore.available_permits(), 1);
    }
}

both_drivers! {
    async fn dropped_semaphore_waiters_neither_keep_nor_lose_permits() {
        let semaphore = Semaphore::new(2);
        let held = semaphore.acquire_many(2).await.unwrap();
        // Cancelled while waiting.
        let mut waiting = Box::pin(semaphore.acquire());
        assert!(poll!(&mut waiting).is_pending());
        let mut second = Box::pin(semaphore.acquire());
        assert!(poll!(&mut second).is_pending());
        drop(waiting);
        drop(held);
        // Granted but dropped before taking it: the grant passes on.
        let third = semaphore.acquire();
        drop(second);
        let permit = timeout(WAKE_LIMIT, third).await.unwrap().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
        drop(permit);
        assert_eq!(semaphore.available_permits(), 2);
        assert_eq!(semaphore.acquire_many(2).await.unwrap().count(), 2);
    }
}

both_drivers! {
    async fn a_large_semaphore_waiter_keeps_later_small_ones_out() {
        let semaphore = Semaphore::new(2);
        let one = semaphore.acquire().await.unwrap();
        let mut both = Box::pin(semaphore.acquire_many(2));
        assert!(poll!(&mut both).is_pending());
        assert!(semaphore.try_acquire().is_none(), "the free permit is saved for the head");
        let mut small = Box::pin(semaphore.acquire());
        assert!(poll!(&mut small).is_pending());
        // Once the big waiter gives up, the small one behind it gets the free permit.
        drop(both);
        assert!(poll!(&mut small).is_ready());
        drop(one);
        assert_eq!(
            semaphore.acquire_many(3).await.unwrap_err(),
            AcquireError::TooMany,
            "asking for more than exists fails instead of waiting forever"
        );
    }
}

both_drivers! {
    async fn closing_a_semaphore_fails_its_waiters() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.acquire().await.unwrap();
        let waiter = ringo_reactor::spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire().await.map(drop) }
        });
        yield_now().await;
        semaphore.close();
        assert_eq!(timeout(WAKE_LIMIT, waiter).await.unwrap().unwrap(), Err(AcquireError::Closed));
        drop(held);
        assert!(semaphore.try_acquire().is_none(), "closed for good");
    }
}

both_drivers! {
    async fn bounded_channel_holds_senders_back_and_keeps_order() {
        let (tx, mut rx) = mpsc::channel(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert!(matches!(tx.try_send(3), Err(mpsc::TrySendError::Full(3))));
        let blocked = ringo_reactor::spawn({
            let tx = tx.clone();
            async move { tx.send(3).await.unwrap() }
        });
        yield_now().await;
        assert!(!blocked.is_finished(), "a full channel makes the sender wait");
        assert_eq!(rx.recv().await, Some(1));
        timeout(WAKE_LIMIT, blocked).await.unwrap().unwrap();
        drop(tx);
        let rest: Vec<_> = rx.collect().await; // the Receiver is a Stream
        assert_eq!(rest, [2, 3]);
    }
}

both_drivers! {
    async fn dropped_channel_futures_lose_no_room_and_no_message() {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send("a").await.unwrap();
        // A send cancelled while waiting for room takes none with it.
        assert!(tx.send("dropped").now_or_never().is_none());
        // A receive cancelled before anything arrived loses nothing later.
        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        assert!(urx.recv().now_or_never().is_none());
        utx.send(7).unwrap();
        assert_eq!(urx.recv().await, Some(7));

        assert_eq!(rx.recv().await, Some("a"));
        tx.try_send("b").expect("the room came back");
        assert_eq!(rx.recv().await, Some("b"));
    }
}

both_drivers! {
    async fn a_dropped_receiver_fails_sends_and_wakes_waiting_senders() {
        let (tx, rx) = mpsc::channel(1);
        tx.send(1).await.unwrap();
        let waiting = ringo_reactor::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await.map_err(|mpsc::SendError(v)| v) }
        });
        yield_now().await;
        drop(rx);
        assert_eq!(timeout(WAKE_LIMIT, waiting).await.unwrap().unwrap(), Err(2));
        assert!(tx.is_closed());
        let (utx, urx) = mpsc::unbounded_channel();
        drop(urx);
        assert_eq!(utx.send(5), Err(mpsc::SendError(5)));
    }
}

both_drivers! {
    async fn a_receiver_sees_the_end_when_every_sender_is_gone() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let other = tx.clone();
        ringo_reactor::spawn(async move {
            other.send(1).unwrap();
        });
        drop(tx);
        assert_eq!(timeout(WAKE_LIMIT, rx.recv()).await.unwrap(), Some(1));
        assert_eq!(timeout(WAKE_LIMIT, rx.recv()).await.unwrap(), None);
        assert_eq!(rx.try_recv(), Err(mpsc::Disconnected));
    }
}

both_drivers! {
    async fn oneshot_delivers_once_or_reports_who_left() {
        let (tx, rx) = oneshot::channel();
        ringo_reactor::spawn(async move { tx.send(String::from("reply")).unwrap() });
        assert_eq!(timeout(WAKE_LIMIT, rx).await.unwrap().as_deref(), Ok("reply"));

        let (tx, rx) = oneshot::channel::<u8>();
        ringo_reactor::spawn(async move { drop(tx) });
        assert_eq!(timeout(WAKE_LIMIT, rx).await.unwrap(), Err(oneshot::RecvError));

        let (tx, rx) = oneshot::channel();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(9), Err(9));
    }
}

both_drivers! {
    async fn notify_stores_one_wakeup_and_a_dropped_waiter_passes_it_on() {
        let notify = Rc::new(Notify::new());
        notify.notify_one(); // nobody waits: stored
        timeout(WAKE_LIMIT, notify.notified()).await.unwrap();
        assert!(notify.notified().now_or_never().is_none(), "only one was stored");

        let mut first = Box::pin(notify.notified());
        assert!(poll!(&mut first).is_pending());
        let mut second = Box::pin(notify.notified());
        assert!(poll!(&mut second).is_pending());
        notify.notify_one(); // chooses `first`
        drop(first);
        assert!(poll!(&mut second).is_ready(), "the wake-up passed on");

        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let notify = notify.clone();
                ringo_reactor::spawn(async move { notify.notified().await })
            })
            .collect();
        yield_now().await;
        notify.notify_waiters();
        for waiter in waiters {
            timeout(WAKE_LIMIT, waiter).await.unwrap().unwrap();
        }
        assert!(notify.notified().now_or_never().is_none(), "notify_waiters stores nothing");
    }
}

both_drivers! {
    async fn mutex_excludes_across_awaits_and_survives_cancelled_lockers() {
        let counter = Rc::new(Mutex::new(0u32));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let counter = counter.clone();
                ringo_reactor::spawn(async move {
                    let mut guard = counter.lock().await;
                    let seen = *guard;
                    yield_now().await; // another task runs while we hold it
                    *guard = seen + 1;
                })
            })
            .collect();
        for task in tasks {
            timeout(WAKE_LIMIT, task).await.unwrap().unwrap();
        }
        assert_eq!(*counter.lock().await, 10, "no lost update");

        let guard = counter.lock().await;
        assert!(counter.lock().now_or_never().is_none());
        drop(guard);
        assert!(counter.try_lock().is_some(), "the cancelled locker holds nothing");
    }
}

both_drivers! {
    async fn a_waiting_writer_keeps_later_readers_out() {
        let lock = Rc::new(RwLock::new(1));
        let reader = lock.read().await;
        let writer = ringo_reactor::spawn({
            let lock = lock.clone();
            async move { *lock.write().await += 1 }
        });
        yield_now().await;
        assert!(lock.try_read().is_none(), "a waiting writer comes first");
        let late_reader = ringo_reactor::spawn({
            let lock = lock.clone();
            async move { *lock.read().await }
        });
        drop(reader);
        timeout(WAKE_LIMIT, writer).await.unwrap().unwrap();
        assert_eq!(timeout(WAKE_LIMIT, late_reader).await.unwrap().unwrap(), 2);
        let mut pending_write = pin!(lock.write());
        assert!(poll!(&mut pending_write).is_ready());
    }
}
