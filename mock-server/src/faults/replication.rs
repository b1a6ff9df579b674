//! `stale-read`: reads are served from a replica that receives each write only after a
//! replication lag (asynchronous database replication, a read-through cache filled on write, an
//! eventually consistent store). A read right after a create is 404, a read right after a rename
//! shows the old name, a read right after a delete still finds the city: a read-your-writes
//! violation. Not a leak: nobody sees anyone else's data.
//!
//! Modelled by remembering, per written city, when the replica will have it and what the replica
//! shows until then. The fix (the correct twin): read your own writes from the primary, or pin a
//! session to the primary for the lag after it wrote.

use std::time::Instant;

use dashmap::DashMap;

use super::{FaultId, Fire, Request, identity::Acting};
use crate::store::CityRecord;

/// Above this many lagging writes, expired ones are swept out on the next write.
const SWEEP_ABOVE: usize = 10_000;

/// What the replica has not caught up with yet.
#[derive(Debug, Default)]
pub struct Replica {
    lagging: DashMap<String, Lagging>,
}

#[derive(Debug, Clone)]
struct Lagging {
    /// When the replica catches up with the write.
    visible_at: Instant,
    /// What the replica shows until then: nothing (a create) or the old city.
    before: Option<CityRecord>,
}

impl Replica {
    pub fn clear(&self) {
        self.lagging.clear();
    }
}

/// The `stale-read` entry points of a request.
#[derive(Debug)]
pub struct Replication<'a>(pub(super) &'a Request<'a>);

impl Replication<'_> {
    /// A city was written; `before` is what it was (`None` for a create).
    pub fn wrote(&self, id: &str, before: Option<CityRecord>) {
        let request = self.0;
        let Some(active) = request.firing(FaultId::StaleRead) else {
            return;
        };
        let replica = &request.faults.shared.replica;
        let now = Instant::now();
        if replica.lagging.len() > SWEEP_ABOVE {
            replica
                .lagging
                .retain(|_, lagging| lagging.visible_at > now);
        }
        let visible_at = now + active.params.lag;
        // A second write before the replica caught up keeps the oldest state the replica has.
        replica
            .lagging
            .entry(id.to_owned())
            .and_modify(|lagging| lagging.visible_at = visible_at)
            .or_insert(Lagging { visible_at, before });
    }

    /// City `id` as the replica serves it, given what the primary holds.
    pub async fn read(
        &self,
        acting: Acting,
        id: &str,
        primary: Option<CityRecord>,
    ) -> Option<CityRecord> {
        let request = self.0;
        let Some(active) = request.on(FaultId::StaleRead) else {
            return primary;
        };
        active.barrier.wait().await;
        let replica = &request.faults.shared.replica;
        let Some(lagging) = replica.lagging.get(id).map(|lagging| lagging.clone()) else {
            return primary;
        };
        if lagging.visible_at <= Instant::now() {
            replica
                .lagging
                .remove_if(id, |_, lagging| lagging.visible_at <= Instant::now());
            return primary;
        }
        // What the replica has, as far as this caller may see it (the ownership check holds on
        // the replica too).
        let stale = lagging.before.filter(|before| {
            before.owner == acting.id || primary.as_ref().is_some_and(|p| p.owner == before.owner)
        });
        let differs = match (&primary, &stale) {
            (None, None) => false,
            (Some(primary), Some(stale)) => primary.city != stale.city,
            _ => true,
        };
        if !differs {
            return primary;
        }
        if let Some(scope) = &request.scope {
            let mut fire = Fire::new(
                FaultId::StaleRead,
                scope.kind(),
                match &stale {
                    None => format!("the replica does not have city {id} yet"),
                    Some(_) => format!("the replica still has an older state of city {id}"),
                },
            );
            fire.user = Some(acting.user);
            fire.owner = primary.as_ref().or(stale.as_ref()).map(|r| r.owner);
            fire.city_id = Some(id.to_owned());
            request.fire(fire);
        }
        stale
    }

    /// A list as the replica serves it: cities it does not have yet are missing.
    pub fn list(&self, mut records: Vec<CityRecord>) -> Vec<CityRecord> {
        let request = self.0;
        if request.on(FaultId::StaleRead).is_none() {
            return records;
        }
        let replica = &request.faults.shared.replica;
        let now = Instant::now();
        let before = records.len();
        records.retain(|record| {
            replica
                .lagging
                .get(&record.city.id)
                .is_none_or(|lagging| lagging.before.is_some() || lagging.visible_at <= now)
        });
        if records.len() < before
            && let Some(scope) = &request.scope
        {
            request.fire(Fire::new(
                FaultId::StaleRead,
                scope.kind(),
                format!(
                    "the replica's list lacks {} city(ies) not replicated yet",
                    before - records.len()
                ),
            ));
        }
        records
    }
}
