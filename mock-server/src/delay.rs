//! Sampling of the `/json` delay, and the run-time switch that `PUT /__admin/config` flips.
//!
//! The delay is an async sleep, so a thousand delayed requests overlap instead of queueing. The
//! current spec sits behind an `ArcSwap`: the request path reads it without taking a lock. A fixed
//! delay (the default, zero) is also kept as plain nanoseconds in an atomic, so the common request
//! reads one integer instead of taking an `ArcSwap` guard.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use shared::delay::DelaySpec;

/// The current delay spec, shared by every request and swappable at run time.
#[derive(Debug, Clone)]
pub struct Delay {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    spec: ArcSwap<DelaySpec>,
    /// The spec's value in nanoseconds when it is `Fixed`, else [`SAMPLED`]. Written after
    /// `spec`: a request racing a change sees either the old fixed value or the new spec.
    fixed_ns: AtomicU64,
}

/// `fixed_ns` when the spec is a distribution (or a fixed value too long for the atomic).
const SAMPLED: u64 = u64::MAX;

fn fixed_ns(spec: &DelaySpec) -> u64 {
    match spec {
        DelaySpec::Fixed(value) => u64::try_from(value.as_nanos())
            .ok()
            .filter(|ns| *ns != SAMPLED)
            .unwrap_or(SAMPLED),
        _ => SAMPLED,
    }
}

impl Delay {
    pub fn new(spec: DelaySpec) -> Self {
        Self {
            shared: Arc::new(Shared {
                fixed_ns: AtomicU64::new(fixed_ns(&spec)),
                spec: ArcSwap::from_pointee(spec),
            }),
        }
    }

    pub fn spec(&self) -> DelaySpec {
        **self.shared.spec.load()
    }

    pub fn set(&self, spec: DelaySpec) {
        let fixed = fixed_ns(&spec);
        self.shared.spec.store(Arc::new(spec));
        self.shared.fixed_ns.store(fixed, Ordering::Release);
    }

    /// Waits for one sample of the current distribution (no await at all when it is zero, and no
    /// random number generator for a fixed delay).
    pub async fn wait(&self) {
        let delay = match self.shared.fixed_ns.load(Ordering::Acquire) {
            SAMPLED => match **self.shared.spec.load() {
                DelaySpec::Fixed(value) => value,
                spec => sample(&spec, &mut rand::rng()),
            },
            fixed => Duration::from_nanos(fixed),
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// Draws one delay from `spec`.
pub fn sample(spec: &DelaySpec, rng: &mut impl Rng) -> Duration {
    match *spec {
        DelaySpec::Fixed(value) => value,
        DelaySpec::Uniform { low, high } => {
            if low == high {
                low
            } else {
                Duration::from_nanos(
                    rng.random_range(low.as_nanos() as u64..=high.as_nanos() as u64),
                )
            }
        }
        DelaySpec::LogNormal { median, sigma } => {
            if median.is_zero() {
                return Duration::ZERO;
            }
            // The median of a log-normal is exp(mu), so mu = ln(median).
            match LogNormal::new(median.as_secs_f64().ln(), sigma) {
                Ok(distribution) => Duration::try_from_secs_f64(distribution.sample(rng))
                    .unwrap_or(Duration::from_secs(3600)),
                Err(_) => median,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn the_fixed_fast_path_follows_every_change_of_spec() {
        let delay = Delay::new(DelaySpec::Fixed(Duration::ZERO));
        assert_eq!(
            delay.shared.fixed_ns.load(Ordering::Relaxed),
            0,
            "zero is fixed"
        );
        delay.set("uniform:100ms..300ms".parse().unwrap());
        assert_eq!(
            delay.shared.fixed_ns.load(Ordering::Relaxed),
            SAMPLED,
            "a distribution is sampled from the spec"
        );
        delay.set(DelaySpec::Fixed(Duration::from_millis(5)));
        assert_eq!(
            delay.shared.fixed_ns.load(Ordering::Relaxed),
            5_000_000,
            "a fixed delay is kept in nanoseconds"
        );
        assert_eq!(
            fixed_ns(&DelaySpec::Fixed(Duration::MAX)),
            SAMPLED,
            "a fixed delay too long for the atomic is read from the spec"
        );
    }

    #[test]
    fn uniform_samples_stay_within_bounds() {
        let spec: DelaySpec = "uniform:100ms..300ms".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let value = sample(&spec, &mut rng);
            assert!(
                (Duration::from_millis(100)..=Duration::from_millis(300)).contains(&value),
                "a uniform 100ms..300ms sample stays within its bounds: {value:?}"
            );
        }
    }

    #[test]
    fn lognormal_median_is_close_to_the_spec() {
        let spec: DelaySpec = "lognormal:200ms,0.3".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut values: Vec<Duration> = (0..10_001).map(|_| sample(&spec, &mut rng)).collect();
        values.sort();
        let median = values[5000].as_secs_f64();
        assert!((0.19..0.21).contains(&median), "median {median}");
    }
}
