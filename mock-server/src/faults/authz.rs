//! `bola`: broken object-level authorization (OWASP API Security Top 10, API1). The handler
//! authenticates the caller, then loads `/cities/{id}` by id alone: `SELECT * FROM cities WHERE
//! id = $1`, forgetting `AND owner = $2`. Any user who knows (or guesses) an id reads, renames or
//! deletes someone else's city. Not a race: it shows with one request at a time, which is how a
//! user tells it apart from the race faults.
//!
//! The fix (the correct twin of each method): every lookup by id is scoped to the owner, and a
//! city of someone else answers 404 exactly like a missing one.

use super::{FaultId, Fire, Request, identity::Acting};
use crate::store::CityRecord;

/// The `bola` entry points of a request.
#[derive(Debug)]
pub struct Authz<'a>(pub(super) &'a Request<'a>);

impl Authz<'_> {
    /// City `id` as `acting` may see it.
    pub async fn city(&self, acting: Acting, id: &str) -> Option<CityRecord> {
        let request = self.0;
        let Some(active) = request.firing(FaultId::Bola) else {
            return request.store().city_record_of(acting.id, id);
        };
        active.pause().await;
        // The bug: by id alone.
        let record = request.store().city_record(id)?;
        if record.owner != acting.id {
            self.fired(acting, &record, "read a city without checking its owner");
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
        let request = self.0;
        let store = request.store();
        let Some(active) = request.firing(FaultId::Bola) else {
            return store.rename_city_record(id, Some(acting.id), name, acting.user, acting.via());
        };
        active.pause().await;
        let (before, after) =
            store.rename_city_record(id, None, name, acting.user, Some(FaultId::Bola))?;
        if before.owner != acting.id {
            request.wrote(FaultId::Bola, Some(acting.user), before.owner, Some(id));
        }
        Some((before, after))
    }

    /// Deletes city `id` (its record; the owner's list is the caller's business). Returns it.
    pub async fn delete(&self, acting: Acting, id: &str) -> Option<CityRecord> {
        let request = self.0;
        let store = request.store();
        let Some(active) = request.firing(FaultId::Bola) else {
            return store.remove_city_record(id, Some(acting.id));
        };
        active.pause().await;
        let record = store.remove_city_record(id, None)?;
        if record.owner != acting.id {
            request.wrote(FaultId::Bola, Some(acting.user), record.owner, Some(id));
        }
        Some(record)
    }

    fn fired(&self, acting: Acting, record: &CityRecord, detail: &str) {
        if let Some(scope) = &self.0.scope {
            let mut fire = Fire::new(FaultId::Bola, scope.kind(), detail);
            fire.user = Some(acting.user);
            fire.owner = Some(record.owner);
            fire.city_id = Some(record.city.id.clone());
            self.0.fire(fire);
        }
    }
}
