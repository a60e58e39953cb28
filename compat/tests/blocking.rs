//! The proactor's blocking pool runs every job, off the calling thread, in FIFO
//! order once saturated, within its thread limit, and survives panicking jobs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use ringo_compat::{Proactor, DEFAULT_MAX_BLOCKING_THREADS};

/// How long a test waits for one job before it fails.
const JOB_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn jobs_run_on_another_thread() {
    let proactor = Proactor::new().unwrap();
    let (tx, rx) = mpsc::channel();
    proactor.spawn_blocking(Box::new(move || {
        let _ = tx.send(thread::current().id());
    }));
    let worker = rx.recv_timeout(JOB_TIMEOUT).unwrap();
    assert_ne!(worker, thread::current().id());
}

#[test]
fn the_pool_never_exceeds_its_thread_limit() {
    const MAX: usize = 4;
    const JOBS: usize = 50;
    let proactor = Proactor::with_blocking_threads(MAX).unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let high_water = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..JOBS {
        let (running, high_water, tx) = (running.clone(), high_water.clone(), tx.clone());
        proactor.spawn_blocking(Box::new(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            high_water.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(10));
            running.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(());
        }));
    }
    for job in 0..JOBS {
        assert!(
            rx.recv_timeout(JOB_TIMEOUT).is_ok(),
            "job {job} of {JOBS} never ran"
        );
    }
    let high_water = high_water.load(Ordering::SeqCst);
    assert!(
        high_water <= MAX,
        "{high_water} jobs ran at once, limit {MAX}"
    );
    assert!(high_water >= 1);
}

#[test]
fn queued_jobs_run_in_fifo_order() {
    let proactor = Proactor::with_blocking_threads(1).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    for job in 0..20 {
        let (order, tx) = (order.clone(), tx.clone());
        proactor.spawn_blocking(Box::new(move || {
            order.lock().unwrap().push(job);
            let _ = tx.send(());
        }));
    }
    for _ in 0..20 {
        rx.recv_timeout(JOB_TIMEOUT).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_panicking_job_does_not_kill_the_pool() {
    let proactor = Proactor::with_blocking_threads(1).unwrap();
    let (tx, rx) = mpsc::channel();
    for job in 0..3 {
        proactor.spawn_blocking(Box::new(|| panic!("a job that panics on purpose")));
        let tx = tx.clone();
        proactor.spawn_blocking(Box::new(move || {
            let _ = tx.send(job);
        }));
        assert_eq!(rx.recv_timeout(JOB_TIMEOUT), Ok(job));
    }
}

#[test]
fn dropping_the_proactor_does_not_wait_for_a_blocked_job() {
    let proactor = Proactor::with_blocking_threads(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let (ran_tx, ran) = mpsc::channel();
    proactor.spawn_blocking(Box::new(move || {
        let _ = started_tx.send(());
        let _ = released.recv_timeout(JOB_TIMEOUT);
    }));
    proactor.spawn_blocking(Box::new(move || {
        let _ = ran_tx.send(());
    }));
    started.recv_timeout(JOB_TIMEOUT).unwrap();

    // Returns while the first job still blocks; the queued job is dropped unrun.
    drop(proactor);
    assert_eq!(
        ran.recv_timeout(JOB_TIMEOUT),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
    let _ = release.send(());
}

#[test]
fn a_thread_limit_of_zero_is_refused() {
    let error = Proactor::with_blocking_threads(0).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(error.to_string(), "blocking thread limit 0 under minimum 1");
}

#[test]
fn the_default_pool_runs_more_jobs_than_its_thread_limit() {
    let proactor = Proactor::new().unwrap();
    let jobs = DEFAULT_MAX_BLOCKING_THREADS * 3;
    let (tx, rx) = mpsc::channel();
    for _ in 0..jobs {
        let tx = tx.clone();
        proactor.spawn_blocking(Box::new(move || {
            thread::sleep(Duration::from_millis(1));
            let _ = tx.send(());
        }));
    }
    for job in 0..jobs {
        assert!(
            rx.recv_timeout(JOB_TIMEOUT).is_ok(),
            "job {job} of {jobs} never ran"
        );
    }
}
