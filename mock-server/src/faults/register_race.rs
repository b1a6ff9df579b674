//! `register-race`: registration is a check-then-insert spread over two round trips. It checks
//! that the email is free and takes the next account number (`SELECT count(*) + 1`), awaits (the
//! window), then inserts the account row without a unique constraint. Two overlapping
//! registrations both pass the check and get the same account number; the later insert
//! overwrites the earlier account's row.
//!
//! What a client sees: both registrations got 201, and the earlier user's token login now
//! resolves to the other account (same password: a token for it, so the two users share one
//! account and see each other's cities) or fails (different password: 401). With one email
//! registered twice, both registrations succeed and the email points at the later account.
//!
//! The fix, [`register_unique`]: ids that cannot collide and a unique constraint (here one atomic
//! `entry` on the store's email index, `Store::insert_user`).

use std::time::Duration;

use shared::admin::AccessKind;
use uuid::Uuid;

use super::{
    fault::{Fault, Registered},
    params::params,
    request::{Firing, Hook},
    scope::Fire,
};
use crate::{
    password::PasswordHash,
    store::{EmailTaken, Store, User},
};

params! {
    pub struct Params {
        /// await between the check and the insert
        window: Duration = "3ms",
    }
}

/// No state of its own: the race is between the store's count and its insert.
#[derive(Debug, Default)]
pub struct RegisterRace;

impl Fault for RegisterRace {
    const NAME: &'static str = "register-race";
    const SUMMARY: &'static str = "registration checks the email and takes the next account number, awaits, then inserts: accounts collide and logins resolve to another account";
    type Params = Params;
}

impl Hook<'_, RegisterRace> {
    /// Registers `email`.
    pub async fn register(&self, email: &str, password: PasswordHash) -> Result<User, EmailTaken> {
        match self.firing() {
            None => register_unique(self.store(), email, password),
            Some(firing) => self.register_racy(email, password, firing).await,
        }
    }

    /// The bug: check, take a number, await, insert.
    async fn register_racy(
        &self,
        email: &str,
        password: PasswordHash,
        firing: Firing<'_, RegisterRace>,
    ) -> Result<User, EmailTaken> {
        let store = self.store();
        if store.email_taken(email) {
            return Err(EmailTaken);
        }
        // Account `n` gets the id `Uuid::from_u128(n)`.
        let number = store.user_count() as u128 + 1;
        firing.pause(firing.params.window).await;
        let user = User {
            id: Uuid::from_u128(number),
            email: email.to_owned(),
            password,
        };
        let (overwritten, previous) = store.insert_user_unchecked(user.clone());
        let victim = match (overwritten, previous) {
            (Some(old), _) => Some((
                old.id,
                format!(
                    "registration of {email} overwrote the account row of {} (same account number)",
                    old.email
                ),
            )),
            (None, Some(previous)) if previous != user.id => Some((
                previous,
                format!("registration of {email} took the email over from account {previous}"),
            )),
            _ => None,
        };
        if let Some((owner, detail)) = victim
            && self.scope().is_some()
        {
            let mut fire = Fire::new(RegisterRace::ID, AccessKind::Write, detail);
            fire.owner = Some(owner);
            fire.cross_user = true;
            self.record(fire);
        }
        Ok(user)
    }

    /// The account a token login for `email` with `password` gets, if any.
    pub fn login(&self, email: &str, password: &str) -> Option<User> {
        let user = self
            .store()
            .user_by_email(email)
            .filter(|user| user.password.verify(password))?;
        // A login that resolves to an account registered under another email is the visible
        // consequence of an earlier collision.
        if !user.email.eq_ignore_ascii_case(email) && self.scope().is_some() {
            let detail = format!(
                "login as {email} resolved to the account registered by {}",
                user.email
            );
            let mut fire = Fire::new(RegisterRace::ID, AccessKind::Read, detail);
            fire.owner = Some(user.id);
            fire.cross_user = true;
            self.record(fire);
        }
        Some(user)
    }
}

/// Correct twin: a random id and the unique constraint, in one atomic insert.
fn register_unique(store: &Store, email: &str, password: PasswordHash) -> Result<User, EmailTaken> {
    let user = User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        password,
    };
    store.insert_user(user.clone())?;
    Ok(user)
}
