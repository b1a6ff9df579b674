//! The oracle's ledger: which virtual user created which city, and who each user is on the server.
//!
//! Shared by every user of this process (an `Arc`). The city map is a sharded `DashMap` (a shard
//! lock per access, never a global one); a UUID id is kept as 16 bytes, so a run of a million
//! creates holds about 40 MB. Users of other generator processes of the same run are not in the
//! ledger, but their markers still name them.

use std::sync::{Mutex, OnceLock};

use dashmap::DashMap;
use uuid::Uuid;

/// A city id as the server gave it, compact when it is a UUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CityKey {
    Uuid(u128),
    Other(Box<str>),
}

impl CityKey {
    pub fn new(id: &str) -> Self {
        match Uuid::try_parse(id) {
            Ok(uuid) => Self::Uuid(uuid.as_u128()),
            Err(_) => Self::Other(id.into()),
        }
    }
}

/// Who created a city: the user's global index and the city's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub user: usize,
    pub seq: u64,
}

/// A recently created city, offered to other users' `--probe-foreign` requests.
#[derive(Debug, Clone)]
pub struct Recent {
    pub id: String,
    pub owner: Owner,
}

/// What every user of this process knows about the others.
#[derive(Debug)]
pub struct Ledger {
    cities: DashMap<CityKey, Owner>,
    /// Server account id of each local user, once registered.
    accounts: Vec<OnceLock<String>>,
    /// Each local user's latest city, for probes (a lock per user, touched once per iteration).
    recent: Vec<Mutex<Option<Recent>>>,
    /// Global index of local user 0, and the stride between local users.
    first: usize,
    stride: usize,
}

impl Ledger {
    /// A ledger for `users` local users whose global indexes are `first + k * stride`.
    pub fn new(users: usize, first: usize, stride: usize) -> Self {
        Self {
            cities: DashMap::new(),
            accounts: (0..users).map(|_| OnceLock::new()).collect(),
            recent: (0..users).map(|_| Mutex::new(None)).collect(),
            first,
            stride: stride.max(1),
        }
    }

    /// The global index of local user `local`.
    pub fn global(&self, local: usize) -> usize {
        self.first + local * self.stride
    }

    fn local(&self, global: usize) -> Option<usize> {
        let offset = global.checked_sub(self.first)?;
        (offset % self.stride == 0)
            .then_some(offset / self.stride)
            .filter(|&local| local < self.accounts.len())
    }

    /// Records `owner` as the creator of `id`. Returns the previous owner when another user had
    /// already been given the same id (the server handed out one id twice).
    pub fn claim(&self, id: &str, owner: Owner) -> Option<Owner> {
        let previous = self.cities.insert(CityKey::new(id), owner);
        if let Some(local) = self.local(owner.user)
            && let Ok(mut slot) = self.recent[local].lock()
        {
            *slot = Some(Recent {
                id: id.to_owned(),
                owner,
            });
        }
        previous.filter(|previous| previous.user != owner.user)
    }

    /// Who created `id`, if a user of this process did.
    pub fn owner_of(&self, id: &str) -> Option<Owner> {
        self.cities.get(&CityKey::new(id)).map(|owner| *owner)
    }

    /// Number of cities recorded.
    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }

    /// Remembers the server account id of global user `user`.
    pub fn set_account(&self, user: usize, id: String) {
        if let Some(local) = self.local(user) {
            let _ = self.accounts[local].set(id);
        }
    }

    /// The server account id of global user `user`, when known.
    pub fn account(&self, user: usize) -> Option<&str> {
        self.accounts
            .get(self.local(user)?)?
            .get()
            .map(String::as_str)
    }

    /// Global index of the local user with server account `id`.
    pub fn user_of_account(&self, id: &str) -> Option<usize> {
        let local = self
            .accounts
            .iter()
            .position(|account| account.get().is_some_and(|a| a == id))?;
        Some(self.global(local))
    }

    /// The latest city of some other local user than `me`, chosen from `pick`.
    pub fn foreign_city(&self, me: usize, pick: usize) -> Option<Recent> {
        let count = self.recent.len();
        (0..count)
            .map(|step| (pick + step) % count)
            .filter(|&local| self.global(local) != me)
            .find_map(|local| self.recent[local].lock().ok()?.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_of_one_id_is_reported() {
        let ledger = Ledger::new(4, 0, 1);
        let id = Uuid::new_v4().to_string();
        assert_eq!(ledger.claim(&id, Owner { user: 1, seq: 1 }), None);
        assert_eq!(ledger.claim(&id, Owner { user: 1, seq: 1 }), None);
        assert_eq!(
            ledger.claim(&id, Owner { user: 2, seq: 5 }),
            Some(Owner { user: 1, seq: 1 })
        );
        assert_eq!(ledger.owner_of(&id), Some(Owner { user: 2, seq: 5 }));
        assert_eq!(ledger.claim("17", Owner { user: 3, seq: 1 }), None);
        assert_eq!(ledger.owner_of("17").map(|o| o.user), Some(3));
    }

    #[test]
    fn workers_partition_global_indexes() {
        let ledger = Ledger::new(3, 1, 2);
        assert_eq!(
            (0..3).map(|k| ledger.global(k)).collect::<Vec<_>>(),
            [1, 3, 5]
        );
        ledger.set_account(3, "acct-3".into());
        ledger.set_account(4, "not-ours".into());
        assert_eq!(ledger.account(3), Some("acct-3"));
        assert_eq!(ledger.account(4), None);
        assert_eq!(ledger.user_of_account("acct-3"), Some(3));
    }

    #[test]
    fn probes_pick_another_users_city() {
        let ledger = Ledger::new(3, 0, 1);
        assert!(ledger.foreign_city(0, 0).is_none());
        ledger.claim("a", Owner { user: 0, seq: 1 });
        assert!(ledger.foreign_city(0, 0).is_none());
        ledger.claim("b", Owner { user: 2, seq: 1 });
        let recent = ledger.foreign_city(0, 0).unwrap();
        assert_eq!((recent.id.as_str(), recent.owner.user), ("b", 2));
    }
}
