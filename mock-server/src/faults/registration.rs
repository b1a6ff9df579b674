//! `register-race`: registration is a check-then-insert spread over two round trips. It checks
//! that the email is free and takes the next account number (`SELECT count(*) + 1`), awaits (the
//! window), then inserts the account row without a unique constraint. Two overlapping
//! registrations both pass the check and get the same account number; the later insert
//! overwrites the earlier account's row. Both got 201, and the earlier user's token login now
//! resolves to the other account (same password: a token for it, so the two users share one
//! account and see each other's cities) or fails (different password: 401). With one email
//! registered twice, both registrations succeed and the email points at the later account.
//!
//! The fix (the correct twin, `Store::register`): a unique constraint, here one atomic `entry`
//! on the email index, and ids that cannot collide.

use shared::admin::AccessKind;
use uuid::Uuid;

use super::{Active, FaultId, Fire, Request};
use crate::{
    auth::PasswordHash,
    store::{EmailTaken, User},
};

/// The `register-race` entry points of a request.
#[derive(Debug)]
pub struct Registration<'a>(pub(super) &'a Request<'a>);

impl Registration<'_> {
    /// Registers `email`.
    pub async fn register(&self, email: &str, password: PasswordHash) -> Result<User, EmailTaken> {
        let request = self.0;
        let Some(active) = request.firing(FaultId::RegisterRace) else {
            return request.store().register(email, password);
        };
        self.register_racy(email, password, active).await
    }

    /// The bug: check, take a number, await, insert.
    async fn register_racy(
        &self,
        email: &str,
        password: PasswordHash,
        active: &Active,
    ) -> Result<User, EmailTaken> {
        let request = self.0;
        let store = request.store();
        if store.email_taken(email) {
            return Err(EmailTaken);
        }
        let sequence = &request.faults.shared.accounts;
        // Account `n` gets the id `Uuid::from_u128(n)`.
        let number = sequence.next_racy(active).await;
        let user = User {
            id: Uuid::from_u128(u128::from(number)),
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
            && let Some(scope) = &request.scope
        {
            let mut fire = Fire::new(FaultId::RegisterRace, AccessKind::Write, detail);
            fire.owner = Some(owner);
            fire.cross_user = true;
            scope.fire(fire);
        }
        Ok(user)
    }

    /// The account a token login for `email` with `password` gets, if any.
    pub fn login(&self, email: &str, password: &str) -> Option<User> {
        let request = self.0;
        let user = request
            .store()
            .user_by_email(email)
            .filter(|user| user.password.verify(password))?;
        // A login that resolves to an account registered under another email is the visible
        // consequence of an earlier collision.
        if !user.email.eq_ignore_ascii_case(email)
            && let Some(scope) = &request.scope
        {
            let mut fire = Fire::new(
                FaultId::RegisterRace,
                AccessKind::Read,
                format!(
                    "login as {email} resolved to the account registered by {}",
                    user.email
                ),
            );
            fire.owner = Some(user.id);
            fire.cross_user = true;
            scope.fire(fire);
        }
        Some(user)
    }
}
