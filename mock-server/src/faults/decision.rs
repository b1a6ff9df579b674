//! Whether a switched-on fault fires on a request: the `p` decision, lock-free and repeatable. The
//! `n`-th request that reaches a fault fires when `splitmix64(seed ^ n) < p`, so a run with the
//! same seed and the same request order fires on the same requests.

use std::sync::atomic::{AtomicU64, Ordering};

use super::params::Common;

/// The decisions of one switched-on fault instance: a counter of the requests that reached it.
#[derive(Debug, Default)]
pub struct Decisions {
    taken: AtomicU64,
}

impl Decisions {
    /// Takes the next decision for `common.p` and `common.seed`.
    pub fn next(&self, common: &Common) -> bool {
        let n = self.taken.fetch_add(1, Ordering::Relaxed);
        decide(common.p.0, common.seed, n)
    }
}

/// The `n`-th decision of a fault with probability `p` and `seed`.
pub fn decide(p: f64, seed: u64, n: u64) -> bool {
    if p >= 1.0 {
        return true;
    }
    if p <= 0.0 {
        return false;
    }
    // 53 random bits as a uniform number in [0, 1).
    let unit = (splitmix64(seed ^ n) >> 11) as f64 / (1u64 << 53) as f64;
    unit < p
}

/// SplitMix64 (Steele, Lea, Flood 2014): a bijective, well-mixed hash of a counter.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_one_always_fires_and_p_zero_never() {
        assert!(
            (0..1000).all(|n| decide(1.0, 9, n)),
            "p=1 fires on every request"
        );
        assert!((0..1000).all(|n| !decide(0.0, 9, n)), "p=0 fires on none");
    }

    #[test]
    fn decisions_repeat_for_a_seed_and_follow_p() {
        let run = |seed| {
            (0..10_000)
                .map(|n| decide(0.3, seed, n))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42), "one seed, one pattern");
        assert_ne!(run(42), run(43), "another seed, another pattern");
        let fired = run(42).iter().filter(|fired| **fired).count();
        // 10,000 draws at p = 0.3: 3,000 expected, standard deviation 46.
        assert!(
            (2800..3200).contains(&fired),
            "{fired} fires are not about 30 %"
        );
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First output of the reference SplitMix64 generator seeded with 0 (state += gamma).
        assert_eq!(
            splitmix64(0),
            0xE220_A839_7B1D_CDAF,
            "not the reference SplitMix64"
        );
    }
}
