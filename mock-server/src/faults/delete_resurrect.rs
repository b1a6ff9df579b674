//! `delete-resurrect`: a rename reads the city, awaits (the window: a validation call, a slow
//! ORM save), then writes the whole record back with an upsert (`INSERT ... ON CONFLICT DO
//! UPDATE`, `save()` of a detached object). A delete that lands in the window is undone: the
//! write-back inserts the record again.
//!
//! What a client sees: a delete acknowledged with 204, and the city readable again afterwards (a
//! "zombie"). It needs the owner's rename and delete of one city to overlap (two tabs, a retry);
//! no read right after a plain delete shows it.
//!
//! The fix (the correct twin of [`rename`](Hook::rename)): the rename changes the record in place
//! under the store's entry guard (`UPDATE ... WHERE id = $1`), which re-checks that it still
//! exists: a rename that loses the race to the delete answers 404.

use std::time::Duration;

use super::{
    fault::Fault,
    params::params,
    request::Hook,
    shared_identity::Acting,
};
use crate::store::CityRecord;

params! {
    pub struct Params {
        /// await between reading the city and writing it back
        window: Duration = "20ms",
    }
}

/// No state: the bug is an upsert where an update belongs.
#[derive(Debug, Default)]
pub struct DeleteResurrect;

impl Fault for DeleteResurrect {
    const NAME: &'static str = "delete-resurrect";
    const SUMMARY: &'static str = "a rename reads the city, awaits, writes it back whole: a delete in between is undone";
    type Params = Params;
}

impl Hook<'_, DeleteResurrect> {
    /// Renames `acting`'s city `id` when the fault is on (`None`: it is off, the caller renames
    /// as usual); the inner `None` is "no such city".
    pub async fn rename(
        &self,
        acting: Acting,
        id: &str,
        name: &str,
    ) -> Option<Option<(CityRecord, CityRecord)>> {
        let on = self.on()?;
        let store = self.store();
        if !on.decide() {
            // Correct twin: in place, under the entry guard; a deleted city stays deleted.
            return Some(store.rename_city_record(
                id,
                Some(acting.id),
                name,
                acting.user,
                acting.via(),
            ));
        }
        // The bug: read, await, write the whole record back.
        let Some(before) = store.city_record_of(acting.id, id) else {
            return Some(None);
        };
        on.pause(on.params.window).await;
        let mut after = before.clone();
        after.city.name = name.to_owned();
        after.author = acting.user;
        if store.upsert_city_record(after.clone(), None).is_none()
            && let Some(mut fire) = self.fire("wrote back a city deleted during the rename")
        {
            fire.owner = Some(before.owner);
            fire.city_id = Some(id.to_owned());
            self.record(fire);
        }
        Some(Some((before, after)))
    }
}
