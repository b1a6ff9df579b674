//! Scoring against racebench's mock server: its journal (`GET /__admin/journal`) says which
//! cross-user reads and writes really happened; this module says how many of them the run caught.
//!
//! - **recall**: of the journal's cross-user reads whose response went to one of this run's users,
//!   the share that the run reported as a leak by the same observer of the same victim;
//! - **precision**: of the leaks the run reported, the share that the journal confirms (a
//!   cross-user read by that observer of that victim's data, or a cross-user write between them).
//!
//! Matching is by (observer account, victim account) pairs, counted: `k` detections of a pair
//! match at most `k` journal entries of it. Journal entries before the run (`baseline`) are ignored.
//!
//! Also [`fault_switches`]: when the server's faults were switched on and off, for the report's
//! time charts.

use std::collections::HashMap;

use bytes::Bytes;
use hyper::Method;
use shared::admin::{AccessKind, FaultSwitch, FaultSwitches, JournalEntry};

use super::{evidence::Detection, ledger::Ledger};
use crate::client::{Client, Target};

pub use crate::scenario::findings::Score;

/// Where the admin API is, and the journal's last sequence number before the run.
#[derive(Debug, Clone)]
pub struct Journal {
    target: Target,
    pub baseline: u64,
    /// The server's count of entries pushed out of the ring buffer, before the run.
    dropped: u64,
}

impl Journal {
    /// Connects to the admin API at `admin_url` and notes where the journal stands.
    pub async fn open(admin_url: &str) -> Result<Self, String> {
        let target = Target::resolve(admin_url).await?;
        let mut journal = Self {
            target,
            baseline: 0,
            dropped: 0,
        };
        journal.baseline = journal.fetch(0).await?.last().map_or(0, |entry| entry.seq);
        journal.dropped = journal.dropped().await?;
        Ok(journal)
    }

    /// `GET /stats`: entries the journal's ring buffer dropped so far.
    async fn dropped(&self) -> Result<u64, String> {
        let body = self.get("/stats").await?;
        let stats: shared::admin::Stats =
            serde_json::from_slice(&body).map_err(|e| format!("unreadable admin stats: {e}"))?;
        Ok(stats
            .faults
            .get(shared::admin::fault_counters::JOURNAL_DROPPED)
            .copied()
            .unwrap_or(0))
    }

    async fn get(&self, path: &str) -> Result<Bytes, String> {
        admin_get(&self.target, path).await
    }

    /// Entries after sequence number `since`.
    pub async fn fetch(&self, since: u64) -> Result<Vec<JournalEntry>, String> {
        let body = self.get(&format!("/journal?since={since}")).await?;
        let text = String::from_utf8_lossy(&body);
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| format!("unreadable journal line: {e}"))
            })
            .collect()
    }

    /// Scores `leaks` against the entries written since the baseline.
    pub async fn score(&self, ledger: &Ledger, leaks: &[Detection]) -> Result<Score, String> {
        let entries = self.fetch(self.baseline).await?;
        let overflowed = self.dropped().await? > self.dropped;
        Ok(score(&entries, ledger, leaks, overflowed))
    }
}

/// `GET path` on the admin API at `target`.
async fn admin_get(target: &Target, path: &str) -> Result<Bytes, String> {
    let mut client = Client::new(target.addr);
    let request = target.request(Method::GET, path, Bytes::new());
    let response = client.send(request).await.map_err(|e| {
        format!(
            "cannot reach the admin API at {}: {e}",
            target.host.to_str().unwrap_or("?")
        )
    })?;
    if !response.status.is_success() {
        return Err(format!(
            "the admin API answered {} to {path} (is it racebench's mock-server?)",
            response.status
        ));
    }
    Ok(response.body)
}

/// `GET /faults/switches` on the admin API at `admin_url`: the server's last fault switches.
pub async fn fault_switches(admin_url: &str) -> Result<Vec<FaultSwitch>, String> {
    let target = Target::resolve(admin_url).await?;
    let body = admin_get(&target, "/faults/switches").await?;
    let switches: FaultSwitches =
        serde_json::from_slice(&body).map_err(|e| format!("unreadable fault switches: {e}"))?;
    Ok(switches.switches)
}

type Pair = (String, String);

/// The pure part of scoring.
pub fn score(
    entries: &[JournalEntry],
    ledger: &Ledger,
    leaks: &[Detection],
    journal_overflowed: bool,
) -> Score {
    let ours = |account: &Option<String>| {
        account
            .as_deref()
            .is_some_and(|a| ledger.user_of_account(a).is_some())
    };
    let pair =
        |user: &Option<String>, owner: &Option<String>| Some((user.clone()?, owner.clone()?));

    let mut reads: HashMap<Pair, usize> = HashMap::new();
    let mut confirmable: HashMap<Pair, usize> = HashMap::new();
    let mut cross_user_writes = 0;
    for entry in entries.iter().filter(|e| e.cross_user && ours(&e.user)) {
        let Some(key) = pair(&entry.user, &entry.owner) else {
            continue;
        };
        // A response that never reached the user (a dropped connection) cannot be detected.
        let delivered = entry.status.is_some();
        match entry.kind {
            AccessKind::Read if delivered => *reads.entry(key.clone()).or_default() += 1,
            AccessKind::Read => {}
            AccessKind::Write => cross_user_writes += 1,
        }
        // A create handed an id that another user's create also got is reported by whichever of
        // the two reads its answer second, while the journal records who overwrote whom: a write
        // confirms the pair in both directions.
        if entry.kind == AccessKind::Write {
            let reversed = (key.1.clone(), key.0.clone());
            *confirmable.entry(reversed).or_default() += 1;
        }
        *confirmable.entry(key).or_default() += 1;
    }
    let mut detected: HashMap<Pair, usize> = HashMap::new();
    for leak in leaks {
        if let Some(key) = pair(&leak.observer_account, &leak.victim_account) {
            *detected.entry(key).or_default() += 1;
        }
    }
    let cross_user_reads: usize = reads.values().sum();
    let reads_detected: usize = reads
        .iter()
        .map(|(key, &n)| n.min(detected.get(key).copied().unwrap_or(0)))
        .sum();
    let leaks_confirmed: usize = detected
        .iter()
        .map(|(key, &n)| n.min(confirmable.get(key).copied().unwrap_or(0)))
        .sum();
    let ratio = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);
    Score {
        journal_entries: entries.len(),
        cross_user_reads,
        cross_user_writes,
        reads_detected,
        recall: ratio(reads_detected, cross_user_reads),
        leaks_reported: leaks.len(),
        leaks_confirmed,
        precision: ratio(leaks_confirmed, leaks.len()),
        journal_overflowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        seq: u64,
        user: &str,
        owner: &str,
        kind: AccessKind,
        cross_user: bool,
    ) -> JournalEntry {
        JournalEntry {
            seq,
            fault: "shared-identity".into(),
            method: "GET".into(),
            route: "/api/v1/cities".into(),
            path: "/api/v1/cities".into(),
            user: Some(user.into()),
            owner: Some(owner.into()),
            kind,
            cross_user,
            city_id: None,
            status: Some(200),
            detail: String::new(),
            start_ms: 0.0,
            end_ms: 0.0,
            start_unix_ms: 0,
            end_unix_ms: 0,
        }
    }

    fn detection(observer: &str, victim: &str) -> Detection {
        Detection {
            observer_account: Some(observer.into()),
            victim_account: Some(victim.into()),
        }
    }

    #[test]
    fn recall_and_precision_count_matching_pairs() {
        let ledger = Ledger::new(3, 0, 1);
        for (user, account) in ["a", "b", "c"].iter().enumerate() {
            ledger.set_account(user, (*account).into());
        }
        let entries = [
            entry(1, "a", "b", AccessKind::Read, true),
            entry(2, "a", "b", AccessKind::Read, true),
            entry(3, "c", "a", AccessKind::Read, true),
            entry(4, "b", "a", AccessKind::Write, true),
            entry(5, "a", "a", AccessKind::Read, false),
            entry(6, "stranger", "a", AccessKind::Read, true),
        ];
        let leaks = [
            detection("a", "b"),
            detection("c", "a"),
            detection("b", "c"),
        ];
        let score = score(&entries, &ledger, &leaks, false);
        assert_eq!(
            score.cross_user_reads, 3,
            "the journal's cross-user reads are counted"
        );
        assert_eq!(
            score.cross_user_writes, 1,
            "the journal's cross-user writes are counted"
        );
        assert_eq!(
            score.reads_detected, 2,
            "reads matched by a finding are counted as detected"
        );
        assert_eq!(
            score.recall,
            Some(2.0 / 3.0),
            "recall is detected over cross-user reads"
        );
        assert_eq!(
            score.leaks_confirmed, 2,
            "findings matched in the journal are confirmed"
        );
        assert_eq!(
            score.precision,
            Some(2.0 / 3.0),
            "precision is confirmed over findings"
        );
    }

    #[test]
    fn nothing_leaked_and_nothing_reported_has_no_ratios() {
        let ledger = Ledger::new(1, 0, 1);
        let score = score(&[], &ledger, &[], false);
        assert_eq!(
            (score.recall, score.precision),
            (None, None),
            "with nothing to detect and nothing found, recall and precision are undefined"
        );
    }
}
