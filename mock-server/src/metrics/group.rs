//! The counters of one (method, route): one [`Counter`] per status, each with its latency
//! histogram.
//!
//! A group exists before its request is answered (the status is not known yet), so a connection
//! can find it once, in the tracking layer's `call`, and keep it for its next request with the
//! same method and path ([`super::Track`]'s hint): a repeated request then skips the route match
//! and the map lookup. The statuses live in fixed slots, each set once (`OnceLock`) by the first
//! answer with a new status, so finding a status is a few loads and never a lock; a route
//! answering more distinct statuses than there are slots keeps the others in a locked list.

use std::{
    sync::{
        Mutex, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use super::{Latency, Series};

/// Statuses a group holds without a lock: a route's usual answers (200, 201, 400, 401, 404,
/// 409, 413, 415, 422, 500, 503...) fit.
const SLOTS: usize = 16;

#[derive(Debug)]
pub struct Group {
    method: String,
    route: String,
    slots: [OnceLock<Counter>; SLOTS],
    /// Statuses beyond the slots.
    more: Mutex<Vec<Counter>>,
    /// Still in the map: [`super::Metrics::clear`] turns it off as it removes it, so that a
    /// connection that kept it looks its group up again.
    live: AtomicBool,
}

/// Requests of one (method, route, status) and their latency.
#[derive(Debug)]
struct Counter {
    status: u16,
    count: AtomicU64,
    latency: Latency,
}

impl Counter {
    fn new(status: u16) -> Self {
        Self {
            status,
            count: AtomicU64::new(0),
            latency: Latency::default(),
        }
    }
}

impl Group {
    pub fn new(method: &str, route: &str) -> Self {
        Self {
            method: method.to_owned(),
            route: route.to_owned(),
            slots: Default::default(),
            more: Mutex::default(),
            live: AtomicBool::new(true),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub(super) fn retire(&self) {
        self.live.store(false, Ordering::Release);
    }

    /// Counts one request answered `status`, with its latency when known.
    pub fn observe(&self, status: u16, elapsed: Option<Duration>) {
        self.with_counter(status, |counter| {
            counter.count.fetch_add(1, Ordering::Relaxed);
            if let Some(elapsed) = elapsed {
                counter.latency.observe(elapsed);
            }
        });
    }

    fn with_counter(&self, status: u16, count: impl FnOnce(&Counter)) {
        for slot in &self.slots {
            // A free slot takes this status; of two first answers racing for one slot, the
            // loser moves on to the next.
            let counter = slot.get_or_init(|| Counter::new(status));
            if counter.status == status {
                return count(counter);
            }
        }
        let mut more = self.more.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match more.iter().position(|counter| counter.status == status) {
            Some(index) => index,
            None => {
                more.push(Counter::new(status));
                more.len() - 1
            }
        };
        count(&more[index]);
    }

    /// Calls `each` with every status counted, as the exposition reads it.
    pub fn each(&self, mut each: impl FnMut(Series)) {
        let series = |counter: &Counter| Series {
            method: self.method.clone(),
            route: self.route.clone(),
            status: counter.status,
            count: counter.count.load(Ordering::Relaxed),
            latency: counter.latency.snapshot(),
        };
        for counter in self.slots.iter().filter_map(OnceLock::get) {
            each(series(counter));
        }
        let more = self.more.lock().unwrap_or_else(PoisonError::into_inner);
        more.iter().for_each(|counter| each(series(counter)));
    }

    /// `"METHOD route"`, and each status with its count.
    pub fn counts(&self, mut each: impl FnMut(u16, u64)) {
        for counter in self.slots.iter().filter_map(OnceLock::get) {
            each(counter.status, counter.count.load(Ordering::Relaxed));
        }
        let more = self.more.lock().unwrap_or_else(PoisonError::into_inner);
        for counter in more.iter() {
            each(counter.status, counter.count.load(Ordering::Relaxed));
        }
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_gets_its_own_counter_also_beyond_the_slots() {
        let group = Group::new("GET", "/json");
        let statuses: Vec<u16> = (0..SLOTS as u16 + 3).map(|i| 200 + i).collect();
        for (times, status) in statuses.iter().enumerate() {
            for _ in 0..=times {
                group.observe(*status, Some(Duration::from_micros(10)));
            }
        }
        group.observe(200, None);
        let mut seen = Vec::new();
        group.counts(|status, count| seen.push((status, count)));
        let expected: Vec<(u16, u64)> = statuses
            .iter()
            .enumerate()
            .map(|(times, status)| (*status, times as u64 + 1 + u64::from(*status == 200)))
            .collect();
        assert_eq!(
            seen, expected,
            "every status is counted once per answer, in the slots and past them"
        );
        let mut latencies = 0;
        group.each(|series| latencies += series.latency.1);
        assert_eq!(
            latencies,
            expected.iter().map(|(_, count)| count).sum::<u64>() - 1,
            "every answer with a latency is in a histogram; the one without is not"
        );
    }
}
