//! The arithmetic behind a replay's verdict: how sure a measured reproduction rate is (an exact
//! Clopper-Pearson lower bound), how many attempts without a reproduction make "fixed" a claim at
//! a given confidence, and how such a probability is written for a reader.
//!
//! A reproduction verified at `k` of `n` attempts has a rate whose true value may be lower than
//! `k / n`; replay plans with the rate's lower bound, so that a lucky verification cannot make a
//! short replay look conclusive. With that bound `p`, `N` attempts that all miss happen with
//! probability `(1 - p)^N` while the bug is still there; "fixed" is said when that is at most
//! `1 - confidence`.

/// The level of the verified rate's lower bound: the true rate is at least the bound with this
/// probability.
pub const RATE_LEVEL: f64 = 0.95;

/// The probability of at least `k` successes in `n` trials of probability `p`.
fn at_least(k: u32, n: u32, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // Terms in log space: n is at most a few thousand, so the sum is exact enough.
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut total = 0.0;
    for i in 0..=n {
        if i > 0 {
            ln_choose += f64::from(n - i + 1).ln() - f64::from(i).ln();
        }
        if i >= k {
            total += (ln_choose + f64::from(i) * ln_p + f64::from(n - i) * ln_q).exp();
        }
    }
    total.min(1.0)
}

/// The one-sided lower bound of a rate seen `k` times in `n` at [`RATE_LEVEL`] (Clopper-Pearson:
/// the rate at which `k` or more successes would happen only `1 - level` of the time).
pub fn rate_lower_bound(k: u32, n: u32) -> f64 {
    if k == 0 || n == 0 {
        return 0.0;
    }
    let alpha = 1.0 - RATE_LEVEL;
    if k == n {
        // Closed form: p^n = alpha.
        return alpha.powf(1.0 / f64::from(n));
    }
    let (mut low, mut high) = (0.0_f64, f64::from(k) / f64::from(n));
    for _ in 0..80 {
        let middle = (low + high) / 2.0;
        if at_least(k, n, middle) < alpha {
            low = middle;
        } else {
            high = middle;
        }
    }
    low
}

/// Attempts that must all miss before a bug reproducing at `rate` per attempt counts as gone at
/// `confidence`; `None` when no number can (a rate of zero).
pub fn attempts_for(rate: f64, confidence: f64) -> Option<u32> {
    if rate <= 0.0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    if rate >= 1.0 {
        return Some(1);
    }
    let needed = ((1.0 - confidence).ln() / (1.0 - rate).ln()).ceil();
    Some(needed.max(1.0) as u32)
}

/// The probability that `attempts` attempts all miss a bug reproducing at `rate`.
pub fn all_miss(rate: f64, attempts: u32) -> f64 {
    (1.0 - rate.clamp(0.0, 1.0)).powf(f64::from(attempts))
}

/// A probability close to 1 as a reader takes it: `99.97 %`, or `1 - 6e-19` when the
/// percentage would round to 100.
pub fn near_certain(miss: f64) -> String {
    if miss <= 0.0 {
        "1".to_owned()
    } else if miss < 5e-5 {
        format!("1 - {miss:.0e}")
    } else {
        format!("{} %", percent(1.0 - miss))
    }
}

/// `0.6543` as `65.43`, trailing zeros dropped (`70`, `99.9`, `99.97`).
pub fn percent(fraction: f64) -> String {
    let text = format!("{:.2}", fraction * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_bound_matches_clopper_pearson_tables() {
        // One-sided 95 % bounds (R: binom.test(k, n, alternative = "greater")$conf.int[1]).
        for (k, n, want) in [
            (10, 10, 0.741_134),
            (7, 10, 0.393_376),
            (1, 10, 0.005_116),
            (47, 50, 0.852_163),
        ] {
            let got = rate_lower_bound(k, n);
            assert!(
                (got - want).abs() < 1e-5,
                "{k}/{n}: lower bound {got}, expected {want}"
            );
        }
        assert_eq!(rate_lower_bound(0, 10), 0.0, "nothing seen bounds nothing");
    }

    #[test]
    fn attempts_are_the_fewest_that_reach_the_confidence() {
        let needed = attempts_for(0.65, 0.999).expect("a positive rate");
        assert_eq!(needed, 7, "0.35^7 = 6.4e-4 <= 1e-3 < 0.35^6 = 1.8e-3");
        assert!(
            all_miss(0.65, needed) <= 0.001 && all_miss(0.65, needed - 1) > 0.001,
            "the bound is tight"
        );
        assert_eq!(
            attempts_for(1.0, 0.999),
            Some(1),
            "a certain bug shows at once"
        );
        assert_eq!(
            attempts_for(0.0, 0.999),
            None,
            "a rate of zero never concludes"
        );
    }

    #[test]
    fn probabilities_read_as_a_person_says_them() {
        assert_eq!(
            near_certain(all_miss(0.65, 40)),
            "1 - 6e-19",
            "the issue's example"
        );
        assert_eq!(
            near_certain(0.0003),
            "99.97 %",
            "a percentage while it is not 100"
        );
        assert_eq!(percent(0.7), "70", "no trailing zeros");
    }
}
