//! The judge: one response in, one [`Verdict`] out. Pure functions of the response and the oracle,
//! so every classification rule is unit-tested here without a server.
//!
//! Rules, in order, for any response that came back:
//! 1. a marker of another virtual user anywhere in the body, or a city id that another user
//!    created, is a `leak` (victim: that user);
//! 2. the user's own acknowledged write missing (404 right after 201, a listed city gone, a
//!    rename or delete undone) is a `lost_write`;
//! 3. the user's own city with other content (a name it never wrote) is `corrupt`;
//! 4. any other unexpected status or shape is a `fail`.

use serde_json::Value;

use super::{
    ledger::{Ledger, Owner, Recent},
    markers::{Marker, RunId},
    shape::Shape,
};
use crate::checks::Outcome;

/// How one response was judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// A check failed (unexpected status or shape); the reason.
    Fail(String),
    /// A leak, lost write or corruption.
    Violation {
        outcome: Outcome,
        /// Whose data showed up (leaks).
        victim: Option<usize>,
        /// What the user should have got.
        expected: String,
        /// One sentence: "user 7 read city c.3.12 created by user 3".
        message: String,
    },
}

fn violation(
    outcome: Outcome,
    victim: Option<usize>,
    expected: impl Into<String>,
    message: String,
) -> Verdict {
    Verdict::Violation {
        outcome,
        victim,
        expected: expected.into(),
        message,
    }
}

/// What reading one's own city should give.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub id: &'a str,
    pub seq: u64,
    pub name: &'a str,
    /// The name before a rename: reading it back means the rename was lost.
    pub previous: Option<&'a str>,
}

/// The oracle a response is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub run: &'a RunId,
    pub ledger: &'a Ledger,
    pub shape: &'a Shape,
}

impl Judge<'_> {
    /// A field of the answer's payload as a string (`data.id`, numbers included).
    pub fn field(&self, body: &[u8], key: &str) -> Option<String> {
        self.fields(body, [key]).pop().flatten()
    }

    /// Several fields of the payload, parsing the body once.
    fn fields<const N: usize>(&self, body: &[u8], keys: [&str; N]) -> Vec<Option<String>> {
        let value: Option<Value> = serde_json::from_slice(body).ok();
        let payload = value.as_ref().and_then(|value| self.shape.payload(value));
        keys.iter()
            .map(|key| payload.and_then(|p| text(p.get(*key)?)))
            .collect()
    }

    /// The `id` and `name` of a city answer, parsing the body once.
    fn city(&self, body: &[u8]) -> (Option<String>, Option<String>) {
        let mut fields = self.fields(body, ["id", "name"]).into_iter();
        (fields.next().flatten(), fields.next().flatten())
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
        Some(violation(
            Outcome::Leak,
            Some(marker.user),
            expected,
            what(&marker),
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
        match status {
            200 | 201 => Verdict::Pass,
            _ => Verdict::Fail(format!("register: status {status}, expected 201")),
        }
    }

    pub fn token(&self, me: usize, status: u16, body: &[u8], field: &str) -> Verdict {
        if status != 200 {
            return Verdict::Fail(format!(
                "token: status {status}, expected 200 (user {me} cannot log in)"
            ));
        }
        let has_token = serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|value| value.get(field).is_some_and(Value::is_string));
        if has_token {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("token: no `{field}` in the answer"))
        }
    }

    /// A create's answer; records the city in the ledger.
    pub fn created(&self, me: usize, seq: u64, name: &str, status: u16, body: &[u8]) -> Verdict {
        let expected = format!("201 with its new city {name}");
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} created city c.{me}.{seq} and got back {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            &expected,
        ) {
            return leak;
        }
        if !(status == 201 || status == 200) {
            return Verdict::Fail(format!("create: status {status}, expected 201"));
        }
        let (id, returned_name) = self.city(body);
        let Some(id) = id else {
            return Verdict::Fail("create: no id in the answer".into());
        };
        if let Some(previous) = self.ledger.claim(&id, Owner { user: me, seq }) {
            return violation(
                Outcome::Leak,
                Some(previous.user),
                expected,
                format!(
                    "user {me} created city c.{me}.{seq} and was given id {id}, the id of city c.{}.{} created by user {}",
                    previous.user, previous.seq, previous.user
                ),
            );
        }
        match returned_name {
            Some(returned) if returned == name => Verdict::Pass,
            returned => violation(
                Outcome::Corrupt,
                None,
                expected,
                format!("user {me} created city c.{me}.{seq} and the answer names it {returned:?}"),
            ),
        }
    }

    /// Reading (or renaming) one's own city.
    pub fn own_city(
        &self,
        me: usize,
        status: u16,
        body: &[u8],
        expected: &Expected<'_>,
    ) -> Verdict {
        let Expected {
            id,
            seq,
            name,
            previous,
        } = *expected;
        let wanted = format!("200 with its city {name}");
        if let Some(leak) = self.leak(me, body, |m| format!("user {me} read city {} created by user {} (asked for its own c.{me}.{seq}, id {id})", m.short(), m.user), &wanted) {
            return leak;
        }
        match status {
            200 => {}
            404 => {
                return violation(
                    Outcome::LostWrite,
                    None,
                    wanted,
                    format!(
                        "user {me}'s city c.{me}.{seq} (id {id}) was acknowledged, then answered 404"
                    ),
                );
            }
            _ => return Verdict::Fail(format!("read: status {status}, expected 200")),
        }
        let (returned_id, returned_name) = self.city(body);
        if let Some(returned_id) = &returned_id
            && returned_id != id
            && let Some(owner) = self
                .ledger
                .owner_of(returned_id)
                .filter(|owner| owner.user != me)
        {
            return violation(
                Outcome::Leak,
                Some(owner.user),
                wanted,
                format!(
                    "user {me} asked for its city {id} and got city {returned_id} (c.{}.{}) created by user {}",
                    owner.user, owner.seq, owner.user
                ),
            );
        }
        if returned_id.as_deref() == Some(id) && returned_name.as_deref() == Some(name) {
            return Verdict::Pass;
        }
        if previous.is_some() && returned_name.as_deref() == previous {
            return violation(
                Outcome::LostWrite,
                None,
                wanted,
                format!(
                    "user {me} renamed its city c.{me}.{seq} to {name}, got 200, and read the old name back"
                ),
            );
        }
        violation(
            Outcome::Corrupt,
            None,
            wanted,
            format!(
                "user {me}'s city c.{me}.{seq} (id {id}) came back as id {returned_id:?} named {returned_name:?}"
            ),
        )
    }

    /// A page of one's own list, which should hold every city of `live` and, when `exact`,
    /// nothing else (with several tabs per identity it also holds the other tabs' cities).
    pub fn listed(
        &self,
        me: usize,
        status: u16,
        body: &[u8],
        live: &[(String, u64)],
        exact: bool,
    ) -> Verdict {
        let wanted = "200 with its own cities only";
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} listed its cities and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            wanted,
        ) {
            return leak;
        }
        if status != 200 {
            return Verdict::Fail(format!("list: status {status}, expected 200"));
        }
        let Some(items) = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|value| {
                self.shape
                    .payload(&value)
                    .and_then(Value::as_array)
                    .cloned()
            })
        else {
            return Verdict::Fail("list: the answer is not a list".into());
        };
        let ids: Vec<String> = items
            .iter()
            .filter_map(|item| text(item.get("id")?))
            .collect();
        for id in &ids {
            if let Some(owner) = self.ledger.owner_of(id).filter(|owner| owner.user != me) {
                return violation(
                    Outcome::Leak,
                    Some(owner.user),
                    wanted,
                    format!(
                        "user {me} listed its cities and got city {id} (c.{}.{}) created by user {}",
                        owner.user, owner.seq, owner.user
                    ),
                );
            }
        }
        if let Some((id, seq)) = live.iter().find(|(id, _)| !ids.contains(id)) {
            return violation(
                Outcome::LostWrite,
                None,
                wanted,
                format!(
                    "user {me}'s city c.{me}.{seq} (id {id}) was acknowledged but is missing from its list"
                ),
            );
        }
        if exact && ids.len() > live.len() {
            return violation(
                Outcome::Corrupt,
                None,
                wanted,
                format!(
                    "user {me}'s list holds {} cities, it created {}",
                    ids.len(),
                    live.len()
                ),
            );
        }
        Verdict::Pass
    }

    pub fn deleted(&self, me: usize, seq: u64, id: &str, status: u16, body: &[u8]) -> Verdict {
        let wanted = "204";
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} deleted its city and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            wanted,
        ) {
            return leak;
        }
        match status {
            200 | 204 => Verdict::Pass,
            404 => violation(
                Outcome::LostWrite,
                None,
                wanted,
                format!("user {me}'s city c.{me}.{seq} (id {id}) was gone before its delete"),
            ),
            _ => Verdict::Fail(format!("delete: status {status}, expected 204")),
        }
    }

    /// Reading a city right after deleting it.
    pub fn gone(&self, me: usize, seq: u64, id: &str, status: u16, body: &[u8]) -> Verdict {
        let wanted = "404 after the delete";
        if let Some(leak) = self.leak(
            me,
            body,
            |m| {
                format!(
                    "user {me} read its deleted city {id} and got {} created by user {}",
                    m.short(),
                    m.user
                )
            },
            wanted,
        ) {
            return leak;
        }
        match status {
            404 => Verdict::Pass,
            200 => violation(
                Outcome::LostWrite,
                None,
                wanted,
                format!(
                    "user {me} deleted its city c.{me}.{seq} (id {id}), got 204, and could still read it"
                ),
            ),
            _ => Verdict::Fail(format!("gone: status {status}, expected 404")),
        }
    }

    /// Asking for another user's city: anything but 404 reveals it.
    pub fn probed(&self, me: usize, foreign: &Recent, status: u16, body: &[u8]) -> Verdict {
        let Owner { user, seq } = foreign.owner;
        let wanted = "404: the city is not yours";
        if let Some(leak) = self.leak(me, body, |m| format!("user {me} read city {} created by user {} (probe of id {}; broken object-level authorization)", m.short(), m.user, foreign.id), wanted) {
            return leak;
        }
        match status {
            404 => Verdict::Pass,
            // Deleted (or its id reused) since it was picked: a 2xx proves nothing, and a body
            // with another user's marker was caught above.
            200..=299 if self.ledger.owner_of(&foreign.id) != Some(foreign.owner) => Verdict::Pass,
            200..=299 => violation(
                Outcome::Leak,
                Some(user),
                wanted,
                format!(
                    "user {me} asked for city c.{user}.{seq} (id {}) of user {user} and got {status}",
                    foreign.id
                ),
            ),
            _ => Verdict::Fail(format!("probe: status {status}, expected 404")),
        }
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        run: RunId,
        ledger: Ledger,
        shape: Shape,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                run: RunId::parse("rbt").unwrap(),
                ledger: Ledger::new(10, 0, 1),
                shape: Shape::default(),
            }
        }
        fn judge(&self) -> Judge<'_> {
            Judge {
                run: &self.run,
                ledger: &self.ledger,
                shape: &self.shape,
            }
        }
        fn city(&self, id: &str, name: &str) -> Vec<u8> {
            format!(r#"{{"data":{{"id":"{id}","name":"{name}","created_at":"x"}}}}"#).into_bytes()
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

    #[test]
    fn reading_back_ones_own_city_passes() {
        let f = Fixture::new();
        let name = f.run.city(1, 5);
        let expected = Expected {
            id: "a",
            seq: 5,
            name: &name,
            previous: None,
        };
        assert_eq!(
            f.judge().own_city(1, 200, &f.city("a", &name), &expected),
            Verdict::Pass
        );
    }

    #[test]
    fn another_users_name_is_a_leak_naming_the_victim() {
        let f = Fixture::new();
        let name = f.run.city(7, 12);
        let expected = Expected {
            id: "a",
            seq: 12,
            name: &name,
            previous: None,
        };
        let verdict = f
            .judge()
            .own_city(7, 200, &f.city("a", &f.run.city(3, 4)), &expected);
        assert_eq!(outcome(&verdict), Some((Outcome::Leak, Some(3))));
        let Verdict::Violation { message, .. } = verdict else {
            unreachable!()
        };
        assert!(
            message.starts_with("user 7 read city c.3.4 created by user 3"),
            "{message}"
        );
    }

    #[test]
    fn a_404_after_201_is_a_lost_write_and_a_foreign_name_a_corruption() {
        let f = Fixture::new();
        let name = f.run.city(1, 1);
        let expected = Expected {
            id: "a",
            seq: 1,
            name: &name,
            previous: None,
        };
        assert_eq!(
            outcome(&f.judge().own_city(1, 404, b"{}", &expected)),
            Some((Outcome::LostWrite, None))
        );
        assert_eq!(
            outcome(
                &f.judge()
                    .own_city(1, 200, &f.city("a", "Lisbon"), &expected)
            ),
            Some((Outcome::Corrupt, None))
        );
        assert_eq!(
            outcome(
                &f.judge()
                    .own_city(1, 200, &f.city("a", &f.run.city(1, 9)), &expected)
            ),
            Some((Outcome::Corrupt, None))
        );
        assert!(matches!(
            f.judge().own_city(1, 500, b"{}", &expected),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn a_rename_read_back_with_the_old_name_is_a_lost_write() {
        let f = Fixture::new();
        let (old, new) = (f.run.city(1, 1), f.run.renamed_city(1, 1));
        let expected = Expected {
            id: "a",
            seq: 1,
            name: &new,
            previous: Some(&old),
        };
        assert_eq!(
            outcome(&f.judge().own_city(1, 200, &f.city("a", &old), &expected)),
            Some((Outcome::LostWrite, None))
        );
        assert_eq!(
            f.judge().own_city(1, 200, &f.city("a", &new), &expected),
            Verdict::Pass
        );
    }

    #[test]
    fn a_create_given_an_id_another_user_holds_is_a_leak() {
        let f = Fixture::new();
        let first = f.run.city(2, 1);
        assert_eq!(
            f.judge().created(2, 1, &first, 201, &f.city("5", &first)),
            Verdict::Pass
        );
        let second = f.run.city(4, 1);
        let verdict = f.judge().created(4, 1, &second, 201, &f.city("5", &second));
        assert_eq!(outcome(&verdict), Some((Outcome::Leak, Some(2))));
        assert!(matches!(
            f.judge().created(4, 2, "x", 500, b"{}"),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            f.judge().created(4, 2, "x", 201, b"{\"data\":{}}"),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn a_list_must_hold_exactly_ones_own_cities() {
        let f = Fixture::new();
        f.ledger.claim("a", Owner { user: 1, seq: 1 });
        f.ledger.claim("b", Owner { user: 1, seq: 2 });
        f.ledger.claim("z", Owner { user: 6, seq: 3 });
        let live = vec![("a".to_owned(), 1), ("b".to_owned(), 2)];
        let list = |items: &[(&str, String)]| {
            let items: Vec<Value> = items
                .iter()
                .map(|(id, name)| serde_json::json!({"id": id, "name": name}))
                .collect();
            serde_json::to_vec(&serde_json::json!({"data": items})).unwrap()
        };
        let own = [("a", f.run.city(1, 1)), ("b", f.run.city(1, 2))];
        assert_eq!(
            f.judge().listed(1, 200, &list(&own), &live, true),
            Verdict::Pass
        );
        assert_eq!(
            outcome(&f.judge().listed(1, 200, &list(&own[..1]), &live, true)),
            Some((Outcome::LostWrite, None))
        );
        let with_foreign = [own[0].clone(), own[1].clone(), ("z", f.run.city(6, 3))];
        assert_eq!(
            outcome(&f.judge().listed(1, 200, &list(&with_foreign), &live, true)),
            Some((Outcome::Leak, Some(6)))
        );
        let foreign_id_only = [
            own[0].clone(),
            own[1].clone(),
            ("z", "no marker".to_owned()),
        ];
        assert_eq!(
            outcome(
                &f.judge()
                    .listed(1, 200, &list(&foreign_id_only), &live, true)
            ),
            Some((Outcome::Leak, Some(6)))
        );
        let extra = [own[0].clone(), own[1].clone(), ("q", "stranger".to_owned())];
        assert_eq!(
            outcome(&f.judge().listed(1, 200, &list(&extra), &live, true)),
            Some((Outcome::Corrupt, None))
        );
    }

    #[test]
    fn deletes_must_stick_and_probes_must_be_404() {
        let f = Fixture::new();
        assert_eq!(f.judge().deleted(1, 1, "a", 204, b""), Verdict::Pass);
        assert_eq!(f.judge().gone(1, 1, "a", 404, b"{}"), Verdict::Pass);
        assert_eq!(
            outcome(
                &f.judge()
                    .gone(1, 1, "a", 200, &f.city("a", &f.run.city(1, 1)))
            ),
            Some((Outcome::LostWrite, None))
        );
        let foreign = Recent {
            id: "z".into(),
            owner: Owner { user: 6, seq: 3 },
        };
        assert_eq!(f.judge().probed(1, &foreign, 404, b"{}"), Verdict::Pass);
        assert_eq!(
            outcome(
                &f.judge()
                    .probed(1, &foreign, 200, &f.city("z", &f.run.city(6, 3)))
            ),
            Some((Outcome::Leak, Some(6)))
        );
        assert!(matches!(
            f.judge().probed(1, &foreign, 403, b"{}"),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn a_failed_login_is_a_fail() {
        let f = Fixture::new();
        assert!(matches!(
            f.judge().token(1, 401, b"{}", "access_token"),
            Verdict::Fail(_)
        ));
        assert_eq!(
            f.judge()
                .token(1, 200, br#"{"access_token":"t"}"#, "access_token"),
            Verdict::Pass
        );
    }
}
