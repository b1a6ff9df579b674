//! The in-memory store: users, their emails, cities and who owns them.
//!
//! `Store` is a cheap-to-clone handle; handlers call its methods and never touch a map. Every map
//! is a sharded `DashMap` ([`SHARDS`] shards, so that a shard's rehash while the store grows to
//! millions of records stalls only the few creates that hit that shard, and briefly), so there is
//! no global lock on the request path.
//!
//! Locking rule: a method holds at most one map guard at a time and never across an `.await`
//! (a `DashMap` guard is a shard lock; holding it across an await or while taking another map's
//! guard is how deadlocks start). Where a method touches two maps it copies out, drops the guard,
//! then takes the next.
//!
//! Generations: the maps live in one [`Shared`] generation; `POST /__admin/reset` swaps in a new,
//! empty one (freeing the old maps once the last request using them ends) instead of emptying four
//! maps one after another. Each request is pinned to the generation current when it started
//! ([`Store::pinned`], a task-local set by the serving layer), so a request that races a reset
//! lands wholly before it: no city is counted whose owner the reset forgot.
//!
//! Caps: at most `max_users` accounts and `max_records` cities; past a cap creates are refused
//! with `store_full`, never made room for by evicting (a checker would take an eviction for a
//! lost write). The caps are checked before the write, against exact counters: creates already
//! past the check when the cap is reached still land, so the count can pass the cap by at most
//! the number of creates in flight at that moment.

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use arc_swap::ArcSwap;
use dashmap::{DashMap, mapref::entry::Entry};
use shared::api::{City, Page};
use uuid::Uuid;

pub use crate::limits::{Caps, DEFAULT_MAX_RECORDS, DEFAULT_MAX_USERS};
use crate::password::PasswordHash;

/// Shards per map. dashmap's default is 4 x cores rounded up to a power of two (8 here); at 5M
/// cities a shard then holds 625k entries and its rehash stalled creates for up to 286 ms.
pub const SHARDS: usize = 512;
/// An opaque mark a writer above the store puts on a record it wrote into someone else's city
/// (the fault catalogue stores which fault did it). The store keeps it and never reads it, so it
/// needs to know nothing of what wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub u16);

/// A registered account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password: PasswordHash,
}

/// A stored city, its owner, and who wrote its content.
#[derive(Debug, Clone)]
pub struct CityRecord {
    pub owner: Uuid,
    /// Who wrote the current content: the owner, unless a fault let another user write it.
    pub author: Uuid,
    /// What let `author` write into `owner`'s city, when they differ: the tag of the layer above
    /// (the fault catalogue tags a fault's write), kept and never read here.
    pub via: Option<Tag>,
    pub city: City,
}

impl CityRecord {
    /// A city written by its own owner.
    pub fn own(owner: Uuid, city: City) -> Self {
        Self {
            owner,
            author: owner,
            via: None,
            city,
        }
    }
}

/// A create refused because the store holds its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store holds its cap of {cap} {what}")]
pub struct StoreFull {
    /// `users` or `cities`.
    pub what: &'static str,
    pub cap: usize,
}

/// Handle to the shared store.
#[derive(Debug, Clone)]
pub struct Store {
    current: Arc<ArcSwap<Shared>>,
    caps: Caps,
    /// Tells this store's generations from another store's in the same process (tests run many).
    id: u64,
    shards: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(Caps::default())
    }
}

/// One generation of the store's maps.
#[derive(Debug)]
pub struct Shared {
    store: u64,
    users: DashMap<Uuid, User>,
    /// Lower-cased email -> user id; the uniqueness check and insert are one `entry` call.
    emails: DashMap<String, Uuid>,
    cities: DashMap<String, CityRecord>,
    /// Each user's city ids, oldest first (the order of `GET /cities`).
    owned: DashMap<Uuid, Vec<String>>,
    /// Exact sizes of `users` and `cities` (a `DashMap::len` locks every shard).
    user_count: AtomicUsize,
    city_count: AtomicUsize,
}

impl Shared {
    fn new(store: u64, shards: usize) -> Self {
        Self {
            store,
            users: DashMap::with_shard_amount(shards),
            emails: DashMap::with_shard_amount(shards),
            cities: DashMap::with_shard_amount(shards),
            owned: DashMap::with_shard_amount(shards),
            user_count: AtomicUsize::new(0),
            city_count: AtomicUsize::new(0),
        }
    }

    fn added_cities(&self, n: usize) {
        self.city_count.fetch_add(n, Ordering::Relaxed);
    }

    fn removed_cities(&self, n: usize) {
        self.city_count.fetch_sub(n, Ordering::Relaxed);
    }
}

tokio::task_local! {
    /// The generation the current request is pinned to, if any.
    static PINNED: Option<Arc<Shared>>;
}

/// A future run pinned to one store generation.
pub type Pinned<F> = tokio::task::futures::TaskLocalFuture<Option<Arc<Shared>>, F>;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl Store {
    /// An empty store with these caps.
    pub fn new(caps: Caps) -> Self {
        Self::with_shards(caps, SHARDS)
    }

    /// An empty store with `shards` shards per map (a power of two, at least 2): for the growth
    /// benchmark, which compares shard counts.
    pub fn with_shards(caps: Caps, shards: usize) -> Self {
        let id = NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed);
        Self {
            current: Arc::new(ArcSwap::from_pointee(Shared::new(id, shards))),
            caps,
            id,
            shards,
        }
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Runs `future` pinned to the current generation: every store call it makes sees that one,
    /// even after a reset. `pin: false` runs it unpinned (for routes that never touch the store).
    pub fn pinned<F: Future>(&self, future: F, pin: bool) -> Pinned<F> {
        let generation = pin.then(|| self.current.load_full());
        PINNED.scope(generation, future)
    }

    /// Calls `f` with the request's pinned generation, or the current one.
    fn with<R>(&self, f: impl FnOnce(&Shared) -> R) -> R {
        let mut f = Some(f);
        let pinned = PINNED.try_with(|pinned| match pinned {
            Some(shared) if shared.store == self.id => f.take().map(|f| f(shared)),
            _ => None,
        });
        match (pinned, f) {
            (Ok(Some(result)), _) => result,
            (_, Some(f)) => f(&self.current.load()),
            (_, None) => unreachable!("`f` runs once: either pinned or current"),
        }
    }

    /// `Err` when the store holds `max_records` cities.
    pub fn room_for_city(&self) -> Result<(), StoreFull> {
        let count = self.city_count();
        (count < self.caps.max_records)
            .then_some(())
            .ok_or(StoreFull {
                what: "cities",
                cap: self.caps.max_records,
            })
    }

    /// `Err` when the store holds `max_users` accounts.
    pub fn room_for_user(&self) -> Result<(), StoreFull> {
        let count = self.user_count();
        (count < self.caps.max_users)
            .then_some(())
            .ok_or(StoreFull {
                what: "users",
                cap: self.caps.max_users,
            })
    }
}

/// Why a registration failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("email already registered")]
pub struct EmailTaken;

impl Store {
    /// Inserts `user` under a unique constraint on the email (case-insensitive): the uniqueness
    /// check and the insert are one `entry` call, so of two concurrent inserts of one email, one
    /// fails. `register-race`'s correct twin.
    pub fn insert_user(&self, user: User) -> Result<(), EmailTaken> {
        self.with(|shared| {
            match shared.emails.entry(user.email.to_ascii_lowercase()) {
                Entry::Occupied(_) => return Err(EmailTaken),
                Entry::Vacant(slot) => {
                    slot.insert(user.id);
                }
            }
            if shared.users.insert(user.id, user).is_none() {
                shared.user_count.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    }

    /// Whether an email is taken (the racy "check" half of a check-then-insert).
    pub fn email_taken(&self, email: &str) -> bool {
        self.with(|shared| shared.emails.contains_key(&email.to_ascii_lowercase()))
    }

    /// Inserts (or overwrites) an account row and points its email at it, without the uniqueness
    /// check: the racy "insert" half. Only fault code uses it. Returns the row it overwrote and
    /// the account the email pointed at before, if any.
    pub fn insert_user_unchecked(&self, user: User) -> (Option<User>, Option<Uuid>) {
        self.with(|shared| {
            let overwritten = shared.users.insert(user.id, user.clone());
            if overwritten.is_none() {
                shared.user_count.fetch_add(1, Ordering::Relaxed);
            }
            let previous = shared
                .emails
                .insert(user.email.to_ascii_lowercase(), user.id);
            (overwritten, previous)
        })
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        let id =
            self.with(|shared| shared.emails.get(&email.to_ascii_lowercase()).map(|id| *id))?;
        self.user(id)
    }

    pub fn user(&self, id: Uuid) -> Option<User> {
        self.with(|shared| shared.users.get(&id).map(|user| user.clone()))
    }

    pub fn user_exists(&self, id: Uuid) -> bool {
        self.with(|shared| shared.users.contains_key(&id))
    }

    /// Stores a city record (not yet in any list).
    pub fn insert_city_record(&self, record: CityRecord) {
        self.with(|shared| {
            if shared
                .cities
                .insert(record.city.id.clone(), record)
                .is_none()
            {
                shared.added_cities(1);
            }
        });
    }

    /// Stores `record` or, if its id exists, overwrites that city's content while keeping its
    /// owner (an `INSERT ... ON CONFLICT (id) DO UPDATE`), blaming `via` if that makes the content
    /// someone else's. Returns the record as it was before.
    pub fn upsert_city_record(
        &self,
        mut record: CityRecord,
        via: Option<Tag>,
    ) -> Option<CityRecord> {
        self.with(|shared| match shared.cities.entry(record.city.id.clone()) {
            Entry::Occupied(mut slot) => {
                record.owner = slot.get().owner;
                record.via = if record.owner == record.author {
                    None
                } else {
                    via
                };
                Some(slot.insert(record))
            }
            Entry::Vacant(slot) => {
                slot.insert(record);
                shared.added_cities(1);
                None
            }
        })
    }

    /// Appends `id` to `owner`'s list, atomically (one entry guard).
    pub fn push_city_id(&self, owner: Uuid, id: String) {
        self.with(|shared| shared.owned.entry(owner).or_default().push(id));
    }

    /// Removes `id` from `owner`'s list, atomically.
    pub fn remove_city_id(&self, owner: Uuid, id: &str) {
        self.with(|shared| {
            if let Some(mut ids) = shared.owned.get_mut(&owner) {
                ids.retain(|owned| owned != id);
            }
        });
    }

    /// Writes `owner`'s whole list back as `ids`, like a document store saving the user document:
    /// cities of the old list that the new one lacks are gone. Returns their ids.
    pub fn replace_city_ids_of(&self, owner: Uuid, ids: Vec<String>) -> Vec<String> {
        let keep: HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.with(|shared| {
            let old = shared.owned.insert(owner, ids.clone()).unwrap_or_default();
            let lost: Vec<String> = old
                .into_iter()
                .filter(|id| !keep.contains(id.as_str()))
                .collect();
            for id in &lost {
                if shared
                    .cities
                    .remove_if(id, |_, record| record.owner == owner)
                    .is_some()
                {
                    shared.removed_cities(1);
                }
            }
            lost
        })
    }

    /// The record of city `id` if `owner` owns it.
    pub fn city_record_of(&self, owner: Uuid, id: &str) -> Option<CityRecord> {
        self.with(|shared| {
            shared
                .cities
                .get(id)
                .filter(|record| record.owner == owner)
                .map(|record| record.clone())
        })
    }

    /// A page of `owner`'s city records, oldest first.
    pub fn city_records_of(&self, owner: Uuid, page: Page) -> Vec<CityRecord> {
        let ids: Vec<String> = match self.with(|shared| {
            shared.owned.get(&owner).map(|ids| {
                ids.iter()
                    .skip(page.offset)
                    .take(page.limit)
                    .cloned()
                    .collect()
            })
        }) {
            Some(ids) => ids,
            None => return Vec::new(),
        };
        ids.iter()
            .filter_map(|id| self.city_record_of(owner, id))
            .collect()
    }

    /// Renames city `id` to `name`, written by `author`; with `owner` given, only if that user
    /// owns it. Returns the record before and after.
    pub fn rename_city_record(
        &self,
        id: &str,
        owner: Option<Uuid>,
        name: &str,
        author: Uuid,
        via: Option<Tag>,
    ) -> Option<(CityRecord, CityRecord)> {
        self.with(|shared| {
            let mut record = shared
                .cities
                .get_mut(id)
                .filter(|record| owner.is_none_or(|owner| record.owner == owner))?;
            let before = record.clone();
            record.city.name = name.to_owned();
            record.author = author;
            record.via = if record.owner == author { None } else { via };
            Some((before, record.clone()))
        })
    }

    /// Removes city `id`; with `owner` given, only if that user owns it. The owner's list is left
    /// to the caller. Returns the removed record.
    pub fn remove_city_record(&self, id: &str, owner: Option<Uuid>) -> Option<CityRecord> {
        self.with(|shared| {
            let removed = shared
                .cities
                .remove_if(id, |_, record| {
                    owner.is_none_or(|owner| record.owner == owner)
                })
                .map(|(_, record)| record);
            if removed.is_some() {
                shared.removed_cities(1);
            }
            removed
        })
    }

    /// The city `id` and its owner, whoever that is (for fault code and the journal).
    pub fn city_record(&self, id: &str) -> Option<CityRecord> {
        self.with(|shared| shared.cities.get(id).map(|record| record.clone()))
    }

    /// `owner`'s city ids, whole (what the `lost-update` fault reads and writes back).
    pub fn city_ids_of(&self, owner: Uuid) -> Vec<String> {
        self.with(|shared| {
            shared
                .owned
                .get(&owner)
                .map(|ids| ids.clone())
                .unwrap_or_default()
        })
    }

    pub fn user_count(&self) -> usize {
        self.with(|shared| shared.user_count.load(Ordering::Relaxed))
    }

    pub fn city_count(&self) -> usize {
        self.with(|shared| shared.city_count.load(Ordering::Relaxed))
    }

    /// Forgets every user and city at once: swaps in an empty generation. The old maps are freed
    /// when the last request pinned to them ends.
    pub fn clear(&self) {
        self.current
            .store(Arc::new(Shared::new(self.id, self.shards)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city(id: &str) -> CityRecord {
        CityRecord::own(
            Uuid::nil(),
            City {
                id: id.to_owned(),
                name: "Lisbon".to_owned(),
                created_at: String::new(),
            },
        )
    }

    #[test]
    fn clear_frees_the_old_generation() {
        let store = Store::default();
        store.insert_city_record(city("a"));
        let old = Arc::downgrade(&store.current.load_full());
        store.clear();
        assert_eq!(store.city_count(), 0, "the new generation is empty");
        assert!(
            old.upgrade().is_none(),
            "nothing holds the old maps any more"
        );
    }

    #[tokio::test]
    async fn a_pinned_request_keeps_its_generation_across_a_reset() {
        let store = Store::default();
        let (reset_done, reset_seen) = tokio::sync::oneshot::channel::<()>();
        let pinned = store.clone();
        let request = store.pinned(
            async move {
                reset_seen.await.unwrap();
                // Lands in the generation the request started in, which the reset dropped.
                pinned.insert_city_record(city("late"));
                pinned.city_count()
            },
            true,
        );
        let request = tokio::spawn(request);
        store.clear();
        reset_done.send(()).unwrap();
        assert_eq!(request.await.unwrap(), 1, "the request saw its own write");
        assert_eq!(store.city_count(), 0, "the reset generation holds nothing");
    }

    #[test]
    fn counts_follow_inserts_overwrites_and_removals_and_caps_refuse() {
        let store = Store::new(Caps {
            max_users: 10,
            max_records: 2,
        });
        store.insert_city_record(city("a"));
        store.insert_city_record(city("a"));
        assert_eq!(store.city_count(), 1, "an overwrite is not a new city");
        assert!(
            store.room_for_city().is_ok(),
            "one city under a cap of 2 leaves room"
        );
        store.insert_city_record(city("b"));
        assert_eq!(
            store.room_for_city(),
            Err(StoreFull {
                what: "cities",
                cap: 2
            }),
            "a second city fills the cap of 2, so there is no room"
        );
        store.remove_city_record("a", None);
        assert_eq!(
            store.city_count(),
            1,
            "a delete removes the city from the count"
        );
        assert!(store.room_for_city().is_ok(), "a delete makes room");
    }
}
