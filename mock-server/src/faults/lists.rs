//! `lost-update`: a user's cities are one document (a JSON column, a document-store record, a
//! cache entry) that each write reads whole, changes in memory, awaits (the window), and writes
//! back whole. Two overlapping writes by the same user both start from the same old document; the
//! later write-back drops what the earlier one added (or resurrects what it removed). The lost
//! create was acknowledged with 201 and its city is gone: a read is 404, the list lacks it.
//!
//! The fix ([`Lists::append`]'s and [`Lists::remove`]'s correct twins): change the one element in
//! place, atomically (`UPDATE ... SET cities = array_append(cities, $1)`, a row per city, or an
//! optimistic version check that retries).

use uuid::Uuid;

use super::{Active, FaultId, Fire, Request};

/// The `lost-update` entry points of a request.
#[derive(Debug)]
pub struct Lists<'a>(pub(super) &'a Request<'a>);

impl Lists<'_> {
    /// Adds city `id` to `owner`'s list.
    pub async fn append(&self, owner: Uuid, id: &str) {
        let request = self.0;
        match request.firing(FaultId::LostUpdate) {
            None => request.store().push_city_id(owner, id.to_owned()),
            Some(active) => {
                self.read_modify_write(owner, active, None, |ids| ids.push(id.to_owned()))
                    .await
            }
        }
    }

    /// Takes city `id` out of `owner`'s list.
    pub async fn remove(&self, owner: Uuid, id: &str) {
        let request = self.0;
        match request.firing(FaultId::LostUpdate) {
            None => request.store().remove_city_id(owner, id),
            Some(active) => {
                self.read_modify_write(owner, active, Some(id), |ids| {
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
        active: &Active,
        removed: Option<&str>,
        change: impl FnOnce(&mut Vec<String>),
    ) {
        let request = self.0;
        let mut ids = request.store().city_ids_of(owner);
        active.pause().await;
        change(&mut ids);
        let mut lost = request.store().replace_city_ids_of(owner, ids);
        lost.retain(|id| Some(id.as_str()) != removed);
        if lost.is_empty() {
            return;
        }
        if request.scope.is_some() {
            let mut fire = Fire::new(
                FaultId::LostUpdate,
                shared::admin::AccessKind::Write,
                format!(
                    "wrote back a stale list of the caller's cities: lost {}",
                    lost.join(", ")
                ),
            );
            fire.owner = Some(owner);
            fire.city_id = lost.first().cloned();
            request.fire(fire);
        }
    }
}
