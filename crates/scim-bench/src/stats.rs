//! What a run of requests measured: throughput, latency percentiles, errors.

use std::time::Duration;

use serde::Serialize;

/// One scenario's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// Operations done (requests, or users for /Bulk).
    pub ops: usize,
    pub seconds: f64,
    pub ops_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that failed or answered other than expected.
    pub errors: usize,
}

impl Stats {
    /// From each request's latency, the wall time of the whole run, the operations each
    /// request stood for, and the errors.
    pub fn new(latencies: &mut [Duration], wall: Duration, ops: usize, errors: usize) -> Self {
        latencies.sort_unstable();
        let seconds = wall.as_secs_f64();
        Self {
            ops,
            seconds,
            ops_per_second: if seconds > 0.0 {
                ops as f64 / seconds
            } else {
                0.0
            },
            p50_ms: millis(percentile(latencies, 50.0)),
            p99_ms: millis(percentile(latencies, 99.0)),
            errors,
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The nearest-rank percentile of sorted latencies (zero when there are none).
pub fn percentile(sorted: &[Duration], percent: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut ms: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let stats = Stats::new(&mut ms, Duration::from_secs(2), 100, 1);
        assert_eq!((stats.p50_ms, stats.p99_ms), (50.0, 99.0));
        assert_eq!(stats.ops_per_second, 50.0);
        assert_eq!(stats.errors, 1);
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Duration::from_millis(7)
        );
    }
}
