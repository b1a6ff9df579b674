//! `unscoped-cache`: answers of `GET /cities` and `GET /cities/{id}` are cached for a TTL under a
//! key made of the URL alone, forgetting who asked (a CDN or reverse proxy caching an
//! authenticated API without `Vary: Authorization`, an application cache keyed by path). The
//! first user's answer is served to every user who asks the same URL within the TTL: user B
//! receives user A's list.
//!
//! The fix (the correct twin): per-user data is not put in a shared cache; if it must be cached,
//! the key includes the user (`(user, path)`) and the user's writes invalidate it.

use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::{FaultId, Fire, Request};
use crate::store::CityRecord;

/// Above this many entries, expired ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 10_000;

/// The shared cache, keyed by path and query only.
#[derive(Debug, Default)]
pub struct SharedCache {
    entries: DashMap<String, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    stored: Instant,
    value: Cached,
}

#[derive(Debug, Clone)]
enum Cached {
    One(CityRecord),
    Many(Vec<CityRecord>),
}

impl SharedCache {
    pub fn clear(&self) {
        self.entries.clear();
    }

    fn get(&self, key: &str, ttl: Duration) -> Option<Entry> {
        let entry = self.entries.get(key)?.clone();
        (entry.stored.elapsed() < ttl).then_some(entry)
    }

    fn put(&self, key: String, value: Cached, ttl: Duration) {
        if self.entries.len() > SWEEP_ABOVE {
            self.entries.retain(|_, entry| entry.stored.elapsed() < ttl);
        }
        self.entries.insert(
            key,
            Entry {
                stored: Instant::now(),
                value,
            },
        );
    }
}

/// The `unscoped-cache` entry points of a request.
#[derive(Debug)]
pub struct Cache<'a>(pub(super) &'a Request<'a>);

impl Cache<'_> {
    /// `GET /cities/{id}` through the cache; only found cities are cached.
    pub async fn show(
        &self,
        fetch: impl Future<Output = Option<CityRecord>>,
    ) -> Option<CityRecord> {
        let Some((key, ttl)) = self.lookup_key().await else {
            return fetch.await;
        };
        let cache = &self.0.faults.shared.cache;
        if let Some(entry) = cache.get(&key, ttl)
            && let Cached::One(record) = entry.value
        {
            self.hit(&entry.stored);
            return Some(record);
        }
        let record = fetch.await?;
        cache.put(key, Cached::One(record.clone()), ttl);
        Some(record)
    }

    /// `GET /cities` through the cache.
    pub async fn index(&self, fetch: impl Future<Output = Vec<CityRecord>>) -> Vec<CityRecord> {
        let Some((key, ttl)) = self.lookup_key().await else {
            return fetch.await;
        };
        let cache = &self.0.faults.shared.cache;
        if let Some(entry) = cache.get(&key, ttl)
            && let Cached::Many(records) = entry.value
        {
            self.hit(&entry.stored);
            return records;
        }
        let records = fetch.await;
        cache.put(key, Cached::Many(records.clone()), ttl);
        records
    }

    /// The cache key and TTL when the fault fires on this request, after its pause.
    async fn lookup_key(&self) -> Option<(String, Duration)> {
        let request = self.0;
        let active = request.firing(FaultId::UnscopedCache)?;
        active.pause().await;
        let scope = request.scope.as_ref()?;
        Some((unscoped_key(&scope.uri), active.params.ttl))
    }

    fn hit(&self, stored: &Instant) {
        if let Some(scope) = &self.0.scope {
            self.0.fire(Fire::new(
                FaultId::UnscopedCache,
                scope.kind(),
                format!(
                    "served a cached answer {} ms old",
                    stored.elapsed().as_millis()
                ),
            ));
        }
    }
}

/// The bug itself: the key is the URL (path and query), not who asked.
fn unscoped_key(uri: &str) -> String {
    uri.to_owned()
}
