//! The few latest requests of each identity, on the run's clock: the ring evidence reads to name
//! the racing pair (the victim's request in flight while the observer's was) and to draw the
//! timeline around a violation.
//!
//! Cheap by construction: each identity has its own mutex around a fixed array of
//! [`SLOTS`] fixed-size entries (the label is copied into an inline buffer), so recording a
//! request allocates nothing and contends with no other user; other users read a ring only when
//! a violation happens.
//!
//! Locking rule: a ring's guard is held only to copy one entry in or out, never across `.await`.

use std::{sync::Mutex, time::Instant};

use super::ledger::Ledger;
use crate::{api::template::join_slashes, scenario::findings::Span, stats::Step};

/// Requests remembered per identity.
pub const SLOTS: usize = 8;
/// Bytes of `METHOD /path` kept per request (longer labels are cut).
const LABEL: usize = 120;
/// Most other users' requests an evidence lists as overlapping.
const MAX_OVERLAPPING: usize = 8;
/// Most other users scanned for overlapping requests when the victim is unknown.
const MAX_SCANNED: usize = 4096;

/// One request: its step, its label and its times in microseconds since the run started.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Bumped on every reuse of the slot, so a late `end` cannot close a newer request.
    ticket: u64,
    step: Step,
    sent_us: u64,
    first_byte_us: Option<u64>,
    last_byte_us: Option<u64>,
    label: [u8; LABEL],
    label_len: u8,
}

const EMPTY: Entry = Entry {
    ticket: 0,
    step: Step(0),
    sent_us: 0,
    first_byte_us: None,
    last_byte_us: None,
    label: [0; LABEL],
    label_len: 0,
};

#[derive(Debug)]
struct Ring {
    entries: [Entry; SLOTS],
    /// Requests recorded so far (the next slot is `recorded % SLOTS`).
    recorded: u64,
}

/// Which slot a started request took, to close it.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    local: usize,
    ticket: u64,
}

/// Every local identity's ring.
#[derive(Debug)]
pub struct RecentRequests {
    rings: Vec<Mutex<Ring>>,
}

fn micros(since: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(since).as_micros() as u64
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

impl RecentRequests {
    pub fn new(identities: usize) -> Self {
        Self {
            rings: (0..identities)
                .map(|_| {
                    Mutex::new(Ring {
                        entries: [EMPTY; SLOTS],
                        recorded: 0,
                    })
                })
                .collect(),
        }
    }

    fn ring(&self, local: usize) -> Option<std::sync::MutexGuard<'_, Ring>> {
        Some(
            self.rings
                .get(local)?
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Records that local identity `local` sent `METHOD /path` (the label's parts, copied) at
    /// `sent`, on the clock that started at `started`.
    pub fn start(
        &self,
        local: usize,
        step: Step,
        parts: &[&str],
        started: Instant,
        sent: Instant,
    ) -> Option<Ticket> {
        let mut ring = self.ring(local)?;
        ring.recorded += 1;
        let ticket = ring.recorded;
        let entry = &mut ring.entries[(ticket as usize) % SLOTS];
        entry.ticket = ticket;
        entry.step = step;
        entry.sent_us = micros(started, sent);
        entry.first_byte_us = None;
        entry.last_byte_us = None;
        let mut len = 0;
        for part in parts {
            let room = LABEL - len;
            let take = part.len().min(room);
            entry.label[len..len + take].copy_from_slice(&part.as_bytes()[..take]);
            len += take;
        }
        entry.label_len = len as u8;
        Some(Ticket { local, ticket })
    }

    /// Closes a started request with its real send time, first byte (when an answer came) and
    /// last byte.
    pub fn end(
        &self,
        ticket: Ticket,
        started: Instant,
        sent: Instant,
        first_byte: Option<Instant>,
        ended: Instant,
    ) {
        let Some(mut ring) = self.ring(ticket.local) else {
            return;
        };
        let entry = &mut ring.entries[(ticket.ticket as usize) % SLOTS];
        if entry.ticket == ticket.ticket {
            entry.sent_us = micros(started, sent);
            entry.first_byte_us = first_byte.map(|at| micros(started, at));
            entry.last_byte_us = Some(micros(started, ended));
        }
    }

    /// The requests of global user `user` still in the ring, oldest first.
    pub fn spans(
        &self,
        ledger: &Ledger,
        user: usize,
        name: impl Fn(Step) -> &'static str,
    ) -> Vec<Span> {
        let Some(local) = ledger.local(user) else {
            return Vec::new();
        };
        let Some(ring) = self.ring(local) else {
            return Vec::new();
        };
        let entries = ring.entries;
        let recorded = ring.recorded;
        drop(ring);
        let first = recorded.saturating_sub(SLOTS as u64 - 1).max(1);
        (first..=recorded)
            .map(|ticket| entries[(ticket as usize) % SLOTS])
            .filter(|entry| entry.ticket != 0)
            .map(|entry| span(user, &entry, &name))
            .collect()
    }

    /// Requests of users other than `observer` in flight at some moment of `[from, to]`: the
    /// victim's when it is known, else any local user's (the first few found).
    pub fn overlapping(
        &self,
        ledger: &Ledger,
        observer: usize,
        victim: Option<usize>,
        from: f64,
        to: f64,
        name: impl Fn(Step) -> &'static str + Copy,
    ) -> Vec<Span> {
        let candidates: Vec<usize> = match victim {
            Some(victim) => vec![victim],
            None => (0..self.rings.len().min(MAX_SCANNED))
                .map(|local| ledger.global(local))
                .filter(|&user| user != observer)
                .collect(),
        };
        let mut found = Vec::new();
        for user in candidates {
            found.extend(
                self.spans(ledger, user, name)
                    .into_iter()
                    .filter(|span| span.overlaps(from, to)),
            );
            if found.len() >= MAX_OVERLAPPING {
                found.truncate(MAX_OVERLAPPING);
                break;
            }
        }
        found
    }
}

fn span(user: usize, entry: &Entry, name: impl Fn(Step) -> &'static str) -> Span {
    let label = String::from_utf8_lossy(&entry.label[..entry.label_len as usize]).into_owned();
    let request = match label.split_once(' ') {
        Some((method, path)) => format!("{method} {}", join_slashes(path)),
        None => label,
    };
    Span {
        user,
        step: name(entry.step).to_owned(),
        request,
        sent_s: seconds(entry.sent_us),
        first_byte_s: entry.first_byte_us.map(seconds),
        last_byte_s: entry.last_byte_us.map(seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn name(_: Step) -> &'static str {
        "read"
    }

    #[test]
    fn keeps_the_latest_requests_oldest_first() {
        let ledger = Ledger::new(2, 0, 1);
        let recent = RecentRequests::new(2);
        let t0 = Instant::now();
        for k in 0..(SLOTS as u64 + 3) {
            let sent = t0 + Duration::from_millis(k);
            let ticket = recent
                .start(0, Step(0), &["GET", " /api", &format!("/c/{k}")], t0, sent)
                .expect("a local identity");
            recent.end(
                ticket,
                t0,
                sent,
                Some(sent),
                sent + Duration::from_micros(500),
            );
        }
        let spans = recent.spans(&ledger, 0, name);
        assert_eq!(spans.len(), SLOTS, "the ring keeps SLOTS requests");
        assert_eq!(
            spans[0].request, "GET /api/c/3",
            "the oldest kept is the fourth sent"
        );
        assert_eq!(
            spans[SLOTS - 1].request,
            format!("GET /api/c/{}", SLOTS + 2),
            "the newest kept is the last sent"
        );
        assert_eq!(
            spans[0].sent_s, 0.003,
            "the span keeps when the request was sent"
        );
        assert_eq!(
            spans[0].last_byte_s,
            Some(0.0035),
            "the span keeps when the last byte came"
        );
    }

    #[test]
    fn finds_the_other_users_request_in_flight_at_the_same_time() {
        let ledger = Ledger::new(3, 0, 1);
        let recent = RecentRequests::new(3);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // User 1: one request long before, one still in flight (never closed).
        let old = recent
            .start(1, Step(0), &["GET ", "/old"], t0, at(1))
            .unwrap();
        recent.end(old, t0, at(1), Some(at(2)), at(2));
        recent.start(1, Step(0), &["GET ", "/racing"], t0, at(10));
        // User 2: a request that ended before the window.
        let done = recent
            .start(2, Step(0), &["GET ", "/done"], t0, at(3))
            .unwrap();
        recent.end(done, t0, at(3), None, at(4));
        let found = recent.overlapping(&ledger, 0, None, 0.009, 0.012, name);
        assert_eq!(
            found.len(),
            1,
            "only the request in flight overlaps: {found:?}"
        );
        assert_eq!(
            found[0].request, "GET /racing",
            "the overlapping request is found"
        );
        assert_eq!(found[0].last_byte_s, None, "still in flight");
    }
}
