//! `bola`: broken object-level authorization (OWASP API Security Top 10, API1). The handler
//! authenticates the caller, then loads `/cities/{id}` by id alone: `SELECT * FROM cities WHERE
//! id = $1`, forgetting `AND owner = $2`.
//!
//! What a client sees: any user who knows (or guesses) an id reads, renames or deletes someone
//! else's city: 200 instead of 404. Not a race: it shows with one request at a time, which is how
//! a user tells it apart from the race faults.
//!
//! The fix (the correct twin of each method): every lookup by id is scoped to the owner, and a
//! city of someone else answers 404 exactly like a missing one.

use std::time::Duration;

use super::{
    fault::{Fault, Registered},
    params::NoParams,
    request::Hook,
    shared_identity::Acting,
};
use crate::store::CityRecord;


/// No state: the bug is a missing condition.
#[derive(Debug, Default)]
pub struct Bola;

impl Fault for Bola {
    const NAME: &'static str = "bola";
    const SUMMARY: &'static str = "GET/PUT/DELETE /cities/{id} skip the ownership check (OWASP API1, broken object-level authorization); deterministic";
    const BLAMED_FOR_READS: bool = true;
    type Params = NoParams;
}

impl Hook<'_, Bola> {
    /// City `id` as `acting` may see it.
    pub async fn city(&self, acting: Acting, id: &str) -> Option<CityRecord> {
        let Some(firing) = self.firing() else {
            // Correct twin: by id and owner.
            return self.store().city_record_of(acting.id, id);
        };
        firing.pause(Duration::ZERO).await;
        // The bug: by id alone.
        let record = self.store().city_record(id)?;
        if record.owner != acting.id
            && let Some(mut fire) = self.fire("read a city without checking its owner")
        {
            fire.user = Some(acting.user);
            fire.owner = Some(record.owner);
            fire.city_id = Some(record.city.id.clone());
            self.record(fire);
        }
        Some(record)
    }

    /// Renames city `id`; returns the city before and after.
    pub async fn rename(
        &self,
        acting: Acting,
        id: &str,
        name: &str,
    ) -> Option<(CityRecord, CityRecord)> {
        let store = self.store();
        let Some(firing) = self.firing() else {
            return store.rename_city_record(id, Some(acting.id), name, acting.user, acting.via());
        };
        firing.pause(Duration::ZERO).await;
        let (before, after) =
            store.rename_city_record(id, None, name, acting.user, Some(Bola::ID.tag()))?;
        if before.owner != acting.id {
            self.wrote(Some(acting.user), before.owner, Some(id));
        }
        Some((before, after))
    }

    /// Deletes city `id` (its record; the owner's list is the caller's business). Returns it.
    pub async fn delete(&self, acting: Acting, id: &str) -> Option<CityRecord> {
        let store = self.store();
        let Some(firing) = self.firing() else {
            return store.remove_city_record(id, Some(acting.id));
        };
        firing.pause(Duration::ZERO).await;
        let record = store.remove_city_record(id, None)?;
        if record.owner != acting.id {
            self.wrote(Some(acting.user), record.owner, Some(id));
        }
        Some(record)
    }
}
