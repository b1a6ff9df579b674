//! Everything replay saw, counted: every verdict of every step of every attempt (the set-up, the
//! racing pair, the `then` step), by phase, role, step and verdict class, with one example answer
//! each. A replay that says "0 reproduced" also says what did come back (a 403 on the observer's
//! own create is a finding, not a `pass`).

use std::fmt::Write as _;

use crate::scenario::cities::verdict::Verdict;

/// When in an attempt an answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Setup,
    Race,
    Then,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Setup => "set-up",
            Phase::Race => "race",
            Phase::Then => "then",
        }
    }
}

/// One kind of answer and how often it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub phase: Phase,
    pub role: &'static str,
    pub step: String,
    /// `pass`, `fail`, `exception` or a violation class (`leak`, `denied`...).
    pub class: String,
    pub count: u32,
    /// The first such answer: the request, its status and the start of its body (and the
    /// verdict's sentence or reason).
    pub example: String,
}

/// The tally of one replay (or of one candidate's attempts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub rows: Vec<Row>,
}

/// Longest body excerpt kept in an example.
const EXAMPLE_BODY: usize = 160;

/// The class of a verdict, as reports name it.
pub fn class_of(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => "pass".to_owned(),
        Verdict::Fail(_) => "fail".to_owned(),
        Verdict::Violation { outcome, .. } => outcome.as_str().to_owned(),
    }
}

impl Seen {
    /// Counts `verdict` on `request`'s answer (`status`, `body`).
    pub fn note(
        &mut self,
        at: (Phase, &'static str, &str),
        request: &str,
        verdict: &Verdict,
        status: u16,
        body: &[u8],
    ) {
        let why = match verdict {
            Verdict::Pass => String::new(),
            Verdict::Fail(failure) => format!(": {}", failure.reason),
            Verdict::Violation { message, .. } => format!(": {message}"),
        };
        let example = format!("{request} -> {status} {}{why}", excerpt(body));
        self.count(at, class_of(verdict), example);
    }

    /// Counts a request that got no answer.
    pub fn no_answer(&mut self, at: (Phase, &'static str, &str), request: &str, why: &str) {
        self.count(at, "exception".to_owned(), format!("{request} -> {why}"));
    }

    fn count(
        &mut self,
        (phase, role, step): (Phase, &'static str, &str),
        class: String,
        example: String,
    ) {
        match self
            .rows
            .iter_mut()
            .find(|r| r.phase == phase && r.role == role && r.step == step && r.class == class)
        {
            Some(row) => row.count += 1,
            None => self.rows.push(Row {
                phase,
                role,
                step: step.to_owned(),
                class,
                count: 1,
                example,
            }),
        }
    }

    /// Adds another tally's counts.
    pub fn absorb(&mut self, other: &Seen) {
        for row in &other.rows {
            match self.rows.iter_mut().find(|r| {
                r.phase == row.phase
                    && r.role == row.role
                    && r.step == row.step
                    && r.class == row.class
            }) {
                Some(mine) => mine.count += row.count,
                None => self.rows.push(row.clone()),
            }
        }
    }

    /// The table, phases in order, with an example for every row that is not a pass.
    pub fn table(&self) -> String {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            (
                a.phase,
                a.role != "observer",
                &a.step,
                a.class != "pass",
                &a.class,
            )
                .cmp(&(
                    b.phase,
                    b.role != "observer",
                    &b.step,
                    b.class != "pass",
                    &b.class,
                ))
        });
        let mut out = String::new();
        for row in rows {
            let _ = write!(
                out,
                "  {:<7} {:<8} {:<8} {:<11} {:>5}",
                row.phase.name(),
                row.role,
                row.step,
                row.class,
                row.count
            );
            if row.class != "pass" {
                let _ = write!(out, "  e.g. {}", row.example);
            }
            out.push('\n');
        }
        out
    }

    /// Every violation seen (any class, any phase, either role) in words, most frequent first:
    /// `lost_write 3 (race observer read)`.
    pub fn violations(&self) -> Vec<String> {
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| is_violation(&r.class))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
        rows.iter()
            .map(|r| {
                format!(
                    "{} {} ({} {} {})",
                    r.class,
                    r.count,
                    r.phase.name(),
                    r.role,
                    r.step
                )
            })
            .collect()
    }

    /// Counts of the observer's answers in the race and `then` phases that are not a pass, in
    /// words (`denied 20 (race create), leak 3 (then read)`).
    pub fn observer_findings(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.role == "observer" && r.phase != Phase::Setup && r.class != "pass")
            .map(|r| format!("{} {} ({} {})", r.class, r.count, r.phase.name(), r.step))
            .collect()
    }
}

/// Whether a class is a violation (a proven contradiction), not a pass or a failure.
pub fn is_violation(class: &str) -> bool {
    !matches!(class, "pass" | "fail" | "exception" | "timeout")
}

/// The start of a body, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > EXAMPLE_BODY {
        let cut: String = line.chars().take(EXAMPLE_BODY).collect();
        format!("{cut}...")
    } else if line.is_empty() {
        "(empty body)".to_owned()
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::cities::verdict::Failure;

    #[test]
    fn every_class_is_counted_with_its_first_example() {
        let mut seen = Seen::default();
        let denied = Verdict::Fail(Failure {
            reason: "create: status 403".into(),
            setting: "",
        });
        for _ in 0..3 {
            seen.note(
                (Phase::Race, "observer", "create"),
                "POST /items",
                &denied,
                403,
                br#"{"error": "forbidden"}"#,
            );
        }
        seen.note(
            (Phase::Race, "victim", "create"),
            "POST /items",
            &Verdict::Pass,
            201,
            b"{}",
        );
        let table = seen.table();
        assert!(
            table.contains("race    observer create   fail            3  e.g. POST /items -> 403 {\"error\": \"forbidden\"}: create: status 403"),
            "the observer's refused create is counted with its answer:\n{table}"
        );
        assert!(
            table.contains("victim   create   pass            1\n"),
            "passes are counted too, without an example:\n{table}"
        );
        assert_eq!(
            seen.observer_findings(),
            vec!["fail 3 (race create)".to_owned()],
            "the observer's findings in words"
        );
    }
}
