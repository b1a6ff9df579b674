//! `loadgen replay` of one file: attempts of the racing pair ([`super::attempt`]) until enough of
//! them exercised the race, then a verdict that is a measured claim:
//! - REPRODUCED when any attempt gave the observer the expected verdict;
//! - FIXED only when none did in enough attempts that, at the file's verified rate (its lower
//!   bound), the bug would have shown with probability at least `--confidence`;
//! - NOT REPRODUCED (inconclusive) otherwise: too few attempts, a file without a verified rate,
//!   settings other than the verified ones, or attempts whose race did not overlap (they count
//!   as nothing, not as misses).
//!
//! Every answer of every attempt is counted ([`Seen`]) and shown with the verdict.

use std::{path::PathBuf, sync::Arc, time::Duration};

use super::{
    attempt::{self, Settings, Stopped},
    confidence,
    curl::{self, Sent},
    file::{Order, Repro, Verified},
    seen::Seen,
};
use crate::client::{self, Target};

/// Settings of a replay.
#[derive(Debug, Clone)]
pub struct Options {
    pub base_url: String,
    /// Attempts that must exercise the race; `None`: as many as `confidence` needs at the
    /// file's verified rate.
    pub attempts: Option<u32>,
    pub confidence: f64,
    pub timeout: Duration,
    /// Between the observer's last byte and the victim's; `None`: the file's (else 1 ms).
    pub stagger: Option<Duration>,
    /// Between attempts; `None`: the file's (else none).
    pub pause: Option<Duration>,
    pub emit_curl: Option<PathBuf>,
    /// Attempts sent at most; `None`: three per attempt that must exercise the race, plus five.
    pub most_tries: Option<u32>,
}

impl Options {
    /// Options with the file's settings and attempts chosen for 99.9 % confidence.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            attempts: None,
            confidence: DEFAULT_CONFIDENCE,
            timeout: Duration::from_secs(10),
            stagger: None,
            pause: None,
            emit_curl: None,
            most_tries: None,
        }
    }
}

/// `--confidence`'s default.
pub const DEFAULT_CONFIDENCE: f64 = 0.999;

/// Attempts of a file without a verified rate (it can reproduce, never be called fixed).
pub const UNVERIFIED_ATTEMPTS: u32 = 20;

/// The default stagger when neither the file nor the flag names one.
pub const DEFAULT_STAGGER: Duration = Duration::from_millis(1);

/// What one file's replay concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Reproduced,
    /// The expected verdict never showed, but other violations did: a race is still there.
    Violated,
    Fixed,
    Inconclusive,
    SetupError,
}

impl Conclusion {
    /// The exit code: 1 reproduced, 0 fixed, 2 set-up error, 3 inconclusive.
    pub fn code(self) -> u8 {
        match self {
            Conclusion::Fixed => 0,
            Conclusion::Reproduced | Conclusion::Violated => 1,
            Conclusion::SetupError => 2,
            Conclusion::Inconclusive => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Conclusion::Fixed => "FIXED",
            Conclusion::Reproduced => "REPRODUCED",
            Conclusion::Violated => "VIOLATED",
            Conclusion::SetupError => "SET-UP ERROR",
            Conclusion::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What the attempts gave.
#[derive(Debug, Default, Clone)]
pub struct Replayed {
    /// Attempts that had to exercise the race.
    pub planned: u32,
    /// Whether `planned` came from `--attempts` (else from the confidence).
    pub planned_by_flag: bool,
    /// Attempts sent (set-ups that had to be redone are not counted again).
    pub tried: u32,
    /// Attempts that exercised the race (both answered; released together, they overlapped).
    pub ran: u32,
    pub reproduced: u32,
    /// Attempts whose two answers did not overlap in time, and the first reason.
    pub not_exercised: u32,
    pub not_exercised_why: Option<String>,
    /// Attempts whose racing pair got no answer, and the first reason.
    pub no_answer: u32,
    pub no_answer_why: Option<String>,
    /// Every answer, counted.
    pub seen: Seen,
    /// What the expected verdict is, in words.
    pub expected: String,
    /// A set-up error (exit 2).
    pub setup: Option<String>,
    /// Whether that error is of this racing pair only (another pair of the same file may run).
    pub pair_error: bool,
    /// Set-ups that stopped and were done again with fresh users, and the first one's reason.
    pub setups_redone: u32,
    pub redone_because: Option<String>,
    /// With two possible orders (`or-else`), the one that reproduced first, kept from then on.
    pub kept_order: Option<Order>,
    /// The orders tried, in words, when the file gives two.
    pub orders: Option<String>,
    /// The file's verified rate.
    pub verified: Option<Verified>,
    pub confidence: f64,
    /// Why the verified rate does not apply to this replay (other settings than it was
    /// measured with).
    pub rate_void: Option<String>,
}

impl Replayed {
    /// The verdict.
    pub fn conclusion(&self) -> Conclusion {
        if self.setup.is_some() {
            Conclusion::SetupError
        } else if self.reproduced > 0 {
            Conclusion::Reproduced
        } else if !self.seen.violations().is_empty() {
            Conclusion::Violated
        } else if self.conclusive_miss().is_some() {
            Conclusion::Fixed
        } else {
            Conclusion::Inconclusive
        }
    }

    /// 1 reproduced, 0 fixed, 2 set-up error, 3 inconclusive.
    pub fn code(&self) -> u8 {
        self.conclusion().code()
    }

    /// The rate replay plans with: the verified rate's lower bound, when it applies.
    fn planning_rate(&self) -> Option<f64> {
        match (&self.verified, &self.rate_void) {
            (Some(verified), None) if verified.rate_lower_bound > 0.0 => {
                Some(verified.rate_lower_bound)
            }
            _ => None,
        }
    }

    /// With no reproduction in `ran` attempts: the chance of that at the rate's lower bound,
    /// when it is small enough for the confidence.
    fn conclusive_miss(&self) -> Option<f64> {
        let rate = self.planning_rate()?;
        let miss = confidence::all_miss(rate, self.ran);
        (self.ran > 0 && miss <= 1.0 - self.confidence + 1e-12).then_some(miss)
    }

    /// Attempts that would make a miss conclusive at the confidence, when any number can.
    pub fn attempts_needed(&self) -> Option<u32> {
        confidence::attempts_for(self.planning_rate()?, self.confidence)
    }

    /// What was seen, then the verdict line last.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(orders) = &self.orders {
            match self.kept_order {
                Some(kept) => out.push_str(&format!(
                    "\norder {}: it reproduced first of {orders}, kept from then on",
                    kept.name()
                )),
                None => out.push_str(&format!("\nboth orders tried in turn: {orders}")),
            }
        }
        if self.not_exercised > 0 {
            out.push_str(&format!(
                "\n{} attempt(s) did not count: {}",
                self.not_exercised,
                self.not_exercised_why.as_deref().unwrap_or("?")
            ));
        }
        if self.no_answer > 0 {
            out.push_str(&format!(
                "\n{} attempt(s) got no answer to the racing pair: {}",
                self.no_answer,
                self.no_answer_why.as_deref().unwrap_or("?")
            ));
        }
        if self.setups_redone > 0 {
            out.push_str(&format!(
                "\n{} set-up(s) stopped and were done again with fresh users (a race under the bug can break a lone set-up too); the first: {}",
                self.setups_redone,
                self.redone_because.as_deref().unwrap_or("?")
            ));
        }
        if !self.seen.rows.is_empty() {
            out.push_str(&format!(
                "\nwhat came back ({} attempt(s); phase, role, step, verdict, count):\n{}",
                self.tried,
                self.seen.table().trim_end()
            ));
        }
        out.push('\n');
        out.push_str(&self.verdict_line());
        out.trim_start().to_owned()
    }

    /// The one line that says the verdict and why.
    pub fn verdict_line(&self) -> String {
        if let Some(setup) = &self.setup {
            return format!("replay: set-up error: {setup}");
        }
        let rate = self.verified_text();
        match self.conclusion() {
            Conclusion::Reproduced => format!(
                "REPRODUCED {}/{}: {} ({} % of the attempts that exercised the race{})",
                self.reproduced,
                self.ran,
                self.expected,
                confidence::percent(f64::from(self.reproduced) / f64::from(self.ran.max(1))),
                rate.map(|r| format!("; verified at {r}"))
                    .unwrap_or_default()
            ),
            Conclusion::Violated => format!(
                "VIOLATED: the expected {} never showed in {} attempts, but the server answered with other violations: {}: a race is still there",
                self.expected,
                self.ran,
                self.seen.violations().join(", ")
            ),
            Conclusion::Fixed => {
                let verified = self.verified.as_ref().expect("fixed needs a verified rate");
                let miss_at_rate = confidence::all_miss(verified.rate, self.ran);
                let miss_at_bound = self.conclusive_miss().unwrap_or(1.0);
                format!(
                    "FIXED: 0 of {} attempts reproduced; at the verified rate of {} the bug would have shown with probability {} ({} even at the rate's lower bound of {} %, >= the {} % asked)",
                    self.ran,
                    rate.unwrap_or_default(),
                    confidence::near_certain(miss_at_rate),
                    confidence::near_certain(miss_at_bound),
                    confidence::percent(verified.rate_lower_bound),
                    confidence::percent(self.confidence)
                )
            }
            Conclusion::Inconclusive => {
                let why = self.inconclusive_why();
                format!(
                    "NOT REPRODUCED (inconclusive): 0 of {} attempts reproduced; {why}",
                    self.ran
                )
            }
            Conclusion::SetupError => unreachable!("handled above"),
        }
    }

    /// `70 % (7 of 10 attempts, 2026-12-06T22:40:11Z against URL)`.
    fn verified_text(&self) -> Option<String> {
        self.verified.as_ref().map(|v| {
            format!(
                "{} % ({} of {} attempts, {} against {})",
                confidence::percent(v.rate),
                v.reproduced,
                v.attempts,
                v.at,
                v.base_url
            )
        })
    }

    fn inconclusive_why(&self) -> String {
        if let Some(void) = &self.rate_void {
            return format!(
                "{void}; FIXED is said only with the settings the rate was measured with (or measure again with `loadgen repro`)"
            );
        }
        let Some(verified) = &self.verified else {
            return "the file has no verified rate (written with --no-verify or by an older loadgen), so no number of misses can say FIXED: run `loadgen repro` against a build with the bug to measure one".to_owned();
        };
        if verified.rate_lower_bound <= 0.0 {
            return "the file's verified rate is zero: it never reproduced, so no number of misses can say FIXED".to_owned();
        }
        let needed = self.attempts_needed().unwrap_or(u32::MAX);
        let mut why = format!(
            "{needed} attempts that exercise the race are needed for {} % confidence at the verified rate's lower bound of {} % ({} of {})",
            confidence::percent(self.confidence),
            confidence::percent(verified.rate_lower_bound),
            verified.reproduced,
            verified.attempts
        );
        if self.ran < needed && self.not_exercised > 0 {
            why.push_str(&format!(
                ", and {} of {} attempts did not exercise it",
                self.not_exercised, self.tried
            ));
        } else if self.planned_by_flag {
            why.push_str(&format!(": run with --attempts {needed} or more"));
        }
        why
    }

    fn tally_no_answer(&mut self, why: String) {
        self.no_answer += 1;
        self.no_answer_why.get_or_insert(why);
    }
}

/// Set-ups of one attempt before its set-up error stops the replay.
const SETUP_TRIES: u32 = 3;

/// Attempts sent at most, per attempt that must exercise the race, before replay gives up
/// waiting for them (plus a few).
const TRIES_PER_ATTEMPT: u32 = 3;

/// The stagger and pause of a replay of `repro` with `options`, and why the verified rate does
/// not apply when they differ from the file's.
pub fn settings(repro: &Repro, options: &Options) -> (Duration, Duration, Option<String>) {
    let parse = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| shared::duration::parse_duration(t).ok())
    };
    let (file_stagger, file_pause) = (parse(&repro.race.stagger), parse(&repro.race.pause));
    let stagger = options.stagger.or(file_stagger).unwrap_or(DEFAULT_STAGGER);
    let pause = options.pause.or(file_pause).unwrap_or(Duration::ZERO);
    let show = shared::duration::format_duration;
    let mut void = None;
    let together = repro.race.order.is_together() || repro.race.or_else.is_some();
    if together && stagger != file_stagger.unwrap_or(DEFAULT_STAGGER) {
        void = Some(format!(
            "--stagger {} differs from the {} the rate was measured with",
            show(stagger),
            show(file_stagger.unwrap_or(DEFAULT_STAGGER))
        ));
    } else if pause != file_pause.unwrap_or(Duration::ZERO) {
        void = Some(format!(
            "--pause {} differs from the {} the rate was measured with",
            show(pause),
            show(file_pause.unwrap_or(Duration::ZERO))
        ));
    }
    (stagger, pause, void)
}

/// Replays `repro`: attempts until enough exercised the race (or too many did not).
pub async fn replay(repro: &Repro, options: &Options) -> Replayed {
    replay_until(repro, options, None).await
}

/// [`replay`], stopping between attempts once `deadline` has passed.
pub async fn replay_until(
    repro: &Repro,
    options: &Options,
    deadline: Option<tokio::time::Instant>,
) -> Replayed {
    let (stagger, pause, rate_void) = settings(repro, options);
    let mut replayed = Replayed {
        expected: attempt::expected_text(repro),
        orders: repro
            .race
            .or_else
            .map(|other| format!("{} and {}", repro.race.order.name(), other.name())),
        verified: repro.verified.clone(),
        confidence: options.confidence,
        rate_void,
        ..Replayed::default()
    };
    replayed.planned = match options.attempts {
        Some(n) => {
            replayed.planned_by_flag = true;
            n
        }
        None => replayed.attempts_needed().unwrap_or(UNVERIFIED_ATTEMPTS),
    };
    let api = match attempt::api_of(repro) {
        Ok(api) => Arc::new(api),
        Err(error) => {
            replayed.setup = Some(error);
            return replayed;
        }
    };
    let target = match Target::resolve_with(&options.base_url, &client::Options::default()).await {
        Ok(target) => Arc::new(target),
        Err(error) => {
            replayed.setup = Some(format!("--base-url {}: {error}", options.base_url));
            return replayed;
        }
    };
    let settings = Settings {
        timeout: options.timeout,
        stagger,
    };
    let most = options
        .most_tries
        .unwrap_or_else(|| replayed.planned.saturating_mul(TRIES_PER_ATTEMPT) + 5);
    while replayed.ran < replayed.planned
        && replayed.tried < most
        && deadline.is_none_or(|deadline| tokio::time::Instant::now() < deadline)
    {
        // Before every attempt, the first too: answers cached by whatever ran just before (the
        // verification, another file of a suite) must not serve it.
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let first = replayed.tried == 0;
        replayed.tried += 1;
        let mut sent = (options.emit_curl.is_some() && first).then(Vec::new);
        // With two possible orders and none reproduced yet, attempts alternate between them.
        let order = match (replayed.kept_order, repro.race.or_else) {
            (Some(kept), _) => kept,
            (None, Some(other)) if replayed.tried.is_multiple_of(2) => other,
            _ => repro.race.order,
        };
        let outcome = match one_attempt(
            repro,
            order,
            &api,
            &target,
            settings,
            &mut sent,
            &mut replayed,
        )
        .await
        {
            Some(outcome) => outcome,
            None => return replayed,
        };
        match outcome {
            Ok(done) if done.reproduced => {
                replayed.ran += 1;
                replayed.reproduced += 1;
                if repro.race.or_else.is_some() {
                    replayed.kept_order.get_or_insert(order);
                }
            }
            Ok(done) => match done.exercised {
                Ok(()) => replayed.ran += 1,
                Err(why) => {
                    replayed.not_exercised += 1;
                    replayed.not_exercised_why.get_or_insert(why);
                }
            },
            Err(Stopped::NoAnswer(why)) => replayed.tally_no_answer(why),
            Err(Stopped::Pair(why)) => {
                replayed.setup = Some(why);
                replayed.pair_error = true;
                return replayed;
            }
            Err(Stopped::Setup(_)) => unreachable!("one_attempt returns set-up errors as None"),
        }
        if let (Some(path), Some(sent)) = (&options.emit_curl, sent) {
            let script = curl::script(repro, &target, &options.base_url, &sent);
            if let Err(error) = std::fs::write(path, script) {
                replayed.setup = Some(format!("cannot write {}: {error}", path.display()));
                return replayed;
            }
        }
    }
    replayed
}

/// One attempt, its set-up done again (with fresh users) up to [`SETUP_TRIES`] times: a wrong
/// description stops every one the same way, while the bug under test (a racy counter gone
/// backwards by an earlier overlap) can break a lone create now and then. `None` when the set-up
/// kept failing (then `replayed.setup` says why).
async fn one_attempt(
    repro: &Repro,
    order: Order,
    api: &Arc<crate::api::Api>,
    target: &Arc<Target>,
    settings: Settings,
    sent: &mut Option<Vec<Sent>>,
    replayed: &mut Replayed,
) -> Option<Result<attempt::Attempt, Stopped>> {
    let mut tries = 0;
    loop {
        tries += 1;
        if let Some(sent) = sent.as_mut() {
            sent.clear();
        }
        let outcome = attempt::run(
            repro,
            order,
            api,
            target,
            settings,
            sent.as_mut(),
            &mut replayed.seen,
        )
        .await;
        match outcome {
            Err(Stopped::Setup(error)) if tries < SETUP_TRIES => {
                replayed.setups_redone += 1;
                replayed.redone_because.get_or_insert(error);
            }
            Err(Stopped::Setup(error)) => {
                replayed.setup = Some(error);
                return None;
            }
            other => return Some(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(reproduced: u32, attempts: u32) -> Verified {
        Verified {
            rate: f64::from(reproduced) / f64::from(attempts),
            attempts,
            reproduced,
            rate_lower_bound: confidence::rate_lower_bound(reproduced, attempts),
            at: "2026-12-06T00:00:00Z".into(),
            base_url: "http://x".into(),
            candidate: 1,
            candidates_tried: 1,
        }
    }

    fn replayed(verified: Option<Verified>, ran: u32, reproduced: u32) -> Replayed {
        Replayed {
            verified,
            ran,
            tried: ran,
            reproduced,
            confidence: DEFAULT_CONFIDENCE,
            expected: "leak seen by the observer".into(),
            ..Replayed::default()
        }
    }

    #[test]
    fn fixed_needs_enough_misses_at_the_verified_rates_lower_bound() {
        // 7 of 10: lower bound 39.3 %, so 14 misses reach 99.9 %.
        let needed = replayed(Some(verified(7, 10)), 0, 0).attempts_needed();
        assert_eq!(needed, Some(14), "0.607^14 < 0.001 < 0.607^13");
        let enough = replayed(Some(verified(7, 10)), 14, 0);
        assert_eq!(
            enough.conclusion(),
            Conclusion::Fixed,
            "{}",
            enough.summary()
        );
        assert!(
            enough
                .verdict_line()
                .starts_with("FIXED: 0 of 14 attempts reproduced; at the verified rate of 70 %"),
            "{}",
            enough.verdict_line()
        );
        let short = replayed(Some(verified(7, 10)), 13, 0);
        assert_eq!(
            short.conclusion(),
            Conclusion::Inconclusive,
            "{}",
            short.summary()
        );
        assert!(
            short
                .verdict_line()
                .contains("14 attempts that exercise the race are needed"),
            "the line says how many would do: {}",
            short.verdict_line()
        );
    }

    #[test]
    fn a_file_without_a_verified_rate_is_never_fixed() {
        let unverified = replayed(None, 500, 0);
        assert_eq!(
            unverified.conclusion(),
            Conclusion::Inconclusive,
            "{}",
            unverified.summary()
        );
        assert_eq!(unverified.code(), 3, "inconclusive has its own exit code");
        let mut void = replayed(Some(verified(10, 10)), 50, 0);
        void.rate_void =
            Some("--stagger 0 differs from the 60ms the rate was measured with".into());
        assert_eq!(
            void.conclusion(),
            Conclusion::Inconclusive,
            "other settings void the rate: {}",
            void.summary()
        );
    }

    #[test]
    fn another_violation_is_never_fixed() {
        use crate::scenario::cities::verdict::Verdict;
        let mut other = replayed(Some(verified(50, 50)), 50, 0);
        let lost = Verdict::Violation {
            outcome: crate::checks::Outcome::LostWrite,
            kind: "lost",
            victim: None,
            record: None,
            expected: String::new(),
            message: "user 0's record was acknowledged, then its read answered 404".into(),
        };
        other.seen.note(
            (super::super::seen::Phase::Race, "observer", "read"),
            "GET /x",
            &lost,
            404,
            b"{}",
        );
        assert_eq!(
            (other.conclusion(), other.code()),
            (Conclusion::Violated, 1),
            "a lost write where a leak was expected is still a race: {}",
            other.summary()
        );
    }

    #[test]
    fn one_reproduction_is_reproduced_whatever_the_rate() {
        let seen = replayed(None, 3, 1);
        assert_eq!(
            seen.conclusion(),
            Conclusion::Reproduced,
            "{}",
            seen.summary()
        );
        assert_eq!(seen.code(), 1, "reproduced is exit 1");
    }
}
