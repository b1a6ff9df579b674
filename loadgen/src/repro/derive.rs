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
    #[error("the racing step `{0}` cannot be replayed (one of create, read, list, update, delete, me, probe)")]
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
    // 1. The victim's request in flight during the observer's.
    let mut in_flight = evidence.overlapping.iter().filter(|s| is_victim(s));
    let (observer, victim, then, order) = if let Some(victim) = closest(&mut in_flight, sent) {
        (observed, victim, None, Order::Together)
    } else if let Some((earlier, victim)) = earlier_pair(evidence, &is_victim) {
        // 2. An earlier overlap; the violation's own step then shows it.
        (earlier, victim, Some(evidence.step.clone()), Order::Together)
    } else {
        // 3. The victim's latest request answered before the observer's was sent.
        let before = evidence
            .recent
            .iter()
            .filter(|s| is_victim(s) && s.last_byte_s.is_some_and(|end| end <= sent))
            .max_by(|a, b| a.sent_s.total_cmp(&b.sent_s))
            .cloned()
            .ok_or(DeriveError::NoPair)?;
        (observed, before, None, Order::VictimFirst)
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
            observed_gap_s: round(victim.sent_s - observer.sent_s),
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
        api,
    })
}

/// Microsecond precision is what the ring keeps.
fn round(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// The latest of the observer's earlier requests that overlapped one of the victim's, with it.
fn earlier_pair(evidence: &Evidence, is_victim: &dyn Fn(&Span) -> bool) -> Option<(Span, Span)> {
    let own = evidence.recent.iter().filter(|s| {
        s.user == evidence.observer && Some(s.sent_s) != evidence.sent_s && s.last_byte_s.is_some()
    });
    let mut best: Option<(Span, Span)> = None;
    for mine in own {
        let end = mine.last_byte_s.unwrap_or(mine.sent_s);
        let theirs = evidence
            .recent
            .iter()
            .filter(|s| is_victim(s) && s.overlaps(mine.sent_s, end))
            .min_by(|a, b| {
                (a.sent_s - mine.sent_s)
                    .abs()
                    .total_cmp(&(b.sent_s - mine.sent_s).abs())
            });
        if let Some(theirs) = theirs
            && best.as_ref().is_none_or(|(b, _)| mine.sent_s > b.sent_s)
        {
            best = Some((mine.clone(), theirs.clone()));
        }
    }
    best
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
        evidence.overlapping = vec![span(1, "list", 1.001, None), span(1, "create", 0.990, Some(1.0005))];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(repro.observer.race, "read");
        assert_eq!(repro.victim.race, "list", "the closest send time wins");
        assert_eq!(repro.race.order, Order::Together);
        assert_eq!(repro.observer.then, None);
        assert_eq!(repro.expected.victim.as_deref(), Some("victim"));
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
        assert_eq!((repro.observer.race.as_str(), repro.victim.race.as_str()), ("create", "create"));
        assert_eq!(repro.observer.then.as_deref(), Some("read"));
        assert_eq!(repro.race.observed_gap_s, 0.001);
    }

    #[test]
    fn a_victims_earlier_answer_is_replayed_first() {
        let mut evidence = leak("list", 2.0, 2.001);
        evidence.recent = vec![span(1, "list", 1.5, Some(1.501)), span(0, "list", 2.0, Some(2.001))];
        let repro = derive(&evidence, "http://x".into(), None, toml::Table::new()).unwrap();
        assert_eq!(repro.race.order, Order::VictimFirst);
        assert_eq!(repro.victim.race, "list");
    }

    #[test]
    fn evidence_without_times_or_pair_is_refused() {
        let mut evidence = leak("read", 1.0, 1.1);
        evidence.sent_s = None;
        assert_eq!(
            derive(&evidence, String::new(), None, toml::Table::new()),
            Err(DeriveError::NoTimes)
        );
        let evidence = leak("read", 1.0, 1.1);
        assert_eq!(
            derive(&evidence, String::new(), None, toml::Table::new()),
            Err(DeriveError::NoPair)
        );
    }

    #[test]
    fn the_file_reads_back_as_written() {
        let mut evidence = leak("token", 1.0, 1.1);
        evidence.step = "read".into();
        evidence.overlapping = vec![span(1, "create", 1.0, None)];
        let repro = derive(&evidence, "http://x/api".into(), Some("a.toml".into()), toml::Table::new()).unwrap();
        let text = repro.to_toml().unwrap();
        let back: Repro = toml::from_str(&text).unwrap();
        assert_eq!(back, repro, "the TOML round-trips:\n{text}");
    }
}
