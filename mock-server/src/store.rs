//! The in-memory store: users, their emails, cities and who owns them.
//!
//! `Store` is a cheap-to-clone handle over `Arc<Shared>`; handlers call its methods and never touch
//! a map. Every map is a sharded `DashMap`, so there is no global lock on the request path.
//!
//! Locking rule: a method holds at most one map guard at a time and never across an `.await`
//! (a `DashMap` guard is a shard lock; holding it across an await or while taking another map's
//! guard is how deadlocks start). Where a method touches two maps it copies out, drops the guard,
//! then takes the next.

use std::{collections::HashSet, sync::Arc};

use dashmap::{DashMap, mapref::entry::Entry};
use shared::api::{City, Page};
use uuid::Uuid;

use crate::faults::FaultId;

/// A registered account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password: crate::auth::PasswordHash,
}

/// A stored city, its owner, and who wrote its content.
#[derive(Debug, Clone)]
pub struct CityRecord {
    pub owner: Uuid,
    /// Who wrote the current content: the owner, unless a fault let another user write it.
    pub author: Uuid,
    /// The fault under which `author` wrote into `owner`'s city, when they differ.
    pub via: Option<FaultId>,
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

/// Handle to the shared store.
#[derive(Debug, Clone, Default)]
pub struct Store {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    users: DashMap<Uuid, User>,
    /// Lower-cased email -> user id; the uniqueness check and insert are one `entry` call.
    emails: DashMap<String, Uuid>,
    cities: DashMap<String, CityRecord>,
    /// Each user's city ids, oldest first (the order of `GET /cities`).
    owned: DashMap<Uuid, Vec<String>>,
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
        match self.shared.emails.entry(user.email.to_ascii_lowercase()) {
            Entry::Occupied(_) => return Err(EmailTaken),
            Entry::Vacant(slot) => {
                slot.insert(user.id);
            }
        }
        self.shared.users.insert(user.id, user);
        Ok(())
    }

    /// Whether an email is taken (the racy "check" half of a check-then-insert).
    pub fn email_taken(&self, email: &str) -> bool {
        self.shared.emails.contains_key(&email.to_ascii_lowercase())
    }

    /// Inserts (or overwrites) an account row and points its email at it, without the uniqueness
    /// check: the racy "insert" half. Only fault code uses it. Returns the row it overwrote and
    /// the account the email pointed at before, if any.
    pub fn insert_user_unchecked(&self, user: User) -> (Option<User>, Option<Uuid>) {
        let overwritten = self.shared.users.insert(user.id, user.clone());
        let previous = self
            .shared
            .emails
            .insert(user.email.to_ascii_lowercase(), user.id);
        (overwritten, previous)
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        let id = *self.shared.emails.get(&email.to_ascii_lowercase())?;
        self.user(id)
    }

    pub fn user(&self, id: Uuid) -> Option<User> {
        self.shared.users.get(&id).map(|user| user.clone())
    }

    pub fn user_exists(&self, id: Uuid) -> bool {
        self.shared.users.contains_key(&id)
    }

    /// Stores a city record (not yet in any list).
    pub fn insert_city_record(&self, record: CityRecord) {
        self.shared.cities.insert(record.city.id.clone(), record);
    }

    /// Stores `record` or, if its id exists, overwrites that city's content while keeping its
    /// owner (an `INSERT ... ON CONFLICT (id) DO UPDATE`), blaming `via` if that makes the content
    /// someone else's. Returns the record as it was before.
    pub fn upsert_city_record(
        &self,
        mut record: CityRecord,
        via: Option<FaultId>,
    ) -> Option<CityRecord> {
        match self.shared.cities.entry(record.city.id.clone()) {
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
                None
            }
        }
    }

    /// Appends `id` to `owner`'s list, atomically (one entry guard).
    pub fn push_city_id(&self, owner: Uuid, id: String) {
        self.shared.owned.entry(owner).or_default().push(id);
    }

    /// Removes `id` from `owner`'s list, atomically.
    pub fn remove_city_id(&self, owner: Uuid, id: &str) {
        if let Some(mut ids) = self.shared.owned.get_mut(&owner) {
            ids.retain(|owned| owned != id);
        }
    }

    /// Writes `owner`'s whole list back as `ids`, like a document store saving the user document:
    /// cities of the old list that the new one lacks are gone. Returns their ids.
    pub fn replace_city_ids_of(&self, owner: Uuid, ids: Vec<String>) -> Vec<String> {
        let keep: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let old = self
            .shared
            .owned
            .insert(owner, ids.clone())
            .unwrap_or_default();
        let lost: Vec<String> = old
            .into_iter()
            .filter(|id| !keep.contains(id.as_str()))
            .collect();
        for id in &lost {
            self.shared
                .cities
                .remove_if(id, |_, record| record.owner == owner);
        }
        lost
    }

    /// The record of city `id` if `owner` owns it.
    pub fn city_record_of(&self, owner: Uuid, id: &str) -> Option<CityRecord> {
        self.shared
            .cities
            .get(id)
            .filter(|record| record.owner == owner)
            .map(|record| record.clone())
    }

    /// A page of `owner`'s city records, oldest first.
    pub fn city_records_of(&self, owner: Uuid, page: Page) -> Vec<CityRecord> {
        let ids: Vec<String> = match self.shared.owned.get(&owner) {
            Some(ids) => ids
                .iter()
                .skip(page.offset)
                .take(page.limit)
                .cloned()
                .collect(),
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
        via: Option<FaultId>,
    ) -> Option<(CityRecord, CityRecord)> {
        let mut record = self
            .shared
            .cities
            .get_mut(id)
            .filter(|record| owner.is_none_or(|owner| record.owner == owner))?;
        let before = record.clone();
        record.city.name = name.to_owned();
        record.author = author;
        record.via = if record.owner == author { None } else { via };
        Some((before, record.clone()))
    }

    /// Removes city `id`; with `owner` given, only if that user owns it. The owner's list is left
    /// to the caller. Returns the removed record.
    pub fn remove_city_record(&self, id: &str, owner: Option<Uuid>) -> Option<CityRecord> {
        self.shared
            .cities
            .remove_if(id, |_, record| {
                owner.is_none_or(|owner| record.owner == owner)
            })
            .map(|(_, record)| record)
    }

    /// The city `id` and its owner, whoever that is (for fault code and the journal).
    pub fn city_record(&self, id: &str) -> Option<CityRecord> {
        self.shared.cities.get(id).map(|record| record.clone())
    }

    /// `owner`'s city ids, whole (what the `lost-update` fault reads and writes back).
    pub fn city_ids_of(&self, owner: Uuid) -> Vec<String> {
        self.shared
            .owned
            .get(&owner)
            .map(|ids| ids.clone())
            .unwrap_or_default()
    }

    pub fn user_count(&self) -> usize {
        self.shared.users.len()
    }

    pub fn city_count(&self) -> usize {
        self.shared.cities.len()
    }

    /// Forgets every user and city.
    pub fn clear(&self) {
        self.shared.owned.clear();
        self.shared.cities.clear();
        self.shared.emails.clear();
        self.shared.users.clear();
    }
}
