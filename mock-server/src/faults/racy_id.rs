//! `racy-id`: city ids from a shared counter that is read, awaited (the window), then written back
//! (`SELECT max(id) + 1`, or a counter kept in a cache without an atomic increment). Two creates
//! that overlap read the same value and get the same id; the create is an upsert
//! (`INSERT ... ON CONFLICT (id) DO UPDATE`, or a key-value `SET`), so the later one overwrites
//! the earlier city's content while its owner stays.
//!
//! What a client sees: two creates get one sequential id; the owner reads back the later creator's
//! name (a leak), the later creator's own read is 404 (its write went into another's row).
//!
//! The fix, [`new_id`] and a plain insert: ids that cannot collide (a UUID, or an atomic
//! `nextval`).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use shared::api::City;
use uuid::Uuid;

use super::{
    fault::{Fault, Registered},
    params::params,
    request::{Firing, Hook},
    shared_identity::Acting,
};
use crate::store::CityRecord;

params! {
    pub struct Params {
        /// await between reading and writing back the counter
        window: Duration = "3ms",
    }
}

/// The shared id counter.
#[derive(Debug, Default)]
pub struct RacyId {
    last: AtomicU64,
}

impl Fault for RacyId {
    const NAME: &'static str = "racy-id";
    const SUMMARY: &'static str = "city ids from a shared counter read, awaited, written back; a duplicate id upserts over another user's city";
    type Params = Params;

    fn reset(&self) {
        self.last.store(0, Ordering::Relaxed);
    }
}

impl RacyId {
    /// The bug: read the last number, await (the window), write back one more. Two requests
    /// inside one window both get the same number.
    async fn next_racy(&self, firing: Firing<'_, RacyId>) -> u64 {
        let next = self.last.load(Ordering::Acquire) + 1;
        firing.pause(firing.params.window).await;
        self.last.store(next, Ordering::Release);
        next
    }
}

impl Hook<'_, RacyId> {
    /// Creates a city named `name` in `acting.id`'s account and returns what was stored.
    pub async fn create(&self, acting: Acting, name: &str, created_at: String) -> CityRecord {
        let Some(firing) = self.firing() else {
            let record = record(acting, new_id(), name, created_at);
            self.store().insert_city_record(record.clone());
            return record;
        };
        let id = self.state().next_racy(firing).await;
        let record = record(acting, id.to_string(), name, created_at);
        // Should the id be taken, the content lands in someone else's row because of this fault.
        match self
            .store()
            .upsert_city_record(record.clone(), Some(RacyId::ID.tag()))
        {
            None => record,
            Some(before) => {
                // Only a collision is a fire: the id was already taken, the content replaced.
                self.wrote(Some(acting.user), before.owner, Some(&record.city.id));
                CityRecord {
                    owner: before.owner,
                    ..record
                }
            }
        }
    }
}

fn record(acting: Acting, id: String, name: &str, created_at: String) -> CityRecord {
    CityRecord {
        owner: acting.id,
        author: acting.user,
        via: acting.via(),
        city: City {
            id,
            name: name.to_owned(),
            created_at,
        },
    }
}

/// Correct twin: an id no other request can get.
fn new_id() -> String {
    Uuid::new_v4().to_string()
}
