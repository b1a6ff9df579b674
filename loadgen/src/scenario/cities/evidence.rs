//! Evidence: what a violation looked like, kept for the first N, and the compact record of every
//! leak that scoring matches against the server's journal.
//!
//! Both are behind a mutex that is taken only when a violation happens, never on a passing request.

use std::{collections::HashSet, sync::Mutex};

pub use crate::scenario::findings::Evidence;

/// A leak as scoring sees it: who saw whose data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub observer_account: Option<String>,
    pub victim_account: Option<String>,
}

/// The first `limit` pieces of evidence and every leak's detection.
#[derive(Debug)]
pub struct EvidenceLog {
    limit: usize,
    kept: Mutex<Vec<Evidence>>,
    leaks: Mutex<Vec<Detection>>,
    /// Distinct leaked records: a record id, or the victim's marker when only a marker showed.
    leaked: Mutex<HashSet<String>>,
}

/// Most leak detections remembered for scoring (about 100 MB at worst).
const MAX_DETECTIONS: usize = 1_000_000;

impl EvidenceLog {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: Mutex::new(Vec::new()),
            leaks: Mutex::new(Vec::new()),
            leaked: Mutex::new(HashSet::new()),
        }
    }

    /// Records a violation; returns true when it was among the first `limit` (to print it live).
    pub fn add(&self, evidence: Evidence) -> bool {
        if evidence.class == "leak"
            && let Ok(mut leaks) = self.leaks.lock()
            && leaks.len() < MAX_DETECTIONS
        {
            leaks.push(Detection {
                observer_account: evidence.observer_account.clone(),
                victim_account: evidence.victim_account.clone(),
            });
        }
        if evidence.class == "leak"
            && let Ok(mut leaked) = self.leaked.lock()
            && leaked.len() < MAX_DETECTIONS
        {
            leaked.insert(match &evidence.record {
                Some(record) => record.clone(),
                None => format!("user {:?}", evidence.victim),
            });
        }
        let Ok(mut kept) = self.kept.lock() else {
            return false;
        };
        if kept.len() < self.limit {
            kept.push(evidence);
            true
        } else {
            false
        }
    }

    /// The evidence kept, oldest first.
    pub fn evidence(&self) -> Vec<Evidence> {
        self.kept
            .lock()
            .map(|kept| kept.clone())
            .unwrap_or_default()
    }

    /// How many distinct records leaked (up to a million).
    pub fn leaked_records(&self) -> u64 {
        self.leaked.lock().map_or(0, |leaked| leaked.len() as u64)
    }

    /// Every leak detected (up to a million).
    pub fn leaks(&self) -> Vec<Detection> {
        self.leaks
            .lock()
            .map(|leaks| leaks.clone())
            .unwrap_or_default()
    }
}

/// `status body…`, the body cut to 300 characters on a character boundary.
pub fn describe(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(300).collect();
    let ellipsis = if cut.len() < text.len() { "…" } else { "" };
    format!("{status} {cut}{ellipsis}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(observer: usize) -> Evidence {
        Evidence {
            class: "leak".into(),
            observer,
            observer_account: Some(format!("a{observer}")),
            victim: Some(1),
            victim_account: Some("a1".into()),
            record: Some(format!("r{}", observer % 2)),
            step: "read".into(),
            request: "GET /cities/x".into(),
            expected: "own city".into(),
            actual: "200 {}".into(),
            message: "m".into(),
            since_start_s: 0.0,
            in_flight: 1,
            ..Evidence::default()
        }
    }

    #[test]
    fn keeps_the_first_n_and_every_leak() {
        let log = EvidenceLog::new(2);
        assert!(log.add(leak(2)), "the first leak's evidence is kept");
        assert!(log.add(leak(3)), "the second leak's evidence is kept");
        assert!(!log.add(leak(4)), "evidence past the cap of 2 is not kept");
        assert_eq!(log.evidence().len(), 2, "the evidence is capped at 2");
        assert_eq!(log.leaks().len(), 3, "every leak is counted past the cap");
        assert_eq!(log.leaked_records(), 2, "distinct records");
    }

    #[test]
    fn bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(400);
        let text = describe(200, body.as_bytes());
        assert!(
            text.starts_with("200 é"),
            "the excerpt starts with the status and body: {text}"
        );
        assert!(
            text.ends_with('…'),
            "a cut excerpt ends with an ellipsis: {text}"
        );
        assert_eq!(
            text.chars().count(),
            4 + 300 + 1,
            "the excerpt keeps 300 characters of the body: {text}"
        );
    }
}
