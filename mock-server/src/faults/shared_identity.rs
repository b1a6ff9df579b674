//! `shared-identity`: the second article's bug. A process-wide access-control object (a FastAPI
//! dependency built once and shared, a Spring singleton bean with a field, a module-level
//! "current user" variable) stores the caller's id on itself, awaits (the window, standing in for
//! a database round trip), then returns what it stored. Between the store and the return another
//! request stores its own id, so the first request goes on acting as someone else.
//!
//! What a client sees: cities created in another user's account (its own read is then 404), reads
//! and lists that return another user's cities.
//!
//! The fix, [`resolve_scoped`]: the user belongs to the request. Here the `AuthUser` extractor
//! already is that, so the correct twin simply uses it.

use std::{sync::Mutex, time::Duration};

use uuid::Uuid;

use super::{
    FaultId,
    fault::Fault,
    params::params,
    request::{Firing, Hook},
};
use crate::{auth::AuthUser, store::Tag};

params! {
    pub struct Params {
        /// await between storing and returning the user id
        window: Duration = "3ms",
    }
}

/// The one access-control object of the process: its "current user" field is the bug.
#[derive(Debug, Default)]
pub struct SharedIdentity {
    current_user: Mutex<Option<Uuid>>,
}

impl Fault for SharedIdentity {
    const NAME: &'static str = "shared-identity";
    const SUMMARY: &'static str = "one process-wide access-control object stores the caller's id, awaits, then returns it: requests act as another user";
    const BLAMED_FOR_READS: bool = true;
    type Params = Params;

    fn reset(&self) {
        *self.current_user.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Who a request acts as: `user` is the caller (the token), `id` is whose data the handler
/// touches. They differ only when the shared identity was overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acting {
    pub user: Uuid,
    pub id: Uuid,
}

impl Acting {
    /// A caller acting as themselves.
    pub fn own(user: Uuid) -> Self {
        Self { user, id: user }
    }

    /// The fault to blame for what this caller writes into `id`'s data, if it is not theirs.
    pub fn via(&self) -> Option<Tag> {
        (self.user != self.id).then_some(FaultId::SharedIdentity.tag())
    }
}

impl Hook<'_, SharedIdentity> {
    /// Resolves the user the handler acts as.
    pub async fn resolve(&self, user: AuthUser) -> Acting {
        let Some(firing) = self.firing() else {
            return resolve_scoped(user);
        };
        let id = resolve_shared(self.state(), user, firing).await;
        if id != user.id
            && let Some(mut fire) =
                self.fire(format!("resolved as user {id}; nothing of theirs was sent or written"))
        {
            fire.user = Some(user.id);
            fire.owner = Some(id);
            self.record(fire);
        }
        Acting { user: user.id, id }
    }

    /// Reports a write the handler made as `acting` into city `city_id`: a cross-user write when
    /// the request was acting as someone else.
    pub fn wrote_as(&self, acting: Acting, city_id: &str) {
        if acting.user != acting.id {
            self.wrote(Some(acting.user), acting.id, Some(city_id));
        }
    }
}

/// Correct twin: the identity is the request's own.
fn resolve_scoped(user: AuthUser) -> Acting {
    Acting::own(user.id)
}

/// The bug: store on the shared object, await, read back whatever is there now.
async fn resolve_shared(
    control: &SharedIdentity,
    user: AuthUser,
    firing: Firing<'_, SharedIdentity>,
) -> Uuid {
    *control
        .current_user
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(user.id);
    firing.pause(firing.params.window).await;
    control
        .current_user
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or(user.id)
}
