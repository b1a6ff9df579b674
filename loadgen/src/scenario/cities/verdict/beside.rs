//! The verdicts of the checks beside the peer-user ones: `anonymous` (a request without a valid
//! credential must be refused) and `resurrect` (a record whose delete was acknowledged stays
//! gone).

use super::{Judge, Verdict, fail, status_fail, violation};
use crate::{
    api::{Mismatch, Page, forged::Forged},
    checks::Outcome,
};

/// The marker of the `anonymous` check's creates: not a marker of any run, so a create that is
/// wrongly accepted lands in someone's list without passing for a leak or an extra record.
pub const ANONYMOUS_MARKER: &str = "anonymous-check";

/// What an anonymous request asked for, as its verdict names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Read,
    List,
    Create,
}

impl Asked {
    pub const ALL: [Asked; 3] = [Asked::Read, Asked::List, Asked::Create];

    fn kind(self) -> &'static str {
        match self {
            Asked::Read => "a read without a valid credential answered",
            Asked::List => "a list without a valid credential answered",
            Asked::Create => "a create without a valid credential answered",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Asked::Read => "read its own record",
            Asked::List => "listed its records",
            Asked::Create => "created a record",
        }
    }
}

impl Judge<'_> {
    /// The statuses that refuse an anonymous request: 401, 403, `meanings.denied` and
    /// `meanings.refused` (a 404 reveals nothing either).
    fn refuses_anonymous(&self, status: u16) -> bool {
        let m = &self.api.description().meanings;
        matches!(status, 401 | 403) || m.denied.contains(&status) || m.refused.contains(&status)
    }

    /// An own read, list or create sent by user `me` with `forged` instead of its credential:
    /// anything but a refusal is an `anonymous` violation; a 5xx is the server's error (a fail).
    pub fn anonymous(&self, me: usize, asked: Asked, forged: Forged, status: u16) -> Verdict {
        if self.refuses_anonymous(status) {
            return Verdict::Pass;
        }
        if (500..=599).contains(&status) {
            return fail(
                format!("anonymous: status {status}, expected 401 or 403"),
                "meanings.denied",
            );
        }
        violation(
            Outcome::Anonymous,
            asked.kind(),
            None,
            None,
            "401 or 403: no valid credential",
            format!(
                "user {me} {} with {} and was answered {status} instead of refused",
                asked.what(),
                forged.as_str()
            ),
        )
    }

    /// The owner's update raced against its delete: either outcome is fine (renamed first, or
    /// gone already).
    pub fn raced_update(&self, status: u16) -> Verdict {
        let d = self.api.description();
        if d.records.updated.contains(&status) || d.meanings.gone.contains(&status) {
            return Verdict::Pass;
        }
        let mut wanted = d.records.updated.clone();
        wanted.extend(&d.meanings.gone);
        status_fail("update racing a delete", status, &wanted, "records.updated")
    }

    /// User `me` reads its record `id` (c.me.seq) after its delete was acknowledged while its
    /// update was in flight: anything readable is a `resurrect` violation.
    pub fn resurrected(&self, me: usize, seq: u64, id: &str, status: u16, body: &[u8]) -> Verdict {
        self.after_delete(me, id, status, body, "resurrect", |wanted| {
            violation(
                Outcome::Resurrect,
                "a deleted record came back",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me} deleted its record c.{me}.{seq} (id {id}) while renaming it, got the delete acknowledged, and read the record back: the update undid the delete"
                ),
            )
        })
    }

    /// User `me` lists its records after the acknowledged delete of `id`: listed again, it came
    /// back.
    pub fn resurrected_in_list(
        &self,
        me: usize,
        seq: u64,
        id: &str,
        status: u16,
        body: &[u8],
        page: Result<&Page, &Mismatch>,
    ) -> Verdict {
        let wanted = "its records, without the deleted one";
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
            return status_fail("resurrect", status, &[200], "records.own-list");
        }
        let page = match page {
            Ok(page) => page,
            Err(mismatch) => return Verdict::Fail(mismatch.clone().into()),
        };
        if page.records.iter().any(|r| r.id.as_deref() == Some(id)) {
            return violation(
                Outcome::Resurrect,
                "a deleted record listed again",
                None,
                Some(id),
                wanted,
                format!(
                    "user {me} deleted its record c.{me}.{seq} (id {id}) while renaming it, got the delete acknowledged, and found it in its list again"
                ),
            );
        }
        Verdict::Pass
    }
}
