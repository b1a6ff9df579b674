//! `stale-read`: reads are served from a replica that receives each write only after a
//! replication lag (asynchronous database replication, a read-through cache filled on write, an
//! eventually consistent store).
//!
//! What a client sees: a read right after a create is 404, a read right after a rename shows the
//! old name, a read right after a delete still finds the city: a read-your-writes violation. Not
//! a leak: nobody sees anyone else's data.
//!
//! Modelled by remembering, per written city, when the replica will have it and what the replica
//! shows until then. The fix (the correct twin, the `primary` each read is given): read your own
//! writes from the primary, or pin a session to the primary for the lag after it wrote.

use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::{fault::Fault, params::params, request::Hook, shared_identity::Acting};
use crate::store::CityRecord;

params! {
    pub struct Params {
        /// replication lag of each write
        lag: Duration = "100ms",
    }
}

/// Above this many lagging writes, expired ones are swept out on the next write.
const SWEEP_ABOVE: usize = 10_000;

/// What the replica has not caught up with yet.
#[derive(Debug, Default)]
pub struct StaleRead {
    lagging: DashMap<String, Lagging>,
}

impl Fault for StaleRead {
    const NAME: &'static str = "stale-read";
    const SUMMARY: &'static str = "reads are served from a replica that gets writes after a lag: a read right after a create is 404 (read-your-writes violation)";
    const BLAMED_FOR_READS: bool = true;
    type Params = Params;

    fn on_change(&self, _params: &Params, on: bool) {
        if !on {
            self.reset();
        }
    }

    fn reset(&self) {
        self.lagging.clear();
    }
}

#[derive(Debug, Clone)]
struct Lagging {
    /// When the replica catches up with the write.
    visible_at: Instant,
    /// What the replica shows until then: nothing (a create) or the old city.
    before: Option<CityRecord>,
}

impl Hook<'_, StaleRead> {
    /// A city was written; `before` is what it was (`None` for a create).
    pub fn wrote_city(&self, id: &str, before: Option<CityRecord>) {
        let Some(firing) = self.firing() else {
            return;
        };
        let replica = &self.state().lagging;
        let now = Instant::now();
        if replica.len() > SWEEP_ABOVE {
            replica.retain(|_, lagging| lagging.visible_at > now);
        }
        let visible_at = now + firing.params.lag;
        // A second write before the replica caught up keeps the oldest state the replica has.
        replica
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
        let Some(on) = self.on() else {
            return primary;
        };
        on.pause(Duration::ZERO).await;
        let replica = &self.state().lagging;
        let Some(lagging) = replica.get(id).map(|lagging| lagging.clone()) else {
            return primary;
        };
        if lagging.visible_at <= Instant::now() {
            replica.remove_if(id, |_, lagging| lagging.visible_at <= Instant::now());
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
        let detail = match &stale {
            None => format!("the replica does not have city {id} yet"),
            Some(_) => format!("the replica still has an older state of city {id}"),
        };
        if let Some(mut fire) = self.fire(detail) {
            fire.user = Some(acting.user);
            fire.owner = primary.as_ref().or(stale.as_ref()).map(|r| r.owner);
            fire.city_id = Some(id.to_owned());
            self.record(fire);
        }
        stale
    }

    /// A list as the replica serves it: cities it does not have yet are missing.
    pub fn list(&self, mut records: Vec<CityRecord>) -> Vec<CityRecord> {
        if self.on().is_none() {
            return records;
        }
        let replica = &self.state().lagging;
        let now = Instant::now();
        let before = records.len();
        records.retain(|record| {
            replica
                .get(&record.city.id)
                .is_none_or(|lagging| lagging.before.is_some() || lagging.visible_at <= now)
        });
        let missing = before - records.len();
        if missing > 0
            && let Some(fire) = self.fire(format!(
                "the replica's list lacks {missing} city(ies) not replicated yet"
            ))
        {
            self.record(fire);
        }
        records
    }
}
