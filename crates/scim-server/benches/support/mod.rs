//! What the bench binaries share: timing, medians and their size knobs.

use std::time::{Duration, Instant};

/// How long `work` takes.
pub(crate) fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

/// The median of the samples (zero for none).
pub(crate) fn median(samples: impl Iterator<Item = Duration>) -> Duration {
    let mut all: Vec<Duration> = samples.collect();
    all.sort();
    all.get(all.len() / 2).copied().unwrap_or_default()
}

/// A numeric environment variable, or `default`.
pub(crate) fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
