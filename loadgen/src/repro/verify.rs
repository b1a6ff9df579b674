//! `loadgen repro`'s proof by experiment: the candidate pairs of [`super::derive::candidates`],
//! in order, each replayed against the target for a few attempts; the search stops at the first
//! that reproduces at a high rate, or when its time is up, and keeps the best. Shrinking by
//! experiment (as QuickCheck and RapidCheck shrink a failing case by trying smaller ones), with
//! the inference from timestamps as the order of the tries.

use std::time::{Duration, Instant};

use super::{
    confidence,
    file::{Repro, Verified},
    replay::{self, Conclusion, Replayed},
};

/// Settings of the search.
#[derive(Debug, Clone)]
pub struct Search {
    pub base_url: String,
    /// Attempts per candidate that must exercise the race.
    pub attempts: u32,
    /// The whole search's time.
    pub budget: Duration,
    pub timeout: Duration,
    pub stagger: Duration,
    pub pause: Duration,
}

/// A rate at which the search stops looking further.
pub const HIGH_RATE: f64 = 0.8;

/// One candidate's tries.
#[derive(Debug)]
pub struct Tried {
    /// Its number, from 1, in the candidates' order.
    pub number: usize,
    pub repro: Repro,
    pub replayed: Replayed,
}

impl Tried {
    fn rate(&self) -> f64 {
        f64::from(self.replayed.reproduced) / f64::from(self.replayed.ran.max(1))
    }
}

/// What the search found.
#[derive(Debug)]
pub struct Found {
    /// The best candidate, its `[verified]` filled; `None` when none reproduced.
    pub best: Option<Repro>,
    pub tried: Vec<Tried>,
    /// A set-up error every candidate met (a wrong description, an unreachable target).
    pub setup: Option<String>,
    /// Candidates left untried when the time was up.
    pub untried: usize,
}

/// A candidate in a few words: `observer me (GET /users/me) together with victim create (POST
/// /items/), then read`.
pub fn describe(repro: &Repro) -> String {
    format!(
        "observer {} `{}` {} victim {} `{}`{}",
        repro.observer.race,
        repro.observer.request,
        match repro.race.order {
            super::file::Order::Together => "together with",
            super::file::Order::TogetherVictimFirst => "together (victim's released first) with",
            super::file::Order::VictimFirst => "after",
            super::file::Order::ObserverFirst => "before",
        },
        repro.victim.race,
        repro.victim.request,
        repro
            .observer
            .then
            .as_ref()
            .map(|then| format!(", then {then}"))
            .unwrap_or_default()
    )
}

/// Tries `candidates` in order; `progress` gets one line per candidate.
pub async fn search(
    candidates: Vec<Repro>,
    search: &Search,
    mut progress: impl FnMut(&str),
) -> Found {
    let started = Instant::now();
    let deadline = started + search.budget;
    let total = candidates.len();
    let mut tried: Vec<Tried> = Vec::new();
    let mut setup: Option<String> = None;
    let mut all_setup = true;
    let mut untried = 0;
    for (index, mut repro) in candidates.into_iter().enumerate() {
        if Instant::now() >= deadline {
            untried = total - index;
            progress(&format!(
                "repro: the search's {} are up; {untried} candidate(s) left untried",
                shared::duration::format_duration(search.budget)
            ));
            break;
        }
        repro.race.stagger = Some(shared::duration::format_duration(search.stagger));
        repro.race.pause =
            (!search.pause.is_zero()).then(|| shared::duration::format_duration(search.pause));
        let options = replay::Options {
            base_url: search.base_url.clone(),
            attempts: Some(search.attempts),
            confidence: replay::DEFAULT_CONFIDENCE,
            timeout: search.timeout,
            stagger: Some(search.stagger),
            pause: Some(search.pause),
            emit_curl: None,
            // A pair whose race the target does not let overlap is a poor candidate: move on.
            most_tries: Some(search.attempts + 2),
        };

        let replayed = replay::replay_until(&repro, &options, Some(deadline.into())).await;
        let number = index + 1;
        let line = match replayed.conclusion() {
            Conclusion::SetupError if replayed.pair_error => {
                let why = replayed.setup.clone().unwrap_or_default();
                setup.get_or_insert(why.clone());
                format!(
                    "repro: candidate {number}/{total}: {}: cannot be sent: {why}",
                    describe(&repro)
                )
            }
            Conclusion::SetupError => {
                // The set-up (register, log in, create) is the same for every candidate: its
                // error would stop each of them the same way.
                return Found {
                    best: None,
                    tried,
                    setup: replayed.setup.clone(),
                    untried: total - index,
                };
            }
            _ => {
                all_setup = false;
                let mut line = format!(
                    "repro: candidate {number}/{total}: {}: {}/{} reproduced",
                    describe(&repro),
                    replayed.reproduced,
                    replayed.ran
                );
                if replayed.not_exercised > 0 {
                    line.push_str(&format!(
                        " ({} attempt(s) did not exercise the race)",
                        replayed.not_exercised
                    ));
                }
                let findings = replayed.seen.observer_findings();
                if replayed.reproduced == 0 && !findings.is_empty() {
                    line.push_str(&format!("; the observer saw {}", findings.join(", ")));
                }
                line
            }
        };
        progress(&format!(
            "{line} [{:.1} s]",
            started.elapsed().as_secs_f64()
        ));
        let done = Tried {
            number,
            repro,
            replayed,
        };
        let high = done.replayed.ran >= search.attempts && done.rate() >= HIGH_RATE;
        tried.push(done);
        if high {
            untried = total - number;
            break;
        }
    }
    let best = tried
        .iter()
        .filter(|t| t.replayed.reproduced > 0)
        // The highest rate; of equal rates, the earlier candidate.
        .min_by(|a, b| b.rate().total_cmp(&a.rate()).then(a.number.cmp(&b.number)))
        .map(|t| {
            let mut repro = t.repro.clone();
            let (ran, reproduced) = (t.replayed.ran, t.replayed.reproduced);
            repro.verified = Some(Verified {
                rate: round(f64::from(reproduced) / f64::from(ran.max(1))),
                attempts: ran,
                reproduced,
                rate_lower_bound: round(confidence::rate_lower_bound(reproduced, ran)),
                at: now_utc(),
                base_url: search.base_url.clone(),
                candidate: t.number as u32,
                candidates_tried: tried.len() as u32,
            });
            repro
        });
    Found {
        best,
        setup: if all_setup { setup } else { None },
        tried,
        untried,
    }
}

/// Four decimals are what a reader needs (and the bound is rounded down by at most 5e-5).
fn round(value: f64) -> f64 {
    ((value * 1e4).floor()) / 1e4
}

/// Now, as RFC 3339 UTC to the second.
fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.to_string())
}
