//! Running requests: many at once from worker threads, or one after another.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::stats::Stats;

/// Errors kept as examples per run.
const ERROR_SAMPLES: usize = 3;

/// What a run measured, with a few of its errors.
pub struct Measured {
    pub stats: Stats,
    pub latencies: Vec<Duration>,
    pub error_samples: Vec<String>,
}

/// Runs `work(client, i)` for `i` in `0..total` from `concurrency` threads, each with its
/// own client; each call is one timed request standing for `ops_each` operations.
pub(crate) fn parallel<F>(
    client: &Client,
    concurrency: usize,
    total: usize,
    ops_each: usize,
    work: F,
) -> Measured
where
    F: Fn(&Client, usize) -> Result<(), String> + Sync,
{
    let next = AtomicUsize::new(0);
    let results = Mutex::new((Vec::with_capacity(total), 0usize, Vec::new()));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency.max(1) {
            let client = client.fork();
            let (next, results, work) = (&next, &results, &work);
            scope.spawn(move || {
                let (mut latencies, mut errors, mut samples) = (Vec::new(), 0, Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let began = Instant::now();
                    let outcome = work(&client, i);
                    latencies.push(began.elapsed());
                    if let Err(error) = outcome {
                        errors += 1;
                        if samples.len() < ERROR_SAMPLES {
                            samples.push(error);
                        }
                    }
                }
                let mut all = results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                all.0.extend(latencies);
                all.1 += errors;
                all.2.extend(samples);
            });
        }
    });
    let wall = started.elapsed();
    let (mut latencies, errors, mut error_samples) = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    error_samples.truncate(ERROR_SAMPLES);
    let stats = Stats::new(&mut latencies, wall, total * ops_each, errors);
    Measured {
        stats,
        latencies,
        error_samples,
    }
}

/// Runs `work(i)` for `i` in `0..total` one after another (paging, one growing group).
pub(crate) fn sequential<F>(total: usize, ops_each: usize, mut work: F) -> Measured
where
    F: FnMut(usize) -> Result<(), String>,
{
    let (mut latencies, mut errors, mut error_samples) = (Vec::new(), 0, Vec::new());
    let started = Instant::now();
    for i in 0..total {
        let began = Instant::now();
        let outcome = work(i);
        latencies.push(began.elapsed());
        if let Err(error) = outcome {
            errors += 1;
            if error_samples.len() < ERROR_SAMPLES {
                error_samples.push(error);
            }
        }
    }
    let wall = started.elapsed();
    let in_order = latencies.clone();
    let stats = Stats::new(&mut latencies, wall, total * ops_each, errors);
    Measured {
        stats,
        latencies: in_order,
        error_samples,
    }
}
