//! The request journal (WireMock-style): the last N requests the router answered (method, path,
//! route, status, the user the token names, duration, the faults that fired), queryable by user,
//! path, status and time (`GET /__admin/requests`), cleared by `DELETE /__admin/requests`, off with
//! `--request-journal 0`. The fault journal (`faults::journal`) stays the ground truth for scoring;
//! this one is for people and dashboards.
//!
//! Cost on the request path: no global lock. Entries go round-robin (by a sequence number from one
//! atomic counter) into [`SHARDS`] rings, each behind its own mutex, so two requests contend only
//! when their numbers meet on a shard at the same instant; a ring at capacity reuses its slots
//! (pop front, push back) and does not allocate. A request allocates one `String` (its path), or
//! none when the path is its route template (`/json`). The user comes from the `AuthUser`
//! extractor through a [`UserSlot`] the layer hands it (only when the request carries
//! `Authorization`); the faults that fired are read from the request's fault
//! scope when the handler has answered. The faults that act around the router are not seen here:
//! an `error-rate` 500 never reaches it, and `reset` / `slow-body`, which act on the response
//! afterwards, are not named; the fault journal has them all.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use shared::admin::{RequestEntry, RequestsView};
use uuid::Uuid;

/// Default number of requests kept (`--request-journal`).
pub const DEFAULT_REQUEST_JOURNAL_SIZE: usize = 10_000;
/// Rings the journal is split into.
pub const SHARDS: usize = 16;

/// Handle to the journal; cheap to clone. Off (`--request-journal 0`) it holds nothing and
/// [`RequestJournal::enabled`] is false, so the layer skips every step.
#[derive(Debug, Clone)]
pub struct RequestJournal {
    inner: Option<Arc<Inner>>,
    capacity: usize,
}

#[derive(Debug)]
struct Inner {
    per_shard: usize,
    shards: Vec<Mutex<VecDeque<Entry>>>,
    next_seq: AtomicU64,
    dropped: AtomicU64,
    started: Instant,
    started_unix_ms: u64,
}

/// One request as kept: the raw facts; converted to a [`RequestEntry`] when queried.
#[derive(Debug)]
pub struct Entry {
    pub method: axum::http::Method,
    /// The concrete path, or `None` when it is the route template itself (`/json`): the common
    /// case then allocates nothing.
    pub path: Option<String>,
    pub route: Option<Arc<str>>,
    pub status: u16,
    pub user: Option<Uuid>,
    pub started: Instant,
    pub duration: Duration,
    /// Faults that had fired by the time the handler answered (empty: no allocation).
    pub faults: Vec<&'static str>,
    seq: u64,
}

/// Where the `AuthUser` extractor leaves the verified user for the journal.
#[derive(Debug, Clone, Default)]
pub struct UserSlot(pub Arc<OnceLock<Uuid>>);

/// A `GET /__admin/requests` query; every part optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user: Option<Uuid>,
    /// The concrete path or the route template.
    pub path: Option<String>,
    pub status: Option<u16>,
    /// Only requests routed at or after this Unix time in ms.
    pub since_unix_ms: Option<u64>,
    /// Only requests with a larger sequence number.
    pub after: Option<u64>,
    /// The newest this many of the matches.
    pub limit: usize,
}

impl RequestJournal {
    /// A journal keeping the last `capacity` requests (rounded up to a multiple of [`SHARDS`]);
    /// 0 switches it off.
    pub fn new(capacity: usize, started: Instant) -> Self {
        if capacity == 0 {
            return Self {
                inner: None,
                capacity: 0,
            };
        }
        let per_shard = capacity.div_ceil(SHARDS);
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
        Self {
            inner: Some(Arc::new(Inner {
                per_shard,
                shards: (0..SHARDS)
                    .map(|_| Mutex::new(VecDeque::with_capacity(per_shard)))
                    .collect(),
                next_seq: AtomicU64::new(1),
                dropped: AtomicU64::new(0),
                started,
                started_unix_ms: unix_ms_now().saturating_sub(elapsed),
            })),
            capacity: per_shard * SHARDS,
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Keeps one answered request; the oldest of its ring makes room.
    pub fn record(&self, mut entry: Entry) {
        let Some(inner) = &self.inner else { return };
        let seq = inner.next_seq.fetch_add(1, Ordering::Relaxed);
        entry.seq = seq;
        let shard = &inner.shards[(seq % SHARDS as u64) as usize];
        let evicted = {
            let mut ring = shard.lock().unwrap_or_else(|e| e.into_inner());
            let evicted = (ring.len() == inner.per_shard)
                .then(|| ring.pop_front())
                .flatten();
            ring.push_back(entry);
            evicted
        };
        if evicted.is_some() {
            inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests pushed out since the last clear.
    pub fn dropped(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.dropped.load(Ordering::Relaxed))
    }

    /// Forgets every request; sequence numbers keep counting up.
    pub fn clear(&self) {
        let Some(inner) = &self.inner else { return };
        for shard in &inner.shards {
            let old = std::mem::take(&mut *shard.lock().unwrap_or_else(|e| e.into_inner()));
            drop(old);
        }
        inner.dropped.store(0, Ordering::Relaxed);
    }

    /// The requests matching `filter`, oldest first.
    pub fn query(&self, filter: &Filter) -> RequestsView {
        let Some(inner) = &self.inner else {
            return RequestsView {
                enabled: false,
                capacity: 0,
                dropped: 0,
                requests: Vec::new(),
            };
        };
        let mut requests = Vec::new();
        for shard in &inner.shards {
            let ring = shard.lock().unwrap_or_else(|e| e.into_inner());
            requests.extend(
                ring.iter()
                    .filter(|entry| filter.matches(entry, inner))
                    .map(|entry| inner.view(entry)),
            );
        }
        requests.sort_unstable_by_key(|entry| entry.seq);
        let skip = requests.len().saturating_sub(filter.limit);
        requests.drain(..skip);
        RequestsView {
            enabled: true,
            capacity: self.capacity,
            dropped: inner.dropped.load(Ordering::Relaxed),
            requests,
        }
    }
}

impl Entry {
    /// `path: None` means the path is the route template; `duration` is measured by the caller,
    /// which reads the clock once for the metrics and the journal.
    pub fn new(
        method: axum::http::Method,
        path: Option<String>,
        route: Option<Arc<str>>,
        status: u16,
        started: Instant,
        duration: Duration,
    ) -> Self {
        Self {
            method,
            path,
            route,
            status,
            user: None,
            duration,
            started,
            faults: Vec::new(),
            seq: 0,
        }
    }

    fn route(&self) -> &str {
        self.route.as_deref().unwrap_or("(unmatched)")
    }

    /// The concrete path the request asked for.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or_else(|| self.route())
    }
}

impl Filter {
    fn matches(&self, entry: &Entry, inner: &Inner) -> bool {
        self.after.is_none_or(|after| entry.seq > after)
            && self.status.is_none_or(|status| entry.status == status)
            && self.user.is_none_or(|user| entry.user == Some(user))
            && self
                .path
                .as_deref()
                .is_none_or(|path| entry.path() == path || entry.route() == path)
            && self
                .since_unix_ms
                .is_none_or(|since| inner.unix_ms(entry.started) >= since)
    }
}

impl Inner {
    fn unix_ms(&self, at: Instant) -> u64 {
        let since_start = at.saturating_duration_since(self.started);
        self.started_unix_ms + u64::try_from(since_start.as_millis()).unwrap_or(u64::MAX)
    }

    fn view(&self, entry: &Entry) -> RequestEntry {
        let since_start = entry.started.saturating_duration_since(self.started);
        RequestEntry {
            seq: entry.seq,
            method: entry.method.to_string(),
            path: entry.path().to_owned(),
            route: entry.route().to_owned(),
            status: entry.status,
            user: entry.user.map(|user| user.to_string()),
            duration_ms: entry.duration.as_secs_f64() * 1e3,
            faults: entry.faults.iter().map(|name| (*name).to_owned()).collect(),
            start_ms: since_start.as_secs_f64() * 1e3,
            start_unix_ms: self.unix_ms(entry.started),
        }
    }
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(journal: &RequestJournal, path: &str, status: u16) {
        journal.record(Entry::new(
            axum::http::Method::GET,
            Some(path.to_owned()),
            None,
            status,
            Instant::now(),
            Duration::ZERO,
        ));
    }

    fn all() -> Filter {
        Filter {
            limit: usize::MAX,
            ..Filter::default()
        }
    }

    #[test]
    fn keeps_exactly_the_newest_requests_across_its_rings() {
        let journal = RequestJournal::new(SHARDS * 2, Instant::now());
        for i in 0..(SHARDS * 5) {
            record(&journal, &format!("/{i}"), 200);
        }
        let view = journal.query(&all());
        let seqs: Vec<u64> = view.requests.iter().map(|r| r.seq).collect();
        let newest: Vec<u64> = ((SHARDS * 3 + 1) as u64..=(SHARDS * 5) as u64).collect();
        assert_eq!(
            seqs, newest,
            "the union of the rings is the newest 2 x SHARDS"
        );
        assert_eq!(
            view.dropped,
            (SHARDS * 3) as u64,
            "every request pushed out of the rings is counted as dropped"
        );
    }

    #[test]
    fn filters_combine_and_limit_keeps_the_newest() {
        let journal = RequestJournal::new(100, Instant::now());
        record(&journal, "/json", 200);
        record(&journal, "/nope", 404);
        record(&journal, "/json", 200);
        let json = journal.query(&Filter {
            path: Some("/json".to_owned()),
            status: Some(200),
            limit: 1,
            ..Filter::default()
        });
        assert_eq!(
            json.requests.len(),
            1,
            "limit=1 keeps one of the matches: {:?}",
            json.requests
        );
        assert_eq!(json.requests[0].seq, 3, "the newest match");
        let after = journal.query(&Filter {
            after: Some(2),
            ..all()
        });
        assert_eq!(
            after.requests.len(),
            1,
            "after=2 keeps the requests after seq 2: {:?}",
            after.requests
        );
        let user = journal.query(&Filter {
            user: Some(Uuid::new_v4()),
            ..all()
        });
        assert!(user.requests.is_empty(), "no request carried that user");
    }

    #[test]
    fn a_journal_of_size_zero_is_off_and_keeps_nothing() {
        let journal = RequestJournal::new(0, Instant::now());
        record(&journal, "/json", 200);
        let view = journal.query(&all());
        assert!(
            !view.enabled && view.requests.is_empty(),
            "a journal of size 0 is off and keeps nothing: {view:?}"
        );
    }

    #[test]
    fn clear_forgets_but_sequence_numbers_go_on() {
        let journal = RequestJournal::new(100, Instant::now());
        record(&journal, "/json", 200);
        journal.clear();
        record(&journal, "/json", 200);
        assert_eq!(
            journal.query(&all()).requests[0].seq,
            2,
            "a clear does not restart the sequence numbers"
        );
    }
}
