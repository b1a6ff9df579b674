//! `racy-id`: city ids from a shared counter that is read, awaited (the window), then written back
//! (`SELECT max(id) + 1`, or a counter kept in a cache without an atomic increment). Two creates
//! that overlap read the same value and get the same id; the create is an upsert
//! (`INSERT ... ON CONFLICT (id) DO UPDATE`, or a key-value `SET`), so the later one overwrites
//! the earlier city's content while its owner stays. The owner then reads back someone else's
//! city (a leak); the later creator's own read is 404 (its write went into another's row).
//!
//! The fix, [`new_id`]: ids that cannot collide (a UUID, or an atomic `nextval`) and a plain
//! insert.

use shared::api::City;
use uuid::Uuid;

use super::{FaultId, Request, identity::Acting};
use crate::store::CityRecord;

/// The `racy-id` entry points of a request.
#[derive(Debug)]
pub struct Ids<'a>(pub(super) &'a Request<'a>);

impl Ids<'_> {
    /// Creates a city named `name` in `acting.id`'s account and returns what was stored.
    pub async fn create(&self, acting: Acting, name: &str, created_at: String) -> CityRecord {
        let request = self.0;
        let Some(active) = request.firing(FaultId::RacyId) else {
            let record = record(acting, new_id(), name, created_at);
            request.store().insert_city_record(record.clone());
            return record;
        };
        let id = request.faults.shared.city_ids.next_racy(active).await;
        let record = record(acting, id.to_string(), name, created_at);
        // Should the id be taken, the content lands in someone else's row because of this fault.
        match request
            .store()
            .upsert_city_record(record.clone(), Some(FaultId::RacyId))
        {
            None => record,
            Some(before) => {
                // Only a collision is a fire: the id was already taken, the content replaced.
                request.wrote(
                    FaultId::RacyId,
                    Some(acting.user),
                    before.owner,
                    Some(&record.city.id),
                );
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
