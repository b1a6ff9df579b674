//! The faults of one request, as handlers and fault files see them. A handler asks
//! `state.faults.request()` for the request's [`Request`], then each step a fault can break goes
//! through that fault's [`Hook`]: `faults.fault::<Bola>().city(acting, &id)`. A fault file writes
//! its entry points as methods on `Hook<'_, ItsFault>`, reaching its state, its switch and
//! parameters ([`Firing`]), the store and the journal through the hook.
//!
//! Outside a request scope (every fault off) a hook finds nothing switched on, and each entry
//! point runs its correct twin.

use std::{marker::PhantomData, sync::Arc, time::Duration};

use uuid::Uuid;

use super::{
    FaultId, Faults,
    fault::Registered,
    scope::{self, Fire, Scope},
    switchboard::Active,
};
use crate::store::{CityRecord, Store};

/// The faults of one request: a borrowed handle plus the request's scope, if it has one.
#[derive(Debug)]
pub struct Request<'a> {
    faults: &'a Faults,
    scope: Option<Arc<Scope>>,
}

impl Faults {
    /// The fault side of the request being served.
    pub fn request(&self) -> Request<'_> {
        Request {
            faults: self,
            scope: scope::current(),
        }
    }
}

impl<'a> Request<'a> {
    /// Fault `F`'s hook into this request.
    pub fn fault<F: Registered>(&self) -> Hook<'_, F> {
        Hook {
            request: self,
            fault: PhantomData,
        }
    }

    /// Checks what a read is about to send `user`: a city written by someone else is a cross-user
    /// read. It is blamed on the read fault that fired on this request, else on the fault that
    /// planted the data. Call it with every record a response carries.
    pub fn served<'r>(&self, user: Uuid, records: impl IntoIterator<Item = &'r CityRecord>) {
        let Some(scope) = &self.scope else { return };
        let Some(foreign) = records.into_iter().find(|record| record.author != user) else {
            return;
        };
        let blamed = FaultId::ALL
            .iter()
            .copied()
            .find(|id| id.def().blamed_for_reads && scope.has_fired(*id))
            .or(foreign.via.and_then(FaultId::of_tag));
        if let Some(fault) = blamed {
            scope.cross_read(fault, user, foreign);
        }
    }
}

/// Fault `F`'s view of one request.
#[derive(Debug)]
pub struct Hook<'r, F> {
    request: &'r Request<'r>,
    fault: PhantomData<F>,
}

impl<'r, F: Registered> Hook<'r, F> {
    /// The fault's run-time state.
    pub fn state(&self) -> &'r F {
        F::state(&self.request.faults.shared.states)
    }

    /// The fault, if it is on for this request (no decision taken).
    pub fn on(&self) -> Option<Firing<'r, F>> {
        self.scope()?.on::<F>()
    }

    /// The fault, if it is on and its `p` decision says it fires on this request.
    pub fn firing(&self) -> Option<Firing<'r, F>> {
        self.on().filter(|firing| firing.active.decide())
    }

    /// The fault's current parameters, on or off, when the request has a scope.
    pub fn params(&self) -> Option<&'r F::Params> {
        Some(self.scope()?.settings.specs[F::ID.index()].params::<F>())
    }

    pub fn store(&self) -> &'r Store {
        &self.request.faults.shared.store
    }

    /// The request's scope (`None` with every fault off).
    pub fn scope(&self) -> Option<&'r Scope> {
        self.request.scope.as_deref()
    }

    /// A fire of this fault, its kind from the request's method (`None` without a scope).
    pub fn fire(&self, detail: impl Into<String>) -> Option<Fire> {
        let scope = self.scope()?;
        Some(Fire::new(F::ID, scope.kind(), detail))
    }

    /// Records that the fault fired on this request.
    pub fn record(&self, fire: Fire) {
        if let Some(scope) = self.scope() {
            scope.fire(fire);
        }
    }

    /// Records a write of this fault that landed in or overwrote `owner`'s data (`city_id`), made
    /// by `user`; cross-user when they differ. Taints the data when it is.
    pub fn wrote(&self, user: Option<Uuid>, owner: Uuid, city_id: Option<&str>) {
        let Some(scope) = self.scope() else { return };
        let cross_user = user != Some(owner);
        scope.write(F::ID, user, owner, city_id, cross_user);
        if cross_user {
            self.request.faults.taint();
        }
    }
}

/// A fault switched on for a request: its parameters and its racy pause.
#[derive(Debug)]
pub struct Firing<'r, F: Registered> {
    active: &'r Active,
    pub params: &'r F::Params,
}

impl<F: Registered> Clone for Firing<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: Registered> Copy for Firing<'_, F> {}

impl<'r, F: Registered> Firing<'r, F> {
    pub(super) fn new(active: &'r Active) -> Self {
        Self {
            active,
            params: active.spec.params::<F>(),
        }
    }

    /// The barrier (if armed), then `window`: the await inside the race.
    pub async fn pause(&self, window: Duration) {
        self.active.pause(window).await;
    }

    /// Takes this request's `p` decision (for a fault that decides late, after it was reached).
    pub fn decide(&self) -> bool {
        self.active.decide()
    }
}
