//! The oracle's ledger: which virtual user created which record, and who each user is on the server.
//!
//! Shared by every user of this process (an `Arc`). The record map is a sharded `DashMap` (a shard
//! lock per access, never a global one); a UUID id is kept as 16 bytes. Users of other generator
//! processes of the same run are not in the ledger, but their markers still name them.
//!
//! The ledger keeps only what the oracle still needs, so its memory stays flat in a long run:
//! - a deleted record is forgotten ([`Ledger::forget`]): the server may give its id to another
//!   user's next record, which is then not a leak. A record whose delete is in flight is marked
//!   ([`Ledger::deleting`]) so that a reuse racing the delete's answer is not taken for one either;
//! - records never deleted are kept in a window of the newest [`Ledger::window`] per identity;
//!   older ones are forgotten and counted ([`Ledger::evicted`]): a forgotten id is no longer
//!   recognised by id (its marker still is), and the report says how many were forgotten.

use std::{
    collections::VecDeque,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use dashmap::DashMap;
use uuid::Uuid;

/// A record id as the server gave it, compact when it is a UUID.
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

/// Who created a record: the user's global index and the record's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub user: usize,
    pub seq: u64,
}

/// A ledger entry: the owner, and whether its delete is in flight.
#[derive(Debug, Clone, Copy)]
struct Entry {
    owner: Owner,
    deleting: bool,
}

/// A recently created record, offered to other users' `--probe-foreign` requests.
#[derive(Debug, Clone)]
pub struct Recent {
    pub id: String,
    pub owner: Owner,
}

/// One local identity's slot: its latest record (for probes) and its window of live ids.
#[derive(Debug, Default)]
struct Slot {
    recent: Option<Recent>,
    window: VecDeque<CityKey>,
}

/// Records tracked in all per-identity windows together (about 60 bytes each).
const BUDGET: usize = 1 << 20;
/// Smallest window per identity, whatever the number of identities.
const MIN_WINDOW: usize = 256;

/// What every user of this process knows about the others.
#[derive(Debug)]
pub struct Ledger {
    cities: DashMap<CityKey, Entry>,
    /// Server account id of each local user, once registered.
    accounts: Vec<OnceLock<String>>,
    /// Each local identity's slot (a lock per identity, touched once per create or delete).
    slots: Vec<Mutex<Slot>>,
    /// Newest records kept per identity.
    window: usize,
    /// Records forgotten because they fell out of a window (never deleted).
    evicted: AtomicU64,
    /// Records forgotten because their owner deleted them.
    deleted: AtomicU64,
    /// Global index of local user 0, and the stride between local users.
    first: usize,
    stride: usize,
}

impl Ledger {
    /// A ledger for `users` local users whose global indexes are `first + k * stride`.
    pub fn new(users: usize, first: usize, stride: usize) -> Self {
        Self::with_window(
            users,
            first,
            stride,
            (BUDGET / users.max(1)).max(MIN_WINDOW),
        )
    }

    /// As [`Ledger::new`], keeping the newest `window` records per identity.
    pub fn with_window(users: usize, first: usize, stride: usize, window: usize) -> Self {
        Self {
            cities: DashMap::new(),
            accounts: (0..users).map(|_| OnceLock::new()).collect(),
            slots: (0..users).map(|_| Mutex::new(Slot::default())).collect(),
            window: window.max(1),
            evicted: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            first,
            stride: stride.max(1),
        }
    }

    /// The global index of local user `local`.
    pub fn global(&self, local: usize) -> usize {
        self.first + local * self.stride
    }

    /// The local index of global user `global`, when it is one of this process's.
    pub(crate) fn local(&self, global: usize) -> Option<usize> {
        let offset = global.checked_sub(self.first)?;
        (offset % self.stride == 0)
            .then_some(offset / self.stride)
            .filter(|&local| local < self.accounts.len())
    }

    fn slot(&self, user: usize) -> Option<std::sync::MutexGuard<'_, Slot>> {
        let local = self.local(user)?;
        Some(
            self.slots[local]
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Records `owner` as the creator of `id`. Returns the previous owner when another user still
    /// held the same id (the server handed out one id twice); an id whose previous owner deleted
    /// it, or is deleting it, is free to reuse.
    pub fn claim(&self, id: &str, owner: Owner) -> Option<Owner> {
        let key = CityKey::new(id);
        let previous = self.cities.insert(
            key.clone(),
            Entry {
                owner,
                deleting: false,
            },
        );
        if let Some(mut slot) = self.slot(owner.user) {
            slot.recent = Some(Recent {
                id: id.to_owned(),
                owner,
            });
            if previous.is_none_or(|p| p.owner.user != owner.user) {
                slot.window.push_back(key);
            }
            while slot.window.len() > self.window {
                let Some(old) = slot.window.pop_front() else {
                    break;
                };
                if self
                    .cities
                    .remove_if(&old, |_, entry| entry.owner.user == owner.user)
                    .is_some()
                {
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        previous
            .filter(|previous| !previous.deleting && previous.owner.user != owner.user)
            .map(|previous| previous.owner)
    }

    /// Marks `id` of `owner` as being deleted: from now on its id may be reused.
    pub fn deleting(&self, id: &str, owner: Owner) {
        if let Some(mut entry) = self.cities.get_mut(&CityKey::new(id))
            && entry.owner == owner
        {
            entry.deleting = true;
        }
        if let Some(mut slot) = self.slot(owner.user)
            && slot.recent.as_ref().is_some_and(|recent| recent.id == id)
        {
            slot.recent = None;
        }
    }

    /// Forgets `id` of `owner` after its delete (also when the delete did not succeed, as its
    /// state is then unknown). Another user's record under the same id is kept.
    pub fn forget(&self, id: &str, owner: Owner) {
        let key = CityKey::new(id);
        if self
            .cities
            .remove_if(&key, |_, entry| entry.owner == owner)
            .is_some()
        {
            self.deleted.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(mut slot) = self.slot(owner.user) {
            // The deleted record is nearly always the newest.
            if let Some(at) = slot.window.iter().rposition(|k| *k == key) {
                slot.window.remove(at);
            }
            if slot.recent.as_ref().is_some_and(|recent| recent.id == id) {
                slot.recent = None;
            }
        }
    }

    /// Who created `id`, if a user of this process did and the ledger still holds it.
    pub fn owner_of(&self, id: &str) -> Option<Owner> {
        self.cities
            .get(&CityKey::new(id))
            .filter(|entry| !entry.deleting)
            .map(|entry| entry.owner)
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }

    /// Newest records kept per identity.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Records forgotten because they fell out of their identity's window.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Records forgotten because they were deleted.
    pub fn deleted(&self) -> u64 {
        self.deleted.load(Ordering::Relaxed)
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

    /// The latest record of some other local user than `me`, chosen from `pick`.
    pub fn foreign_city(&self, me: usize, pick: usize) -> Option<Recent> {
        let count = self.slots.len();
        (0..count)
            .map(|step| (pick + step) % count)
            .filter(|&local| self.global(local) != me)
            .find_map(|local| self.slots[local].lock().ok()?.recent.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_of_one_id_is_reported() {
        let ledger = Ledger::new(4, 0, 1);
        let id = Uuid::new_v4().to_string();
        assert_eq!(
            ledger.claim(&id, Owner { user: 1, seq: 1 }),
            None,
            "a first claim has no previous owner"
        );
        assert_eq!(
            ledger.claim(&id, Owner { user: 1, seq: 1 }),
            None,
            "claiming again as the same owner is no change of owner"
        );
        assert_eq!(
            ledger.claim(&id, Owner { user: 2, seq: 5 }),
            Some(Owner { user: 1, seq: 1 }),
            "a claim by another owner reports the previous owner"
        );
        assert_eq!(
            ledger.owner_of(&id),
            Some(Owner { user: 2, seq: 5 }),
            "the newest claim owns the id"
        );
        assert_eq!(
            ledger.claim("17", Owner { user: 3, seq: 1 }),
            None,
            "a new id has no previous owner"
        );
        assert_eq!(
            ledger.owner_of("17").map(|o| o.user),
            Some(3),
            "the new id belongs to its claimer"
        );
    }

    #[test]
    fn workers_partition_global_indexes() {
        let ledger = Ledger::new(3, 1, 2);
        assert_eq!(
            (0..3).map(|k| ledger.global(k)).collect::<Vec<_>>(),
            [1, 3, 5],
            "worker 1 of 2 owns every second global index"
        );
        ledger.set_account(3, "acct-3".into());
        ledger.set_account(4, "not-ours".into());
        assert_eq!(
            ledger.account(3),
            Some("acct-3"),
            "a user's account is recorded"
        );
        assert_eq!(
            ledger.account(4),
            None,
            "a user without an account has none"
        );
        assert_eq!(
            ledger.user_of_account("acct-3"),
            Some(3),
            "an account maps back to its user"
        );
    }

    #[test]
    fn probes_pick_another_users_city() {
        let ledger = Ledger::new(3, 0, 1);
        assert!(
            ledger.foreign_city(0, 0).is_none(),
            "an empty ledger has no foreign city"
        );
        ledger.claim("a", Owner { user: 0, seq: 1 });
        assert!(
            ledger.foreign_city(0, 0).is_none(),
            "a user's own city is not foreign to it"
        );
        ledger.claim("b", Owner { user: 2, seq: 1 });
        let recent = ledger.foreign_city(0, 0).unwrap();
        assert_eq!(
            (recent.id.as_str(), recent.owner.user),
            ("b", 2),
            "the most recent foreign city is offered"
        );
    }

    #[test]
    fn a_deleted_id_reused_by_another_user_is_not_a_leak() {
        let ledger = Ledger::new(4, 0, 1);
        let first = Owner { user: 1, seq: 1 };
        assert_eq!(
            ledger.claim("5", first),
            None,
            "a first claim has no previous owner"
        );
        ledger.forget("5", first);
        assert_eq!(ledger.owner_of("5"), None, "a deleted id has no owner");
        assert_eq!(
            ledger.claim("5", Owner { user: 2, seq: 1 }),
            None,
            "a deleted id can be claimed afresh"
        );
        // A late forget of the old owner keeps the new one.
        ledger.forget("5", first);
        assert_eq!(
            ledger.owner_of("5").map(|o| o.user),
            Some(2),
            "the new claimer owns the reused id"
        );
        assert_eq!(
            (ledger.len(), ledger.deleted()),
            (1, 1),
            "the ledger holds the one live id and counts the delete"
        );
    }

    #[test]
    fn an_id_reused_while_its_delete_is_in_flight_is_not_a_leak() {
        let ledger = Ledger::new(4, 0, 1);
        let first = Owner { user: 1, seq: 1 };
        ledger.claim("5", first);
        ledger.deleting("5", first);
        assert_eq!(
            ledger.owner_of("5"),
            None,
            "a record whose delete is in flight has no owner"
        );
        assert!(
            ledger.foreign_city(0, 0).is_none(),
            "a deleted record is not probed"
        );
        assert_eq!(
            ledger.claim("5", Owner { user: 2, seq: 1 }),
            None,
            "a deleted id can be claimed afresh"
        );
        ledger.forget("5", first);
        assert_eq!(
            ledger.owner_of("5").map(|o| o.user),
            Some(2),
            "the new claimer owns the reused id"
        );
    }

    #[test]
    fn records_never_deleted_are_bounded_per_identity_and_counted() {
        let ledger = Ledger::with_window(2, 0, 1, 3);
        for seq in 0..10 {
            ledger.claim(&format!("a{seq}"), Owner { user: 0, seq });
            ledger.claim(&format!("b{seq}"), Owner { user: 1, seq });
        }
        assert_eq!(ledger.len(), 6, "three newest per identity");
        assert_eq!(
            ledger.evicted(),
            14,
            "ids past the cap are evicted, oldest first"
        );
        assert_eq!(
            ledger.owner_of("a9").map(|o| o.seq),
            Some(9),
            "the newest ids stay"
        );
        assert_eq!(ledger.owner_of("a6"), None, "forgotten, and counted");
    }
}
