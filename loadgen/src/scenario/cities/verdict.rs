//! The judge: one answer in, one [`Verdict`] out. Pure functions of the answer's status, its typed
//! view (parsed by [`crate::api::Api`]), its raw body (for the marker scan) and the oracle, so every
//! classification rule is unit-tested here without a server.
//!
//! Rules, in order, for any answer that came back:
//! 1. a marker of another virtual user anywhere in the body, a record id that another user created,
//!    or another user's account id in an owner or `me` field is a `leak` (victim: that user);
//! 2. the user refused its OWN action (`meanings.denied`, 401/403) is `denied`: on its own
//!    acknowledged record (read, update, delete) always, since the create's acknowledgement proved
//!    the credential; on its own create or list once the preflight passed with this description
//!    ([`Judge::verified`]). Whether the credential had merely expired is settled by the load's
//!    transport (it retries, then logs in again, before it accuses);
//! 3. the user's own acknowledged write missing (404 right after the create, a listed record
//!    gone, a rename or delete undone) is a `lost_write`;
//! 4. the user's own record with other content (a marker it never wrote) is `corrupt`;
//! 5. any other unexpected status or shape is a `fail`. Before the preflight passed it names the
//!    description setting to check; after, it never does ([`Failure::shown`]): a 5xx is the
//!    server's error. A shape mismatch is never a violation.
//!
//! The checks beside the peer-user ones ([`beside`]): an own read, list or create without a valid
//! credential answered is `anonymous`; a record that came back after its acknowledged delete is
//! `resurrect`.

mod beside;

pub use beside::{ANONYMOUS_MARKER, Asked};

use super::{
    ledger::{Ledger, Owner, Recent},
    markers::{Marker, RunId},
};
use crate::{
    api::{Api, Mismatch, Page, Record},
    checks::Outcome,
};

/// Why a check failed: a reason with no user index or record id (reasons are grouped by it), and
/// the description setting to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub setting: &'static str,
}

impl Failure {
    /// The reason as counted and shown for an answer with `status`: while the description is
    /// unproven (`verified` false: the preflight, or a run without one) it names the setting to
    /// check; after a preflight passed with this description it never blames it, and a 5xx says
    /// it is the server's error.
    pub fn shown(&self, status: u16, verified: bool) -> String {
        match (verified, status) {
            (false, _) => format!("{} (check {})", self.reason, self.setting),
            (true, 500..=599) => format!("{} (the server's error)", self.reason),
            (true, _) => self.reason.clone(),
        }
    }
}

impl From<Mismatch> for Failure {
    fn from(mismatch: Mismatch) -> Self {
        Self {
            reason: mismatch.what,
            setting: mismatch.setting,
        }
    }
}

/// How one answer was judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// A check failed (unexpected status or shape).
    Fail(Failure),
    /// A leak, lost write or corruption.
    Violation {
        outcome: Outcome,
        /// What contradiction, with no user index or record id (reasons are grouped by it).
        kind: &'static str,
        /// Whose data showed up (leaks).
        victim: Option<usize>,
        /// Record id involved, for counting distinct leaked records.
        record: Option<String>,
        /// What the user should have got.
        expected: String,
        /// One sentence: "user 7 read record c.3.12 created by user 3".
        message: String,
    },
}

fn violation(
    outcome: Outcome,
    kind: &'static str,
    victim: Option<usize>,
    record: Option<&str>,
    expected: impl Into<String>,
    message: String,
) -> Verdict {
    Verdict::Violation {
        outcome,
        kind,
        victim,
        record: record.map(str::to_owned),
        expected: expected.into(),
        message,
    }
}

fn fail(reason: impl Into<String>, setting: &'static str) -> Verdict {
    Verdict::Fail(Failure {
        reason: reason.into(),
        setting,
    })
}

fn status_fail(step: &str, status: u16, wanted: &[u16], setting: &'static str) -> Verdict {
    fail(
        format!("{step}: status {status}, expected {}", list(wanted)),
        setting,
    )
}

fn list(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What reading one's own record should give.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub id: &'a str,
    pub seq: u64,
    pub marker: &'a str,
    /// The marker before a rename: reading it back means the rename was lost.
    pub previous: Option<&'a str>,
}

/// The oracle an answer is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub run: &'a RunId,
    pub ledger: &'a Ledger,
    pub api: &'a Api,
    /// A preflight passed with this description: a refused own create or list is `denied`, and
    /// no failure blames a description key.
    pub verified: bool,
}

/// Whether `verdict` is a `denied` violation (the load's transport checks the credential before
/// it accuses).
pub fn is_denied(verdict: &Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Violation {
            outcome: Outcome::Denied,
            ..
        }
    )
}

impl Judge<'_> {
    /// Rule 2: `status` refuses the caller (`meanings.denied`).
    fn denies(&self, status: u16) -> bool {
        self.api.description().meanings.denied.contains(&status)
    }

    /// Rule 1 for any body: the first marker of another user.
    fn leak(
        &self,
        me: usize,
        body: &[u8],
        what: impl FnOnce(&Marker) -> String,
        expected: &str,
    ) -> Option<Verdict> {
        let marker = self.run.foreign(body, me)?;
        let record = marker.city.is_some().then(|| marker.short());
        Some(violation(
            Outcome::Leak,
            "another user's marker in the answer",
            Some(marker.user),
            record.as_deref(),
            expected,
            what(&marker),
        ))
    }

    /// Rule 1 for an owner field: another account than `me`'s.
    fn foreign_owner(
        &self,
        me: usize,
        record: &Record,
        expected: &str,
        what: &str,
    ) -> Option<Verdict> {
        let owner = record.owner.as_deref()?;
        let mine = self.ledger.account(me)?;
        if owner == mine {
            return None;
        }
        let victim = self.ledger.user_of_account(owner);
        let whose = victim.map_or("an account that is not its own".to_owned(), |v| {
            format!("user {v}'s account")
        });
        Some(violation(
            Outcome::Leak,
            "another user's account in an owner field",
            victim,
            record.id.as_deref(),
            expected,
            format!(
                "user {me} {what} and the owner field holds {owner}, {whose} (its own is {mine})"
            ),
        ))
    }

    /// Rule 1 for a record id: one that another user created.
    fn foreign_id(
        &self,
        me: usize,
        record: &Record,
        expected: &str,
        what: &str,
    ) -> Option<Verdict> {
        let id = record.id.as_deref()?;
        let owner = self.ledger.owner_of(id).filter(|owner| owner.user != me)?;
        Some(violation(
            Outcome::Leak,
            "a record id another user created",
            Some(owner.user),
            Some(id),
            expected,
            format!(
                "user {me} {what} and got record {id} (c.{}.{}) created by user {}",
                owner.user, owner.seq, owner.user
            ),
        ))
    }

    pub fn registered(&self, me: usize, status: u16, body: &[u8]) -> Verdict {
        if let Some(leak) = self.leak(
            me,
            body,
            |m| format!("user {me} registered and got {}'s account", m.short()),
            "its own account",
        ) {
            return leak;
        }
        let a = &self.api.description().accounts;
        if a.created.contains(&status) || a.exists.contains(&status) {
            Verdict::Pass
        } else {
            status_fail(
                "register",
                status,
                &a.created,
                "accounts.register-body, accounts.email or accounts.created",
            )
        }
    }

    /// The pre-login `GET` (`login.cookie-path`) only has to succeed: its cookies are the point.
    pub fn pre_login(&self, status: u16) -> Verdict {
        if (200..300).contains(&status) {
            Verdict::Pass
        } else {
            status_fail("pre-login", status, &[200], "login.cookie-path")
        }
    }

    pub fn logged_in(&self, status: u16, parsed: Option<&Mismatch>) -> Verdict {
        let l = &self.api.description().login;
        if !l.ok.contains(&status) {
            return status_fail(
                "login",
                status,
                &l.ok,
                "login.username-field, login.encoding or login.ok",
            );
        }
        match parsed {
            Some(mismatch) => Verdict::Fail(mismatch.clone().into()),
            None => Verdict::Pass,
        }
    }

    /// A `me` answer must carry the caller's own account id.
    pub fn me(&self, me: usize, status: u16, body: &[u8], id: Result<&str, &Mismatch>) -> Verdict {
        let wanted = "200 with its own account";
        if let Some(leak) = self.leak(
            me,
            body,
            |m| format!("user {me} asked who it is and got {}'s account", m.short()),
            wanted,
        ) {
            return leak;
        }
        if status != 200 {
            return status_fail("me", status, &[200], "login.me-path");
        }
        let id = match id {
            Ok(id) => id,
            Err(mismatch) => return Verdict::Fail(mismatch.clone().into()),
        };
        let record = Record {
            owner: Some(id.to_owned()),
            ..Record::default()
        };
        self.foreign_owner(me, &record, wanted, "asked who it is")
            .unwrap_or(Verdict::Pass)
    }

    /// A create's answer; records the new record in the ledger.
    pub fn created(
        &self,
        me: usize,
        seq: u64,
        marker: &str,
        status: u16,
        body: &[u8],
        record: Result<&Record, &Mismatch>,
    ) -> Verdict {
        let expected = format!("its new record {marker}");
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} created record c.{me}.{seq} and got back {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            &expected,
        ) {
            return leak;
        }
        let created = &self.api.description().records.created;
        if !created.contains(&status) {
            if self.verified && self.denies(status) {
                return violation(
                    Outcome::Denied,
                    "own create refused",
                    None,
                    None,
                    expected,
                    format!(
                        "user {me} created record c.{me}.{seq} for itself and was refused with {status}, after the preflight passed with this description"
                    ),
                );
            }
            return status_fail(
                "create",
                status,
                created,
                "records.collection, records.create-body or records.created",
            );
        }
        let record = match record {
            Ok(record) => record,
            Err(mismatch) => return Verdict::Fail(mismatch.clone().into()),
        };
        let id = record.id.as_deref().unwrap_or_default();
        if let Some(previous) = self.ledger.claim(id, Owner { user: me, seq }) {
            return violation(
                Outcome::Leak,
                "a new record given an id another user holds",
                Some(previous.user),
                Some(id),
                expected,
                format!(
                    "user {me} created record c.{me}.{seq} and was given id {id}, the id of record c.{}.{} created by user {}",
                    previous.user, previous.seq, previous.user
                ),
            );
        }
        if let Some(leak) = self.foreign_owner(
            me,
            record,
            &expected,
            &format!("created record c.{me}.{seq}"),
        ) {
            return leak;
        }
        match record.marker.as_deref() {
            Some(returned) if returned == marker => Verdict::Pass,
            None => fail(
                format!(
                    "create: no marker at `{}` in the answer",
                    self.api.description().records.marker
                ),
                "records.marker",
            ),
            returned => violation(
                Outcome::Corrupt,
                "the new record's marker is not the one written",
                None,
                Some(id),
                expected,
                format!(
                    "user {me} created record c.{me}.{seq} and the answer names it {returned:?}"
                ),
            ),
        }
    }

    /// Reading (or renaming) one's own record.
    pub fn own(
        &self,
        me: usize,
        step: &str,
        status: u16,
        body: &[u8],
        record: Result<&Record, &Mismatch>,
        expected: &Expected<'_>,
    ) -> Verdict {
        let Expected {
            id,
            seq,
            marker,
            previous,
        } = *expected;
        let wanted = format!("its record {marker}");
        if let Some(leak) = self.leak(me, body, |m| format!("user {me} read record {} created by user {} (asked for its own c.{me}.{seq}, id {id})", m.short(), m.user), &wanted) {
            return leak;
        }
        let d = self.api.description();
        let ok = if step == "update" {
            &d.records.updated
        } else {
            &d.records.read_ok
        };
        if !ok.contains(&status) {
            if self.denies(status) {
                return violation(
                    Outcome::Denied,
                    "own acknowledged record refused to its owner",
                    None,
                    Some(id),
                    wanted,
                    format!(
                        "user {me}'s record c.{me}.{seq} (id {id}) was acknowledged, then its {step} was refused with {status}"
                    ),
                );
            }
            if d.meanings.refused.contains(&status) {
                return violation(
                    Outcome::LostWrite,
                    "own acknowledged record refused",
                    None,
                    Some(id),
                    wanted,
                    format!(
                        "user {me}'s record c.{me}.{seq} (id {id}) was acknowledged, then its {step} answered {status}"
                    ),
                );
            }
            return status_fail(step, status, ok, "records.item");
        }
        let record = match record {
            Ok(record) => record,
            Err(mismatch) => return Verdict::Fail(mismatch.clone().into()),
        };
        if record.id.as_deref() != Some(id)
            && let Some(leak) =
                self.foreign_id(me, record, &wanted, &format!("asked for its record {id}"))
        {
            return leak;
        }
        if let Some(leak) = self.foreign_owner(
            me,
            record,
            &wanted,
            &format!("read its record c.{me}.{seq}"),
        ) {
            return leak;
        }
        if record.id.as_deref() == Some(id) && record.marker.as_deref() == Some(marker) {
            return Verdict::Pass;
        }
        if previous.is_some() && record.marker.as_deref() == previous {
            return violation(
                Outcome::LostWrite,
                "a rename read back with the old marker",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me} renamed its record c.{me}.{seq} to {marker}, got {status}, and read the old marker back"
                ),
            );
        }
        if record.marker.is_none() {
            return fail(
                format!("{step}: no marker at `{}`", d.records.marker),
                "records.marker",
            );
        }
        violation(
            Outcome::Corrupt,
            "own record with content it never wrote",
            None,
            Some(id),
            wanted,
            format!(
                "user {me}'s record c.{me}.{seq} (id {id}) came back as id {:?} with marker {:?}",
                record.id, record.marker
            ),
        )
    }

    /// A page of one's own list. Every listed record must be its own; when `complete` (all its
    /// records fit in one page and no other tab adds to it), every record of `live` must be there
    /// and nothing else.
    pub fn listed(
        &self,
        me: usize,
        status: u16,
        body: &[u8],
        page: Result<&Page, &Mismatch>,
        live: &[(String, u64)],
        complete: bool,
    ) -> Verdict {
        let wanted = "its own records only";
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} listed its records and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            wanted,
        ) {
            return leak;
        }
        if status != 200 {
            if self.verified && self.denies(status) {
                return violation(
                    Outcome::Denied,
                    "own list refused",
                    None,
                    None,
                    wanted,
                    format!(
                        "user {me} listed its own records and was refused with {status}, after the preflight passed with this description"
                    ),
                );
            }
            return status_fail("list", status, &[200], "records.own-list or records.paging");
        }
        let page = match page {
            Ok(page) => page,
            Err(mismatch) => return Verdict::Fail(mismatch.clone().into()),
        };
        for record in &page.records {
            if let Some(leak) = self
                .foreign_id(me, record, wanted, "listed its records")
                .or_else(|| self.foreign_owner(me, record, wanted, "listed its records"))
            {
                return leak;
            }
        }
        if !complete {
            return Verdict::Pass;
        }
        let listed = |id: &str| page.records.iter().any(|r| r.id.as_deref() == Some(id));
        if let Some((id, seq)) = live.iter().find(|(id, _)| !listed(id)) {
            return violation(
                Outcome::LostWrite,
                "an acknowledged record missing from the own list",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me}'s record c.{me}.{seq} (id {id}) was acknowledged but is missing from its list"
                ),
            );
        }
        // A record the `anonymous` check's create put here is counted as `anonymous` already.
        let counted = page
            .records
            .iter()
            .filter(|r| r.marker.as_deref() != Some(beside::ANONYMOUS_MARKER))
            .count();
        if counted > live.len() {
            return violation(
                Outcome::Corrupt,
                "the own list holds more records than it has",
                None,
                None,
                wanted,
                format!(
                    "user {me}'s list holds {} records, it has {}",
                    page.records.len(),
                    live.len()
                ),
            );
        }
        Verdict::Pass
    }

    pub fn deleted(&self, me: usize, seq: u64, id: &str, status: u16, body: &[u8]) -> Verdict {
        let d = self.api.description();
        let wanted = format!("{} after deleting its record", list(&d.records.deleted));
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} deleted its record and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            &wanted,
        ) {
            return leak;
        }
        if d.records.deleted.contains(&status) {
            return Verdict::Pass;
        }
        if self.denies(status) {
            return violation(
                Outcome::Denied,
                "own acknowledged record refused to its owner on delete",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me}'s record c.{me}.{seq} (id {id}) was acknowledged, then its delete was refused with {status}"
                ),
            );
        }
        if d.meanings.refused.contains(&status) {
            return violation(
                Outcome::LostWrite,
                "own acknowledged record refused on delete",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me}'s record c.{me}.{seq} (id {id}) was acknowledged, then its delete answered {status}"
                ),
            );
        }
        status_fail(
            "delete",
            status,
            &d.records.deleted,
            "records.delete-method or records.deleted",
        )
    }

    /// Reading a record right after deleting it.
    pub fn gone(&self, me: usize, seq: u64, id: &str, status: u16, body: &[u8]) -> Verdict {
        self.after_delete(
            me,
            id,
            status,
            body,
            "gone",
            |wanted| {
                violation(
                    Outcome::LostWrite,
                    "a deleted record still readable",
                    None,
                    Some(id),
                    wanted,
                    format!(
                        "user {me} deleted its record c.{me}.{seq} (id {id}), got it acknowledged, and could still read it"
                    ),
                )
            },
        )
    }

    /// A read of one's record `id` whose delete was acknowledged: another user's data in it is a
    /// leak, a `meanings.gone` status passes, a 2xx is `readable(wanted)`, anything else a plain
    /// fail of `step`.
    pub(super) fn after_delete(
        &self,
        me: usize,
        id: &str,
        status: u16,
        body: &[u8],
        step: &str,
        readable: impl FnOnce(String) -> Verdict,
    ) -> Verdict {
        let gone = &self.api.description().meanings.gone;
        let wanted = format!("{} after the delete", list(gone));
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} read its deleted record {id} and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            &wanted,
        ) {
            return leak;
        }
        match status {
            _ if gone.contains(&status) => Verdict::Pass,
            200..=299 => readable(wanted),
            _ => status_fail(step, status, gone, "meanings.gone"),
        }
    }

    /// Asking for another user's record: anything but "not yours" reveals it.
    pub fn probed(&self, me: usize, foreign: &Recent, status: u16, body: &[u8]) -> Verdict {
        let Owner { user, seq } = foreign.owner;
        let not_yours = &self.api.description().meanings.not_yours;
        let wanted = format!("{}: the record is not yours", list(not_yours));
        if let Some(leak) = self.leak(me, body, |m| format!("user {me} read record {} created by user {} (probe of id {}; broken object-level authorization)", m.short(), m.user, foreign.id), &wanted) {
            return leak;
        }
        match status {
            _ if not_yours.contains(&status) => Verdict::Pass,
            // Deleted (or its id reused) since it was picked: a 2xx proves nothing, and a body
            // with another user's marker was caught above.
            200..=299 if self.ledger.owner_of(&foreign.id) != Some(foreign.owner) => Verdict::Pass,
            200..=299 => violation(
                Outcome::Leak,
                "another user's record answered to a probe",
                Some(user),
                Some(&foreign.id),
                wanted,
                format!(
                    "user {me} asked for record c.{user}.{seq} (id {}) of user {user} and got {status}",
                    foreign.id
                ),
            ),
            _ => status_fail("probe", status, not_yours, "meanings.not-yours"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Description, description::parse_set};

    struct Fixture {
        run: RunId,
        ledger: Ledger,
        api: Api,
    }

    impl Fixture {
        fn new(sets: &[&str]) -> Self {
            let sets: Vec<_> = sets.iter().map(|s| parse_set(s).unwrap()).collect();
            Self {
                run: RunId::parse("rbt").unwrap(),
                ledger: Ledger::new(10, 0, 1),
                api: Api::new(Description::load_with(None, &sets).unwrap()).unwrap(),
            }
        }
        fn judge(&self) -> Judge<'_> {
            Judge {
                run: &self.run,
                ledger: &self.ledger,
                api: &self.api,
                verified: false,
            }
        }
        /// The judge of a run whose preflight passed.
        fn verified(&self) -> Judge<'_> {
            Judge {
                verified: true,
                ..self.judge()
            }
        }
        fn body(&self, id: &str, marker: &str, owner: &str) -> Vec<u8> {
            format!(r#"{{"data":{{"id":"{id}","name":"{marker}","owner":"{owner}"}}}}"#)
                .into_bytes()
        }
        fn own(&self, me: usize, status: u16, body: &[u8], expected: &Expected<'_>) -> Verdict {
            let record = self.api.record(body);
            self.judge()
                .own(me, "read", status, body, record.as_ref(), expected)
        }
    }

    fn outcome(verdict: &Verdict) -> Option<(Outcome, Option<usize>)> {
        match verdict {
            Verdict::Violation {
                outcome, victim, ..
            } => Some((*outcome, *victim)),
            _ => None,
        }
    }

    fn expected<'a>(id: &'a str, marker: &'a str) -> Expected<'a> {
        Expected {
            id,
            seq: 1,
            marker,
            previous: None,
        }
    }

    #[test]
    fn an_anonymous_request_must_be_refused_and_a_deleted_record_must_stay_gone() {
        use crate::api::forged::Forged;
        let f = Fixture::new(&[]);
        let judge = f.judge();
        for status in [401, 403, 404] {
            assert_eq!(
                judge.anonymous(1, Asked::List, Forged::None, status),
                Verdict::Pass,
                "{status} refuses an anonymous list"
            );
        }
        assert_eq!(
            outcome(&judge.anonymous(1, Asked::Create, Forged::Foreign, 201)),
            Some((Outcome::Anonymous, None)),
            "a forged create answered 201 is `anonymous`"
        );
        assert!(
            matches!(
                judge.anonymous(1, Asked::Read, Forged::Malformed, 500),
                Verdict::Fail(_)
            ),
            "a 5xx is the server's error, not a violation"
        );
        let mine = f.run.renamed_city(1, 1);
        assert_eq!(
            judge.resurrected(1, 1, "a", 404, b""),
            Verdict::Pass,
            "gone after the delete"
        );
        assert_eq!(
            outcome(&judge.resurrected(1, 1, "a", 200, &f.body("a", &mine, ""))),
            Some((Outcome::Resurrect, None)),
            "the deleted record read back is `resurrect`"
        );
        let listed = f.api.page(br#"{"data":[{"id":"a","name":"x"}]}"#);
        assert_eq!(
            outcome(&judge.resurrected_in_list(1, 1, "a", 200, b"", listed.as_ref())),
            Some((Outcome::Resurrect, None)),
            "the deleted record listed again is `resurrect`"
        );
        assert_eq!(
            judge.raced_update(404),
            Verdict::Pass,
            "an update that lost the race to the delete finds nothing"
        );
    }

    #[test]
    fn reading_back_ones_own_record_passes_and_a_foreign_marker_is_a_leak() {
        let f = Fixture::new(&[]);
        let mine = f.run.city(1, 1);
        assert_eq!(
            f.own(1, 200, &f.body("a", &mine, ""), &expected("a", &mine)),
            Verdict::Pass,
            "the owner reading its own city passes"
        );
        let verdict = f.own(
            7,
            200,
            &f.body("a", &f.run.city(3, 4), ""),
            &expected("a", &mine),
        );
        assert_eq!(
            outcome(&verdict),
            Some((Outcome::Leak, Some(3))),
            "another user's marker in a read is a leak from that user"
        );
    }

    #[test]
    fn refused_own_records_are_denied_a_404_a_lost_write_and_other_statuses_fails() {
        let f = Fixture::new(&[]);
        let mine = f.run.city(1, 1);
        for status in [401, 403] {
            assert_eq!(
                outcome(&f.own(1, status, b"{}", &expected("a", &mine))),
                Some((Outcome::Denied, None)),
                "{status} on one's own acknowledged record refuses its owner"
            );
            assert_eq!(
                outcome(&f.judge().deleted(1, 1, "a", status, b"{}")),
                Some((Outcome::Denied, None)),
                "{status} on deleting one's own acknowledged record refuses its owner"
            );
        }
        assert_eq!(
            outcome(&f.own(1, 404, b"{}", &expected("a", &mine))),
            Some((Outcome::LostWrite, None)),
            "404 on one's own acknowledged record: the write is lost"
        );
        assert_eq!(
            outcome(&f.judge().deleted(1, 1, "a", 404, b"{}")),
            Some((Outcome::LostWrite, None)),
            "404 on deleting one's own acknowledged record: the write is lost"
        );
        let Verdict::Fail(failure) = f.own(1, 500, b"{}", &expected("a", &mine)) else {
            panic!("a 500 is a fail");
        };
        assert!(
            !failure.reason.contains('1'),
            "no user index: {}",
            failure.reason
        );
        assert_eq!(
            failure.setting, "records.item",
            "an item answer without the id names records.item"
        );
    }

    #[test]
    fn a_refused_own_create_or_list_is_denied_once_the_preflight_passed_and_a_fail_before() {
        let f = Fixture::new(&[]);
        let mine = f.run.city(1, 1);
        let body = br#"{"detail":"Not enough permissions"}"#;
        let create = |judge: Judge<'_>, status| {
            judge.created(1, 1, &mine, status, body, f.api.record(body).as_ref())
        };
        let list = |judge: Judge<'_>, status| {
            judge.listed(1, status, body, f.api.page(body).as_ref(), &[], false)
        };
        for status in [401, 403] {
            assert_eq!(
                outcome(&create(f.verified(), status)),
                Some((Outcome::Denied, None)),
                "{status} on one's own create after a passed preflight refuses the caller"
            );
            assert_eq!(
                outcome(&list(f.verified(), status)),
                Some((Outcome::Denied, None)),
                "{status} on one's own list after a passed preflight refuses the caller"
            );
            let Verdict::Fail(failure) = create(f.judge(), status) else {
                panic!("{status} on a create before the description is proven is a fail");
            };
            assert_eq!(
                failure.shown(status, false),
                format!(
                    "create: status {status}, expected 200 or 201 (check records.collection, records.create-body or records.created)"
                ),
                "while the description is unproven the hint names its keys"
            );
            assert!(
                matches!(list(f.judge(), status), Verdict::Fail(_)),
                "{status} on a list before the description is proven is a fail"
            );
        }
        assert!(
            matches!(create(f.verified(), 404), Verdict::Fail(_)),
            "a 404 on a create is no refusal of the caller"
        );
    }

    #[test]
    fn after_a_passed_preflight_no_failure_blames_the_description() {
        let f = Fixture::new(&[]);
        let mine = f.run.city(1, 1);
        let Verdict::Fail(failure) =
            f.verified()
                .created(1, 1, &mine, 503, b"{}", f.api.record(b"{}").as_ref())
        else {
            panic!("a 503 on a create is a fail");
        };
        assert_eq!(
            failure.shown(503, true),
            "create: status 503, expected 200 or 201 (the server's error)",
            "a 5xx after a passed preflight is the server's error"
        );
        assert_eq!(
            failure.shown(409, true),
            "create: status 503, expected 200 or 201",
            "any other status after a passed preflight names no description key"
        );
    }

    #[test]
    fn a_shape_mismatch_is_a_fail_never_a_violation() {
        let f = Fixture::new(&[]);
        let mine = f.run.city(1, 1);
        let bare = format!(r#"{{"id":"a","name":"{mine}"}}"#);
        let verdict = f.own(1, 200, bare.as_bytes(), &expected("a", &mine));
        assert!(
            matches!(&verdict, Verdict::Fail(f) if f.setting == "records.id"),
            "{verdict:?}"
        );
        let record = f.api.record(bare.as_bytes());
        let created = f
            .judge()
            .created(1, 1, &mine, 201, bare.as_bytes(), record.as_ref());
        assert!(matches!(created, Verdict::Fail(_)), "{created:?}");
    }

    #[test]
    fn another_users_account_in_the_owner_field_is_a_leak_naming_the_victim() {
        let f = Fixture::new(&["records.owner=/data/owner", "records.list-owner=/owner"]);
        f.ledger.set_account(1, "acct-1".into());
        f.ledger.set_account(4, "acct-4".into());
        let mine = f.run.city(1, 1);
        let body = f.body("a", &mine, "acct-4");
        let record = f.api.record(&body);
        let verdict = f.judge().created(1, 1, &mine, 201, &body, record.as_ref());
        assert_eq!(
            outcome(&verdict),
            Some((Outcome::Leak, Some(4))),
            "another user's marker is a leak from that user"
        );
        let own = f.body("b", &f.run.city(1, 2), "acct-1");
        let record = f.api.record(&own);
        assert_eq!(
            f.judge()
                .created(1, 2, &f.run.city(1, 2), 201, &own, record.as_ref()),
            Verdict::Pass,
            "a create answered with the user's own record passes"
        );
        let me = f.judge().me(1, 200, b"{}", Ok("acct-4"));
        assert_eq!(
            outcome(&me),
            Some((Outcome::Leak, Some(4))),
            "a me answer naming another account is a leak from its user"
        );
        assert_eq!(
            f.judge().me(1, 200, b"{}", Ok("acct-1")),
            Verdict::Pass,
            "a me answer naming the user's own account passes"
        );
    }

    #[test]
    fn a_create_given_an_id_another_user_holds_is_a_leak_unless_it_was_deleted() {
        let f = Fixture::new(&[]);
        let created = |user: usize, id: &str| {
            let marker = f.run.city(user, 1);
            let body = f.body(id, &marker, "");
            let record = f.api.record(&body);
            f.judge()
                .created(user, 1, &marker, 201, &body, record.as_ref())
        };
        assert_eq!(
            created(2, "5"),
            Verdict::Pass,
            "a create answered with a fresh id passes"
        );
        assert_eq!(
            outcome(&created(4, "5")),
            Some((Outcome::Leak, Some(2))),
            "a create answered with another user's id is a leak from that user"
        );
        f.ledger.forget("5", Owner { user: 4, seq: 1 });
        assert_eq!(created(6, "5"), Verdict::Pass, "reused after its delete");
    }

    #[test]
    fn a_list_must_hold_exactly_ones_own_records_when_complete() {
        let f = Fixture::new(&[]);
        f.ledger.claim("a", Owner { user: 1, seq: 1 });
        f.ledger.claim("z", Owner { user: 6, seq: 3 });
        let live = vec![("a".to_owned(), 1)];
        let list = |items: &[(&str, String)]| {
            let items: Vec<_> = items
                .iter()
                .map(|(id, name)| serde_json::json!({"id": id, "name": name}))
                .collect();
            serde_json::to_vec(&serde_json::json!({"data": items})).unwrap()
        };
        let judge = |body: &[u8], complete: bool| {
            let page = f.api.page(body);
            f.judge()
                .listed(1, 200, body, page.as_ref(), &live, complete)
        };
        let own = ("a", f.run.city(1, 1));
        assert_eq!(
            judge(&list(std::slice::from_ref(&own)), true),
            Verdict::Pass,
            "a list holding the user's own city passes"
        );
        assert_eq!(
            outcome(&judge(&list(&[]), true)),
            Some((Outcome::LostWrite, None)),
            "a list missing a city the user just created is a lost write"
        );
        assert_eq!(
            judge(&list(&[]), false),
            Verdict::Pass,
            "incomplete: no lost write"
        );
        let foreign_id = [own.clone(), ("z", "no marker".to_owned())];
        assert_eq!(
            outcome(&judge(&list(&foreign_id), false)),
            Some((Outcome::Leak, Some(6))),
            "a list holding an id the ledger gives another user is a leak from that user"
        );
        assert!(
            matches!(judge(b"{\"results\":[]}", true), Verdict::Fail(_)),
            "an empty results list where records were expected fails: {:?}",
            judge(b"{\"results\":[]}", true)
        );
    }

    #[test]
    fn probes_pass_on_not_yours_statuses_and_leak_on_success() {
        let f = Fixture::new(&[]);
        let foreign = Recent {
            id: "z".into(),
            owner: Owner { user: 6, seq: 3 },
        };
        f.ledger.claim("z", foreign.owner);
        for status in [403, 404] {
            assert_eq!(
                f.judge().probed(1, &foreign, status, b"{}"),
                Verdict::Pass,
                "a probe of a foreign id answered not-yours passes"
            );
        }
        assert_eq!(
            outcome(&f.judge().probed(1, &foreign, 200, b"{}")),
            Some((Outcome::Leak, Some(6))),
            "a foreign id probed and answered 200 is a leak from its owner"
        );
        f.ledger.forget("z", foreign.owner);
        assert_eq!(
            f.judge().probed(1, &foreign, 200, b"{}"),
            Verdict::Pass,
            "deleted since picked: a 200 proves nothing"
        );
    }
}
