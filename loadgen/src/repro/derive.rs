//! One violation's evidence to its racing pair, a pure function: the victim's request in flight
//! while the observer's was; failing that, an earlier pair of the two users' recent requests that
//! overlapped (the race happened a step before the answer that showed it); failing that, the
//! victim's request answered just before the observer's was sent (a shared cache).

use super::file::{Expected, Order, RACE_STEPS, Race, Repro, Role};
use crate::scenario::findings::{Evidence, Span};

/// Why no reproduction could be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    #[error(
        "the evidence has no request times (written by an older loadgen): run again to get them"
    )]
    NoTimes,
    #[error("a `{0}` is not a cross-user race: nothing to replay")]
    NotARace(String),
    #[error("no other user's request overlapped the observer's, nor preceded it: no racing pair")]
    NoPair,
    #[error(
        "the racing step `{0}` cannot be replayed (one of create, read, list, update, delete, me, probe)"
    )]
    Step(String),
}

/// The step a run named, as replay names it (`token` is the `cities` preset's login).
fn canonical(step: &str) -> &str {
    match step {
        "token" => "login",
        "gone" => "read",
        other => other,
    }
}

/// The racing pair of `evidence`, with `base_url` and the description (`api`, inline).
pub fn derive(
    evidence: &Evidence,
    base_url: String,
    api_file: Option<String>,
    api: toml::Table,
) -> Result<Repro, DeriveError> {
    if evidence.class == "timeout" {
        return Err(DeriveError::NotARace(evidence.class.to_string()));
    }
    let (Some(sent), Some(ended)) = (evidence.sent_s, evidence.last_byte_s) else {
        return Err(DeriveError::NoTimes);
    };
    let observed = Span {
        user: evidence.observer,
        step: evidence.step.clone(),
        request: evidence.request.clone(),
        sent_s: sent,
        first_byte_s: evidence.first_byte_s,
        last_byte_s: Some(ended),
    };
    let is_victim = |span: &Span| match evidence.victim {
        Some(victim) => span.user == victim,
        None => span.user != evidence.observer,
    };
    let closest = |spans: &mut dyn Iterator<Item = &Span>, to: f64| -> Option<Span> {
        spans
            .min_by(|a, b| (a.sent_s - to).abs().total_cmp(&(b.sent_s - to).abs()))
            .cloned()
    };
    let answered_before = |s: &&Span| is_victim(s) && s.last_byte_s.is_some_and(|end| end <= sent);
    let latest = |spans: &mut dyn Iterator<Item = &Span>| -> Option<Span> {
        spans.max_by(|a, b| a.sent_s.total_cmp(&b.sent_s)).cloned()
    };
    let in_flight = || evidence.overlapping.iter().filter(|s| is_victim(s));
    // 1. The victim's GET of the same URL answered before the observer's was sent: the data came
    // from a finished request (a shared cache), so the victim asks first.
    // 2. The victim's GET of the same URL overlapping the observer's: who reached the server
    // first decides (a cache the victim filled first, or a shared identity the victim stored
    // last), and the send times tell it only beyond the client's scheduling noise; within it the
    // file names both orders (`or-else`).
    // 3. The victim's request of the same step in flight during the observer's.
    // 4. The overlapping pair of the two users' recent requests sent closest together (the
    // violation's own step then shows it when the pair is earlier: two creates given one id,
    // read back).
    // 5. The victim's latest request answered before.
    let same_get = || {
        evidence
            .recent
            .iter()
            .chain(&evidence.overlapping)
            .filter(|s| is_victim(s) && s.request == evidence.request)
            .filter(|_| evidence.request.starts_with("GET "))
    };
    let cached = latest(&mut same_get().filter(|s| s.last_byte_s.is_some_and(|end| end <= sent)));
    let racing_get = closest(
        &mut same_get().filter(|s| s.sent_s <= ended && s.last_byte_s.is_none_or(|end| end > sent)),
        sent,
    );
    let same_step = closest(&mut in_flight().filter(|s| s.step == evidence.step), sent);
    let (observer, victim, then, order, or_else) = if let Some(victim) = cached {
        (observed, victim, None, Order::VictimFirst, None)
    } else if let Some(victim) = racing_get {
        let gap = victim.sent_s - sent;
        let order = if gap < 0.0 {
            Order::VictimFirst
        } else {
            Order::Together
        };
        let or_else = (gap.abs() < UNSURE_GAP_S).then_some(match order {
            Order::Together | Order::TogetherVictimFirst => Order::VictimFirst,
            Order::VictimFirst | Order::ObserverFirst => Order::Together,
        });
        (observed, victim, None, order, or_else)
    } else if let Some(victim) = same_step {
        (observed, victim, None, Order::Together, None)
    } else if let Some((mine, victim)) = closest_pair(evidence, &observed, &is_victim) {
        let then = (mine.sent_s != sent).then(|| evidence.step.clone());
        (mine, victim, then, Order::Together, None)
    } else {
        let before = latest(&mut evidence.recent.iter().filter(answered_before))
            .ok_or(DeriveError::NoPair)?;
        (observed, before, None, Order::VictimFirst, None)
    };
    for step in [&observer.step, &victim.step] {
        if !RACE_STEPS.contains(&canonical(step)) {
            return Err(DeriveError::Step(step.clone()));
        }
    }
    let setup = |_: &Span| vec!["register".into(), "login".into(), "create".into()];
    Ok(Repro {
        base_url,
        api_file,
        expected: Expected {
            class: evidence.class.to_string(),
            observer: "observer".into(),
            victim: evidence.victim.map(|_| "victim".into()),
            message: evidence.message.clone(),
        },
        race: Race {
            order,
            or_else,
            observed_gap_s: round(victim.sent_s - observer.sent_s),
            stagger: None,
            pause: None,
        },
        observer: Role {
            setup: setup(&observer),
            race: canonical(&observer.step).to_owned(),
            request: observer.request.clone(),
            then: then.map(|step| canonical(&step).to_owned()),
        },
        victim: Role {
            setup: setup(&victim),
            race: canonical(&victim.step).to_owned(),
            request: victim.request.clone(),
            then: None,
        },
        verified: None,
        api,
    })
}

/// Every racing pair the evidence allows, best guess first: [`derive`]'s pair in its own order,
/// then in the others (the one it names as `or-else` first), then each pair of a request of the observer's (the violation's own,
/// or an earlier one, whose effect the violation's step then shows) and one of the victim's,
/// those that overlapped in the run before those that did not, pairs of one step before mixed
/// ones, each in the order it happened before the other orders, closest in time first. At most
/// `most`; `loadgen repro` tries them against the target in this order.
pub fn candidates(
    evidence: &Evidence,
    base_url: String,
    api_file: Option<String>,
    api: toml::Table,
    most: usize,
) -> Result<Vec<Repro>, DeriveError> {
    let first = derive(evidence, base_url, api_file, api)?;
    let mut out = vec![Repro {
        race: Race {
            or_else: None,
            ..first.race.clone()
        },
        ..first.clone()
    }];
    // The inferred pair in its other orders next: its order is the weakest part of the
    // inference (a victim's answer seen just before may have raced, and released together
    // either last byte may have to come first).
    let others = first.race.or_else.into_iter().chain([
        Order::Together,
        Order::TogetherVictimFirst,
        Order::VictimFirst,
    ]);
    for order in others {
        if out.iter().any(|r| r.race.order == order) {
            continue;
        }
        out.push(Repro {
            race: Race {
                order,
                or_else: None,
                ..first.race.clone()
            },
            ..first.clone()
        });
    }
    let (Some(sent), Some(ended)) = (evidence.sent_s, evidence.last_byte_s) else {
        return Ok(out);
    };
    let observed = Span {
        user: evidence.observer,
        step: evidence.step.clone(),
        request: evidence.request.clone(),
        sent_s: sent,
        first_byte_s: evidence.first_byte_s,
        last_byte_s: Some(ended),
    };
    let replayable = |s: &&Span| RACE_STEPS.contains(&canonical(&s.step));
    let is_victim = |span: &Span| match evidence.victim {
        Some(victim) => span.user == victim,
        None => span.user != evidence.observer,
    };
    let own: Vec<&Span> = std::iter::once(&observed)
        .chain(
            evidence
                .recent
                .iter()
                .filter(|s| s.user == evidence.observer && s.sent_s < sent),
        )
        .filter(replayable)
        .collect();
    let mut theirs: Vec<&Span> = evidence
        .overlapping
        .iter()
        .chain(&evidence.recent)
        .filter(|s| is_victim(s))
        .filter(replayable)
        .collect();
    theirs.dedup_by(|a, b| a.sent_s == b.sent_s && a.request == b.request);
    // (not overlapped, mixed steps, order rank, gap): smaller is tried first.
    let mut ranked: Vec<((bool, bool, u8, f64), Repro)> = Vec::new();
    for mine in &own {
        let mine_end = mine.last_byte_s.unwrap_or(f64::INFINITY);
        for other in &theirs {
            let overlapped = other.overlaps(mine.sent_s, mine_end);
            let other_end = other.last_byte_s.unwrap_or(f64::INFINITY);
            let natural = if overlapped {
                Order::Together
            } else if other_end <= mine.sent_s {
                Order::VictimFirst
            } else {
                Order::ObserverFirst
            };
            let then = (mine.sent_s != sent).then(|| canonical(&evidence.step).to_owned());
            // The natural order first; released together, either last byte may have to come
            // first (whoever stores a shared identity last wins), so both are tried early.
            for (rank, order) in [
                Order::Together,
                Order::TogetherVictimFirst,
                Order::VictimFirst,
                Order::ObserverFirst,
            ]
            .into_iter()
            .filter(|o| *o != natural)
            .enumerate()
            .map(|(i, o)| (i as u8 + 1, o))
            .chain(std::iter::once((0, natural)))
            {
                // An observer-first pair shows nothing without a later step to see it in.
                if order == Order::ObserverFirst && then.is_none() {
                    continue;
                }
                let key = (
                    !overlapped,
                    other.step != mine.step,
                    rank,
                    (other.sent_s - mine.sent_s).abs(),
                );
                let repro = Repro {
                    race: Race {
                        order,
                        or_else: None,
                        observed_gap_s: round(other.sent_s - mine.sent_s),
                        ..first.race.clone()
                    },
                    observer: Role {
                        race: canonical(&mine.step).to_owned(),
                        request: mine.request.clone(),
                        then: then.clone(),
                        ..first.observer.clone()
                    },
                    victim: Role {
                        race: canonical(&other.step).to_owned(),
                        request: other.request.clone(),
                        then: None,
                        ..first.victim.clone()
                    },
                    ..first.clone()
                };
                ranked.push((key, repro));
            }
        }
    }
    // The observer doing what the victim did, then the violation's step: the run's ring may no
    // longer hold the observer's own request of that step (a create that raced long before the
    // list that showed it), yet two requests of one step are the likeliest race.
    let violation_step = canonical(&evidence.step).to_owned();
    let mut steps: Vec<&Span> = theirs.clone();
    steps.dedup_by(|a, b| a.step == b.step);
    for other in steps {
        if canonical(&other.step) == violation_step {
            continue;
        }
        for (rank, order) in [(0, Order::Together), (1, Order::TogetherVictimFirst)] {
            let repro = Repro {
                race: Race {
                    order,
                    or_else: None,
                    observed_gap_s: 0.0,
                    ..first.race.clone()
                },
                observer: Role {
                    race: canonical(&other.step).to_owned(),
                    request: other.request.clone(),
                    then: Some(violation_step.clone()),
                    ..first.observer.clone()
                },
                victim: Role {
                    race: canonical(&other.step).to_owned(),
                    request: other.request.clone(),
                    then: None,
                    ..first.victim.clone()
                },
                ..first.clone()
            };
            ranked.push(((false, false, rank + 1, f64::MAX), repro));
        }
    }
    ranked.sort_by(|(a, _), (b, _)| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then(a.3.total_cmp(&b.3))
    });
    for (_, repro) in ranked {
        let same = |r: &Repro| {
            r.race.order == repro.race.order
                && r.observer.race == repro.observer.race
                && r.observer.then == repro.observer.then
                && r.victim.race == repro.victim.race
        };
        if out.len() >= most {
            break;
        }
        if !out.iter().any(same) {
            out.push(repro);
        }
    }
    out.truncate(most.max(1));
    Ok(out)
}

/// Send times closer than this (the client's scheduling noise on a loaded machine) do not say
/// which request reached the server first.
const UNSURE_GAP_S: f64 = 0.005;

/// Microsecond precision is what the ring keeps.
fn round(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// Of the observer's recent requests (the violation's own included) and the victim's, the
/// overlapping pair of replayable steps sent closest together, a pair of one step (two creates
/// given one id) before a mixed one.
fn closest_pair(
    evidence: &Evidence,
    observed: &Span,
    is_victim: &dyn Fn(&Span) -> bool,
) -> Option<(Span, Span)> {
    let replayable = |s: &&Span| RACE_STEPS.contains(&canonical(&s.step));
    let own = evidence
        .recent
        .iter()
        .filter(|s| s.user == evidence.observer && s.sent_s != observed.sent_s)
        .chain(std::iter::once(observed))
        .filter(replayable);
    let theirs: Vec<&Span> = evidence
        .recent
        .iter()
        .chain(&evidence.overlapping)
        .filter(|s| is_victim(s))
        .filter(replayable)
        .collect();
    let mut best: Option<((bool, f64), &Span, &Span)> = None;
    for mine in own {
        let end = mine.last_byte_s.unwrap_or(f64::INFINITY);
        for other in theirs.iter().filter(|s| s.overlaps(mine.sent_s, end)) {
            let rank = (other.step != mine.step, (other.sent_s - mine.sent_s).abs());
            if best.is_none_or(|(best_rank, _, _)| rank < best_rank) {
                best = Some((rank, mine, other));
            }
        }
    }
    best.map(|(_, mine, other)| (mine.clone(), other.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(user: usize, step: &str, sent: f64, end: Option<f64>) -> Span {
        Span {
            user,
            step: step.into(),
            request: format!("{step} by {user}"),
            sent_s: sent,
            first_byte_s: end,
            last_byte_s: end,
        }
    }

    fn leak(step: &str, sent: f64, end: f64) -> Evidence {
        Evidence {
            class: "leak".into(),
            observer: 0,
            victim: Some(1),
            step: step.into(),
            request: format!("{step} by 0"),
            sent_s: Some(sent),
            last_byte_s: Some(end),
            ..Evidence::default()
        }
    }

    #[test]
    fn the_victims_request_in_flight_is_the_other_half() {
        let mut evidence = leak("read", 1.000, 1.004);
        evidence.overlapping = vec![
            span(1, "list", 1.001, None),
            span(1, "create", 0.990, Some(1.0005)),
        ];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            repro.observer.race, "read",
            "the observer races with the read that saw the leak"
        );
        assert_eq!(repro.victim.race, "list", "the closest send time wins");
        assert_eq!(
            repro.race.order,
            Order::Together,
            "overlapping requests race together"
        );
        assert_eq!(
            repro.observer.then, None,
            "a racing read needs no follow-up"
        );
        assert_eq!(
            repro.expected.victim.as_deref(),
            Some("victim"),
            "the expected victim is the city's owner"
        );
    }

    #[test]
    fn an_earlier_overlap_races_and_the_violation_step_shows_it() {
        let mut evidence = leak("read", 2.0, 2.001);
        evidence.recent = vec![
            span(0, "create", 1.0, Some(1.004)),
            span(1, "create", 1.001, Some(1.005)),
            span(0, "read", 2.0, Some(2.001)),
        ];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            (repro.observer.race.as_str(), repro.victim.race.as_str()),
            ("create", "create"),
            "two racing creates reproduce as a create race"
        );
        assert_eq!(
            repro.observer.then.as_deref(),
            Some("read"),
            "a racing write is followed by a read"
        );
        assert_eq!(repro.race.observed_gap_s, 0.001, "the observed gap is kept");
    }

    #[test]
    fn a_pair_of_one_step_races_before_a_closer_mixed_or_unreplayable_one() {
        let mut evidence = leak("read", 2.0, 2.001);
        evidence.recent = vec![
            span(0, "create", 1.0, Some(1.010)),
            span(1, "token", 1.0001, Some(1.002)),
            span(1, "read", 1.0002, Some(1.003)),
            span(1, "create", 1.004, Some(1.012)),
            span(0, "read", 2.0, Some(2.001)),
        ];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            (repro.observer.race.as_str(), repro.victim.race.as_str()),
            ("create", "create"),
            "the two creates raced, not the closer login or read"
        );
    }

    #[test]
    fn a_victims_earlier_answer_is_replayed_first() {
        let mut evidence = leak("list", 2.0, 2.001);
        evidence.recent = vec![
            span(1, "list", 1.5, Some(1.501)),
            span(0, "list", 2.0, Some(2.001)),
        ];
        evidence.request = "GET /list".into();
        evidence.recent[0].request = "GET /list".into();
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            repro.race.order,
            Order::VictimFirst,
            "a victim request that ended before the observer's started goes first"
        );
        assert_eq!(
            repro.victim.race, "list",
            "the victim races with its own list"
        );
    }

    #[test]
    fn a_victims_same_get_sent_first_is_replayed_first_even_unanswered() {
        // A cache filled by the victim's list served the observer before the victim's own task
        // recorded its answer: the victim's span is still open, yet it was sent first.
        let mut evidence = leak("list", 2.0, 2.001);
        evidence.request = "GET /list".into();
        let mut filling = span(1, "list", 1.999, None);
        filling.request = "GET /list".into();
        evidence.overlapping = vec![filling];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            repro.race.order,
            Order::VictimFirst,
            "the victim's GET sent first filled what the observer got"
        );

        assert_eq!(
            repro.race.or_else,
            Some(Order::Together),
            "1 ms apart, the server may have seen them the other way round"
        );

        // Sent after the observer's and still open: the two overlapped, nothing was cached first.
        evidence.overlapping[0].sent_s = 2.0005;
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(
            repro.race.order,
            Order::Together,
            "a victim's request sent later raced the observer's"
        );
        assert_eq!(
            repro.race.or_else,
            Some(Order::VictimFirst),
            "0.5 ms apart, a cache the victim filled first is as likely"
        );

        // Well apart: the client's clock tells.
        evidence.overlapping[0].sent_s = 2.0005 + 0.01;
        evidence.last_byte_s = Some(2.02);
        evidence.overlapping[0].last_byte_s = Some(2.015);
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(repro.race.or_else, None, "10 ms apart is no doubt");
    }

    #[test]
    fn evidence_without_times_or_pair_is_refused() {
        let mut evidence = leak("read", 1.0, 1.1);
        evidence.sent_s = None;
        assert_eq!(
            derive(&evidence, String::new(), None, toml::Table::new()),
            Err(DeriveError::NoTimes),
            "evidence without request times cannot be derived"
        );
        let evidence = leak("read", 1.0, 1.1);
        assert_eq!(
            derive(&evidence, String::new(), None, toml::Table::new()),
            Err(DeriveError::NoPair),
            "evidence without a racing partner request cannot be paired"
        );
    }

    #[test]
    fn the_file_reads_back_as_written() {
        let mut evidence = leak("token", 1.0, 1.1);
        evidence.step = "read".into();
        evidence.overlapping = vec![span(1, "create", 1.0, None)];
        let repro = derive(
            &evidence,
            "http://x/api".into(),
            Some("a.toml".into()),
            toml::Table::new(),
        )
        .unwrap();
        let text = repro.to_toml().unwrap();
        let back: Repro = toml::from_str(&text).unwrap();
        assert_eq!(back, repro, "the TOML round-trips:\n{text}");
    }

    #[test]
    fn candidates_start_with_the_inference_and_cover_every_overlapping_pair() {
        // The FastAPI case: the victim's `me` answered 0.84 s before the observer's (the
        // cache rule's pick), while the victim's create overlapped the observer's `me`.
        let mut evidence = leak("me", 2.0, 2.03);
        evidence.request = "GET /users/me".into();
        let mut earlier = span(1, "me", 1.16, Some(1.18));
        earlier.request = "GET /users/me".into();
        evidence.recent = vec![earlier];
        evidence.overlapping = vec![span(1, "create", 2.005, Some(2.04))];
        let all = candidates(&evidence, "http://x".into(), None, toml::Table::new(), 12).unwrap();
        let described: Vec<(String, String, Order)> = all
            .iter()
            .map(|r| (r.observer.race.clone(), r.victim.race.clone(), r.race.order))
            .collect();
        assert_eq!(
            described[0],
            ("me".into(), "me".into(), Order::VictimFirst),
            "the inference's pick is tried first: {described:?}"
        );
        assert!(
            described.contains(&("me".into(), "create".into(), Order::Together)),
            "the overlapping pair is a candidate, together: {described:?}"
        );
        assert!(
            described.contains(&("me".into(), "me".into(), Order::Together)),
            "the inferred pair is also tried together: {described:?}"
        );
        assert_eq!(
            described[1],
            ("me".into(), "me".into(), Order::Together),
            "the inferred pair in its other orders comes next (the issue's case: together, not victim-first, reproduced): {described:?}"
        );
        assert!(
            all.iter().all(|r| r.race.or_else.is_none()),
            "each candidate names one order"
        );
        assert!(
            all.iter().any(|r| r.observer.race == "create"
                && r.victim.race == "create"
                && r.race.order == Order::TogetherVictimFirst
                && r.observer.then.as_deref() == Some("me")),
            "the observer doing what the victim did (create), then the violation's step, is tried too: {described:?}"
        );
        let few = candidates(&evidence, "http://x".into(), None, toml::Table::new(), 2).unwrap();
        assert_eq!(few.len(), 2, "at most `most` candidates");
    }
}
