//! The ground-truth journal: a bounded ring buffer of the requests on which a fault fired.
//!
//! Only fault code writes to it, so the request path with every fault off never touches it. One
//! `Mutex` guards the buffer: an entry is a few hundred bytes pushed once per fired request, and
//! `GET /__admin/journal` copies entries out before serialising them, so the lock is held briefly.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use shared::admin::JournalEntry;

/// Default number of entries kept (`--journal-size`).
pub const DEFAULT_JOURNAL_SIZE: usize = 10_000;

#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::new(),
            }),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends `entry` with the next sequence number (its `seq` field is overwritten); the oldest
    /// entry makes room when the buffer is full.
    pub fn push(&self, mut entry: JournalEntry) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if self.capacity == 0 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if inner.entries.len() == self.capacity {
            inner.entries.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        inner.entries.push_back(entry);
    }

    /// Entries with `seq > since`, oldest first.
    pub fn since(&self, since: u64) -> Vec<JournalEntry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let start = inner.entries.partition_point(|entry| entry.seq <= since);
        inner.entries.range(start..).cloned().collect()
    }

    /// Entries pushed out of the buffer since the last clear.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Forgets every entry; sequence numbers keep counting up so pollers never see one twice.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.clear();
        self.dropped.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::admin::AccessKind;

    fn entry() -> JournalEntry {
        JournalEntry {
            seq: 0,
            fault: "bola".to_owned(),
            method: "GET".to_owned(),
            route: "/api/v1/cities/{id}".to_owned(),
            path: "/api/v1/cities/1".to_owned(),
            user: None,
            owner: None,
            kind: AccessKind::Read,
            cross_user: false,
            city_id: None,
            status: Some(200),
            detail: String::new(),
            start_ms: 0.0,
            end_ms: 0.0,
            start_unix_ms: 0,
            end_unix_ms: 0,
        }
    }

    #[test]
    fn keeps_the_newest_entries_and_counts_the_dropped() {
        let journal = Journal::new(3);
        for _ in 0..5 {
            journal.push(entry());
        }
        let seqs: Vec<u64> = journal.since(0).iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            [3, 4, 5],
            "a journal of 3 keeps the newest 3 of 5 entries"
        );
        assert_eq!(
            journal.dropped(),
            2,
            "the two pushed out are counted as dropped"
        );
        let later: Vec<u64> = journal.since(4).iter().map(|e| e.seq).collect();
        assert_eq!(later, [5], "since=4 gives the entries after seq 4");
    }

    #[test]
    fn sequence_numbers_survive_a_clear() {
        let journal = Journal::new(10);
        journal.push(entry());
        journal.clear();
        journal.push(entry());
        assert_eq!(
            journal.since(0)[0].seq,
            2,
            "a clear does not restart the sequence numbers"
        );
    }
}
