//! A latency distribution: an HdrHistogram (1 µs to 1 h, 3 significant digits) plus the exact
//! count, sum, min and max, with a percentile whose definition is written down and tested.
//!
//! **Percentile (nearest rank).** For `n` samples and a quantile `q` given in parts per 100,000,
//! the rank is `r = max(1, ceil(n * q / 100000))`, computed in integers, and the exact percentile is
//! the `r`-th smallest sample, i.e. the smallest recorded value `v` such that at least `q` of the
//! samples are `<= v`. The histogram answers the highest value equivalent to that sample (same
//! bucket, so within 0.1 %), clamped into the exact `[min, max]`; so p100 is the exact max and no
//! percentile ever exceeds it. Goose and Locust rounded their way into wrong percentiles; the
//! property test below checks this definition against sorted samples.

use std::time::Duration;

use base64::Engine;
use hdrhistogram::{
    Histogram,
    serialization::{Deserializer, Serializer, V2DeflateSerializer},
};

/// Highest latency the histogram tracks exactly, in microseconds (one hour); longer ones saturate.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits kept by the histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A quantile in parts per 100,000 (so p99.9 is exact: 99,900), avoiding float rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantile(pub u32);

impl Quantile {
    pub const P50: Self = Self(50_000);
    pub const P90: Self = Self(90_000);
    pub const P95: Self = Self(95_000);
    pub const P99: Self = Self(99_000);
    pub const P999: Self = Self(99_900);
    pub const MAX: Self = Self(100_000);

    /// 1-based nearest rank among `n` samples.
    pub fn rank(self, n: u64) -> u64 {
        let product = u128::from(n) * u128::from(self.0);
        (product.div_ceil(100_000) as u64).max(1)
    }
}

/// Latencies of one request name over some time (an interval, or the whole run).
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, HIGHEST_US, SIGNIFICANT_DIGITS)
                .expect("static histogram bounds are valid"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(ns / 1_000);
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds every sample of `other` (exact: same bounds).
    pub fn merge(&mut self, other: &Latency) {
        if other.count() == 0 {
            return;
        }
        self.histogram
            .add(&other.histogram)
            .expect("histograms share their bounds");
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Empties the distribution, keeping the histogram's memory for reuse (a fresh one is
    /// ~190 KB to allocate and zero).
    pub fn clear(&mut self) {
        if self.count() > 0 {
            self.histogram.reset();
        }
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
    }

    /// Samples at or below `us` microseconds (at the histogram's resolution): a cumulative
    /// bucket for Prometheus and the HTML histogram.
    pub fn count_at_or_below_us(&self, us: u64) -> u64 {
        if self.count() == 0 {
            return 0;
        }
        self.histogram.count_between(0, us)
    }

    /// Exact sum of every sample.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.sum_ns).unwrap_or(u64::MAX))
    }

    /// Exact mean (from the exact sum), zero when empty.
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => Duration::from_nanos((self.sum_ns / u128::from(n)) as u64),
        }
    }

    /// Exact minimum, zero when empty.
    pub fn min(&self) -> Duration {
        if self.count() == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.min_ns)
        }
    }

    /// Exact maximum, zero when empty.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }

    /// The nearest-rank percentile (see the module doc), in microseconds; 0 when empty.
    pub fn percentile_us(&self, quantile: Quantile) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = quantile.rank(n);
        let mut seen = 0;
        let mut answer = self.histogram.max();
        for bucket in self.histogram.iter_recorded() {
            seen += bucket.count_at_value();
            if seen >= rank {
                answer = self
                    .histogram
                    .highest_equivalent(bucket.value_iterated_to());
                break;
            }
        }
        let (min_us, max_us) = (self.min_ns / 1_000, (self.max_ns / 1_000).min(HIGHEST_US));
        answer.clamp(min_us, max_us)
    }

    pub fn percentile(&self, quantile: Quantile) -> Duration {
        Duration::from_micros(self.percentile_us(quantile))
    }

    /// Whether two microsecond values fall in the same histogram bucket.
    pub fn equivalent_us(&self, a: u64, b: u64) -> bool {
        self.histogram.equivalent(a, b)
    }

    /// The histogram in HdrHistogram's compressed V2 format, base64: the form of `.hlog` files,
    /// so two runs can be merged exactly later (`HdrHistogram` decoders in any language read it).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.histogram, &mut bytes)
            .expect("serializing into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A distribution read back from a report: the histogram [`Latency::encode`] wrote, with the
    /// exact min, max and mean printed beside it (the histogram alone knows them only to 0.1 %).
    /// The sum is `mean * count`, exact to the nanosecond per sample.
    pub fn decode_exact(
        encoded: &str,
        min: Duration,
        max: Duration,
        mean: Duration,
    ) -> Result<Self, DecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| DecodeError(format!("not base64: {e}")))?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| DecodeError(format!("not an HdrHistogram: {e:?}")))?;
        let mut latency = Self::new();
        latency
            .histogram
            .add(&decoded)
            .map_err(|e| DecodeError(format!("values outside 1 us .. 1 h: {e:?}")))?;
        let count = latency.count();
        if count > 0 {
            latency.min_ns = u64::try_from(min.as_nanos()).unwrap_or(u64::MAX);
            latency.max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
            latency.sum_ns = mean.as_nanos() * u128::from(count);
        }
        Ok(latency)
    }

    /// Reads back what [`Latency::encode`] wrote (histogram only: the exact sum, min and max are
    /// not in the format, so they come from the histogram's resolution); `None` if malformed.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .ok()?;
        let mut latency = Self::new();
        latency.histogram.add(&decoded).ok()?;
        if latency.count() > 0 {
            latency.min_ns = decoded.min().saturating_mul(1_000);
            latency.max_ns = decoded.max().saturating_mul(1_000);
            latency.sum_ns = (decoded.mean() * decoded.len() as f64 * 1_000.0) as u128;
        }
        Some(latency)
    }
}

/// A report's histogram that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(sorted: &[u64], quantile: Quantile) -> u64 {
        sorted[quantile.rank(sorted.len() as u64) as usize - 1]
    }

    const QUANTILES: [Quantile; 6] = [
        Quantile::P50,
        Quantile::P90,
        Quantile::P95,
        Quantile::P99,
        Quantile::P999,
        Quantile::MAX,
    ];

    #[test]
    fn rank_is_the_integer_ceiling() {
        assert_eq!(Quantile::P50.rank(10), 5, "p50 of 10 is the 5th");
        assert_eq!(
            Quantile::P50.rank(11),
            6,
            "p50 of 11 is the 6th (rounded up)"
        );
        assert_eq!(Quantile::P99.rank(100), 99, "p99 of 100 is the 99th");
        assert_eq!(
            Quantile::P99.rank(101),
            100,
            "p99 of 101 is the 100th (rounded up)"
        );
        assert_eq!(Quantile::P999.rank(1000), 999, "p99.9 of 1000 is the 999th");
        assert_eq!(Quantile::P999.rank(1), 1, "a rank is at least 1");
        assert_eq!(Quantile(0).rank(7), 1, "the 0th quantile is the first");
        assert_eq!(Quantile::MAX.rank(7), 7, "the max quantile is the last");
    }

    #[test]
    fn small_exact_values_are_exact() {
        let mut latency = Latency::new();
        for us in 1..=100 {
            latency.record(Duration::from_micros(us));
        }
        assert_eq!(
            latency.percentile_us(Quantile::P50),
            50,
            "p50 of 1..=100 us is 50 us"
        );
        assert_eq!(
            latency.percentile_us(Quantile::P90),
            90,
            "p90 of 1..=100 us is 90 us"
        );
        assert_eq!(
            latency.percentile_us(Quantile::P99),
            99,
            "p99 of 1..=100 us is 99 us"
        );
        assert_eq!(
            latency.percentile_us(Quantile::P999),
            100,
            "p99.9 of 1..=100 us is 100 us"
        );
        assert_eq!(
            latency.mean(),
            Duration::from_nanos(50_500),
            "the mean of 1..=100 us is 50.5 us"
        );
        assert_eq!(latency.min(), Duration::from_micros(1), "the min is 1 us");
        assert_eq!(
            latency.max(),
            Duration::from_micros(100),
            "the max is 100 us"
        );
    }

    #[test]
    fn empty_distribution_reports_zeros() {
        let latency = Latency::new();
        assert_eq!(
            latency.percentile_us(Quantile::P99),
            0,
            "an empty histogram's p99 is 0"
        );
        assert_eq!(
            latency.mean(),
            Duration::ZERO,
            "an empty histogram's mean is 0"
        );
        assert_eq!(
            latency.min(),
            Duration::ZERO,
            "an empty histogram's min is 0"
        );
    }

    #[test]
    fn a_decoded_histogram_answers_what_the_original_did() {
        let mut latency = Latency::new();
        for us in [3, 70, 900, 12_000, 450_000, 2_000_000] {
            latency.record(Duration::from_micros(us));
        }
        let back = Latency::decode_exact(
            &latency.encode(),
            latency.min(),
            latency.max(),
            latency.mean(),
        )
        .expect("decodes");
        assert_eq!(
            back.count(),
            latency.count(),
            "a decoded histogram has every sample"
        );
        for quantile in QUANTILES {
            assert_eq!(
                back.percentile_us(quantile),
                latency.percentile_us(quantile),
                "every decoded percentile matches the original"
            );
        }
        assert_eq!(
            (back.min(), back.max(), back.mean()),
            (latency.min(), latency.max(), latency.mean()),
            "the decoded min, max and mean match the original"
        );
        assert!(
            Latency::decode_exact("!!", Duration::ZERO, Duration::ZERO, Duration::ZERO).is_err(),
            "a histogram text that is not base64 is refused"
        );
    }

    proptest! {
        #[test]
        fn percentiles_match_sorted_samples(
            samples in prop::collection::vec(
                prop_oneof![0u64..2_000, 0u64..2_000_000, 0u64..HIGHEST_US], 1..400),
            split in 0usize..400,
        ) {
            // Record in two halves and merge, as the collector does with worker shards.
            let split = split.min(samples.len());
            let (mut first, mut second) = (Latency::new(), Latency::new());
            for &us in &samples[..split] { first.record(Duration::from_micros(us)); }
            for &us in &samples[split..] { second.record(Duration::from_micros(us)); }
            first.merge(&second);
            let mut sorted = samples.clone();
            sorted.sort_unstable();
            prop_assert_eq!(first.count(), samples.len() as u64, "the merged histogram counts both halves");
            for quantile in QUANTILES {
                let want = exact(&sorted, quantile);
                let got = first.percentile_us(quantile);
                prop_assert!(
                    first.equivalent_us(got, want),
                    "q={:?} got {} want {}", quantile, got, want
                );
                prop_assert!(got >= want, "never below the exact sample");
                prop_assert!(got <= *sorted.last().unwrap(), "q={:?}: a percentile never exceeds the largest sample", quantile);
            }
            prop_assert_eq!(first.percentile_us(Quantile::MAX), *sorted.last().unwrap(), "the max quantile is the largest sample");
            let sum: u64 = samples.iter().sum();
            prop_assert_eq!(first.mean().as_nanos(), u128::from(sum) * 1000 / samples.len() as u128, "the mean is exact to the nanosecond");
        }
    }
}
