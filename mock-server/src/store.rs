//! The in-memory store: users, their emails, cities and who owns them.
//!
//! `Store` is a cheap-to-clone handle over `Arc<Shared>`; handlers call its methods and never touch
//! a map. Every map is a sharded `DashMap`, so there is no global lock on the request path.
//!
//! Locking rule: a method holds at most one map guard at a time and never across an `.await`
//! (a `DashMap` guard is a shard lock; holding it across an await or while taking another map's
//! guard is how deadlocks start). Where a method touches two maps it copies out, drops the guard,
//! then takes the next.

use std::sync::Arc;

use dashmap::{DashMap, mapref::entry::Entry};
use shared::api::{City, Page};
use uuid::Uuid;

/// A registered account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password: crate::auth::PasswordHash,
}

/// A stored city and its owner.
#[derive(Debug, Clone)]
pub struct CityRecord {
    pub owner: Uuid,
    pub city: City,
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
    /// Registers `email` atomically: of two concurrent registrations of one email, one fails.
    pub fn register(
        &self,
        email: &str,
        password: crate::auth::PasswordHash,
    ) -> Result<User, EmailTaken> {
        let key = email.to_ascii_lowercase();
        let user = User {
            id: Uuid::new_v4(),
            email: email.to_owned(),
            password,
        };
        match self.shared.emails.entry(key) {
            Entry::Occupied(_) => return Err(EmailTaken),
            Entry::Vacant(slot) => {
                slot.insert(user.id);
            }
        }
        self.shared.users.insert(user.id, user.clone());
        Ok(user)
    }

    /// Whether an email is taken (the racy "check" half of a check-then-insert).
    pub fn email_taken(&self, email: &str) -> bool {
        self.shared.emails.contains_key(&email.to_ascii_lowercase())
    }

    /// Inserts a user without the uniqueness check: the racy "insert" half. Only fault code uses
    /// it; the last writer of an email wins the email index.
    pub fn insert_user_unchecked(&self, email: &str, password: crate::auth::PasswordHash) -> User {
        let user = User {
            id: Uuid::new_v4(),
            email: email.to_owned(),
            password,
        };
        self.shared.users.insert(user.id, user.clone());
        self.shared
            .emails
            .insert(email.to_ascii_lowercase(), user.id);
        user
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

    /// Stores `city` for `owner` and appends it to the owner's list.
    pub fn insert_city(&self, owner: Uuid, city: City) {
        let id = city.id.clone();
        self.shared
            .cities
            .insert(id.clone(), CityRecord { owner, city });
        self.shared.owned.entry(owner).or_default().push(id);
    }

    /// The city `id` if `owner` owns it. A city of someone else is `None`, exactly like a missing one.
    pub fn city_of(&self, owner: Uuid, id: &str) -> Option<City> {
        self.shared
            .cities
            .get(id)
            .filter(|record| record.owner == owner)
            .map(|record| record.city.clone())
    }

    /// The city `id` and its owner, whoever that is (for fault code and the journal).
    pub fn city_record(&self, id: &str) -> Option<CityRecord> {
        self.shared.cities.get(id).map(|record| record.clone())
    }

    /// A page of `owner`'s cities, oldest first.
    pub fn cities_of(&self, owner: Uuid, page: Page) -> Vec<City> {
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
            .filter_map(|id| self.city_of(owner, id))
            .collect()
    }

    /// `owner`'s city ids, whole (what the `lost-update` fault reads and writes back).
    pub fn city_ids_of(&self, owner: Uuid) -> Vec<String> {
        self.shared
            .owned
            .get(&owner)
            .map(|ids| ids.clone())
            .unwrap_or_default()
    }

    /// Replaces `owner`'s whole list of city ids.
    pub fn set_city_ids_of(&self, owner: Uuid, ids: Vec<String>) {
        self.shared.owned.insert(owner, ids);
    }

    /// Renames `owner`'s city `id`; `None` when it is not theirs or does not exist.
    pub fn rename_city(&self, owner: Uuid, id: &str, name: &str) -> Option<City> {
        let mut record = self
            .shared
            .cities
            .get_mut(id)
            .filter(|record| record.owner == owner)?;
        record.city.name = name.to_owned();
        Some(record.city.clone())
    }

    /// Deletes `owner`'s city `id`; false when it is not theirs or does not exist.
    pub fn delete_city(&self, owner: Uuid, id: &str) -> bool {
        if self
            .shared
            .cities
            .remove_if(id, |_, record| record.owner == owner)
            .is_none()
        {
            return false;
        }
        if let Some(mut ids) = self.shared.owned.get_mut(&owner) {
            ids.retain(|owned| owned != id);
        }
        true
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
