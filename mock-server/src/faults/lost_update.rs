//! `lost-update`: a user's cities are one document (a JSON column, a document-store record, a
//! cache entry) that each write reads whole, changes in memory, awaits (the window), and writes
//! back whole. Two overlapping writes by the same user both start from the same old document; the
//! later write-back drops what the earlier one added (or resurrects what it removed).
//!
//! What a client sees: a create acknowledged with 201 whose city is gone: a read is 404, the list
//! lacks it. It needs one user's requests to overlap.
//!
//! The fix (the correct twin of [`append`](Hook::append) and [`remove`](Hook::remove)): change
//! the one element in place, atomically (`UPDATE ... SET cities = array_append(cities, $1)`, a row
//! per city, or an optimistic version check that retries).

use std::time::Duration;

use shared::admin::AccessKind;
use uuid::Uuid;

use super::{
    fault::{Fault, Registered},
    params::params,
    request::{Firing, Hook},
    scope::Fire,
};

params! {
    pub struct Params {
        /// await between reading and writing back the document
        window: Duration = "3ms",
    }
}

/// No state of its own: the document is the store's list of a user's cities.
#[derive(Debug, Default)]
pub struct LostUpdate;

impl Fault for LostUpdate {
    const NAME: &'static str = "lost-update";
    const SUMMARY: &'static str = "a user's cities are one document read whole, awaited, written back whole: concurrent creates or deletes by that user are lost";
    type Params = Params;
}

impl Hook<'_, LostUpdate> {
    /// Adds city `id` to `owner`'s list.
    pub async fn append(&self, owner: Uuid, id: &str) {
        match self.firing() {
            // Correct twin: one atomic append.
            None => self.store().push_city_id(owner, id.to_owned()),
            Some(firing) => {
                self.read_modify_write(owner, firing, None, |ids| ids.push(id.to_owned()))
                    .await
            }
        }
    }

    /// Takes city `id` out of `owner`'s list.
    pub async fn remove(&self, owner: Uuid, id: &str) {
        match self.firing() {
            // Correct twin: one atomic removal.
            None => self.store().remove_city_id(owner, id),
            Some(firing) => {
                self.read_modify_write(owner, firing, Some(id), |ids| {
                    ids.retain(|owned| owned != id)
                })
                .await
            }
        }
    }

    /// The bug: read the whole document, await, write the whole document back.
    async fn read_modify_write(
        &self,
        owner: Uuid,
        firing: Firing<'_, LostUpdate>,
        removed: Option<&str>,
        change: impl FnOnce(&mut Vec<String>),
    ) {
        let mut ids = self.store().city_ids_of(owner);
        firing.pause(firing.params.window).await;
        change(&mut ids);
        let mut lost = self.store().replace_city_ids_of(owner, ids);
        lost.retain(|id| Some(id.as_str()) != removed);
        if lost.is_empty() || self.scope().is_none() {
            return;
        }
        let detail = format!(
            "wrote back a stale list of the caller's cities: lost {}",
            lost.join(", ")
        );
        let mut fire = Fire::new(LostUpdate::ID, AccessKind::Write, detail);
        fire.owner = Some(owner);
        fire.city_id = lost.first().cloned();
        self.record(fire);
    }
}
