//! `unscoped-cache`: answers of `GET /cities` and `GET /cities/{id}` are cached for a TTL under a
//! key made of the URL alone, forgetting who asked (a CDN or reverse proxy caching an
//! authenticated API without `Vary: Authorization`, an application cache keyed by path).
//!
//! What a client sees: the first user's answer is served to every user who asks the same URL
//! within the TTL: user B receives user A's list or city.
//!
//! The correct twin is the same cache done right: the key includes whose data it is
//! ([`Key::scoped`]) and that user's writes invalidate it (a generation per user). It serves the
//! requests the fault's `p` decision spares; with the fault off nothing is cached at all.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use uuid::Uuid;

use super::{fault::Fault, params::params, request::Hook, shared_identity::Acting};
use crate::store::CityRecord;

params! {
    pub struct Params {
        /// how long a cached answer is served
        ttl: Duration = "1s",
        /// await before the cache lookup
        window: Duration = "0",
    }
}

/// Above this many entries, expired ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 10_000;

/// The cache and, for the twin, each user's write generation.
#[derive(Debug, Default)]
pub struct UnscopedCache {
    entries: DashMap<Key, Entry>,
    generations: DashMap<Uuid, u64>,
}

impl Fault for UnscopedCache {
    const NAME: &'static str = "unscoped-cache";
    const SUMMARY: &'static str = "GET /cities and /cities/{id} cached under a key without the user (CDN cache-key leak): users get each other's answers";
    const BLAMED_FOR_READS: bool = true;
    type Params = Params;

    fn on_change(&self, _params: &Params, _on: bool) {
        self.reset();
    }

    fn reset(&self) {
        self.entries.clear();
        self.generations.clear();
    }
}

/// A cache key: the URL (path and query), and whose data it is unless the key is the bug.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    owner: Option<Uuid>,
    uri: String,
}

impl Key {
    /// The bug: the key is the URL, not who asked.
    fn unscoped(uri: &str) -> Self {
        Self {
            owner: None,
            uri: uri.to_owned(),
        }
    }

    /// Correct twin: the key names whose data the answer holds.
    fn scoped(owner: Uuid, uri: &str) -> Self {
        Self {
            owner: Some(owner),
            uri: uri.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    stored: Instant,
    /// The owner's write generation when stored (twin entries; 0 for the bug's).
    generation: u64,
    value: Cached,
}

#[derive(Debug, Clone)]
enum Cached {
    One(CityRecord),
    Many(Vec<CityRecord>),
}

impl UnscopedCache {
    fn generation(&self, key: &Key) -> u64 {
        key.owner
            .and_then(|owner| self.generations.get(&owner).map(|g| *g))
            .unwrap_or(0)
    }

    /// A fresh entry: within the TTL and, for a scoped key, not older than its owner's last write.
    fn get(&self, key: &Key, ttl: Duration) -> Option<Entry> {
        let entry = self.entries.get(key)?.clone();
        let fresh = entry.stored.elapsed() < ttl && entry.generation == self.generation(key);
        fresh.then_some(entry)
    }

    fn put(&self, key: Key, value: Cached, ttl: Duration) {
        if self.entries.len() > SWEEP_ABOVE {
            self.entries.retain(|_, entry| entry.stored.elapsed() < ttl);
        }
        let generation = self.generation(&key);
        let stored = Instant::now();
        let entry = Entry {
            stored,
            generation,
            value,
        };
        self.entries.insert(key, entry);
    }
}

/// How one request uses the cache.
struct Lookup {
    key: Key,
    ttl: Duration,
    /// Whether the key is the bug's (hits are journalled).
    unscoped: bool,
}

impl Hook<'_, UnscopedCache> {
    /// `GET /cities/{id}` through the cache; only found cities are cached.
    pub async fn show(
        &self,
        acting: Acting,
        fetch: impl Future<Output = Option<CityRecord>>,
    ) -> Option<CityRecord> {
        let Some(lookup) = self.lookup(acting).await else {
            return fetch.await;
        };
        let cache = self.state();
        if let Some(entry) = cache.get(&lookup.key, lookup.ttl)
            && let Cached::One(record) = entry.value
        {
            self.hit(&lookup, entry.stored);
            return Some(record);
        }
        let record = fetch.await?;
        cache.put(lookup.key, Cached::One(record.clone()), lookup.ttl);
        Some(record)
    }

    /// `GET /cities` through the cache.
    pub async fn index(
        &self,
        acting: Acting,
        fetch: impl Future<Output = Vec<CityRecord>>,
    ) -> Vec<CityRecord> {
        let Some(lookup) = self.lookup(acting).await else {
            return fetch.await;
        };
        let cache = self.state();
        if let Some(entry) = cache.get(&lookup.key, lookup.ttl)
            && let Cached::Many(records) = entry.value
        {
            self.hit(&lookup, entry.stored);
            return records;
        }
        let records = fetch.await;
        cache.put(lookup.key, Cached::Many(records.clone()), lookup.ttl);
        records
    }

    /// `owner`'s data changed: the twin's entries for them are stale.
    pub fn wrote_to(&self, owner: Uuid) {
        if self.on().is_some() {
            *self.state().generations.entry(owner).or_default() += 1;
        }
    }

    /// The key this request uses while the fault is on: the bug's when it fires (after its
    /// pause), the twin's otherwise.
    async fn lookup(&self, acting: Acting) -> Option<Lookup> {
        let on = self.on()?;
        let uri = &self.scope()?.uri;
        let ttl = on.params.ttl;
        if !on.decide() {
            let key = Key::scoped(acting.id, uri);
            return Some(Lookup { key, ttl, unscoped: false });
        }
        on.pause(on.params.window).await;
        let key = Key::unscoped(uri);
        Some(Lookup { key, ttl, unscoped: true })
    }

    fn hit(&self, lookup: &Lookup, stored: Instant) {
        if !lookup.unscoped {
            return;
        }
        let age = stored.elapsed().as_millis();
        if let Some(fire) = self.fire(format!("served a cached answer {age} ms old")) {
            self.record(fire);
        }
    }
}
