//! Act 6's plan for each fault of the catalogue: how to switch it on, what the scenario needs to
//! see it, and how `loadgen cities` should classify it (issue 5's table; docs/guide/mock-server.md,
//! "Fault catalogue"). A fault the demo does not know yet still runs, with any detection accepted.

use crate::loadgen::Report;

/// How a request ended, as the demo judges a fault's detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A response carried another user's data.
    Leak,
    /// An own city missing after its 201.
    LostWrite,
    /// An own city with the wrong name.
    Corrupt,
    /// No answer within the client's timeout.
    Timeout,
    /// A check failed (an unexpected status, an injected 500).
    Fail,
    /// The connection broke (not counting timeouts).
    Exception,
    /// The `token` step failed: a login landed nowhere.
    FailedLogin,
    /// A request without a valid credential was answered (`isolation`'s `anonymous` check).
    Anonymous,
    /// An acknowledged delete came back (`isolation`'s `resurrect` check).
    Resurrect,
}

/// Every class, in the order results are listed.
pub const CLASSES: [Class; 9] = [
    Class::Leak,
    Class::LostWrite,
    Class::Corrupt,
    Class::Anonymous,
    Class::Resurrect,
    Class::Timeout,
    Class::Fail,
    Class::Exception,
    Class::FailedLogin,
];

impl Class {
    /// The name loadgen's report uses.
    pub fn name(self) -> &'static str {
        match self {
            Class::Leak => "leak",
            Class::LostWrite => "lost_write",
            Class::Corrupt => "corrupt",
            Class::Timeout => "timeout",
            Class::Fail => "fail",
            Class::Exception => "exception",
            Class::FailedLogin => "failed login",
            Class::Anonymous => "anonymous",
            Class::Resurrect => "resurrect",
        }
    }

    /// How many requests of the run ended in this class.
    pub fn count(self, report: &Report) -> u64 {
        let v = &report.violations;
        match self {
            Class::Leak => v.leak,
            Class::LostWrite => v.lost_write,
            Class::Corrupt => v.corrupt,
            Class::Anonymous => v.anonymous,
            Class::Resurrect => v.resurrect,
            Class::Timeout => v.timeout,
            Class::Fail => report.requests.fail,
            Class::Exception => report.requests.exception.saturating_sub(v.timeout),
            Class::FailedLogin => report
                .endpoints
                .iter()
                .filter(|e| e.name == "token")
                .map(|e| e.requests.fail)
                .sum(),
        }
    }

    /// When the first request of this class ended, in seconds since the run started: exact from
    /// the evidence when it has one, otherwise the end of the first one-second interval that
    /// counted one (an upper bound, `exact` false).
    pub fn first_at(self, report: &Report) -> Option<First> {
        if let Some(at) = report
            .evidence
            .iter()
            .filter(|e| e.class == self.name())
            .find_map(|e| e.since_start_s)
        {
            return Some(First { at, exact: true });
        }
        report
            .intervals
            .iter()
            .find(|interval| {
                interval
                    .rows
                    .iter()
                    .filter(|row| match self {
                        Class::FailedLogin => row.name == "token",
                        _ => row.name == "all",
                    })
                    .any(|row| match self {
                        Class::Leak => row.leak > 0,
                        Class::LostWrite => row.lost_write > 0,
                        Class::Corrupt => row.corrupt > 0,
                        Class::Anonymous => row.anonymous > 0,
                        Class::Resurrect => row.resurrect > 0,
                        Class::Timeout => row.timeout > 0,
                        Class::Fail | Class::FailedLogin => row.fail > 0,
                        Class::Exception => row.exception > row.timeout,
                    })
            })
            .map(|interval| First {
                at: interval.end_s,
                exact: false,
            })
    }
}

/// When a class was first seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct First {
    pub at: f64,
    /// False: `at` is the end of the interval that saw it, an upper bound.
    pub exact: bool,
}

/// What act 6 does with one fault.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub name: String,
    /// `NAME[:key=value,...]` for `PUT /__admin/faults`.
    pub enable: String,
    /// loadgen flags this fault needs beyond the common scenario.
    pub extra: Vec<String>,
    /// Any of these counts as detected; empty: any class at all.
    pub expect: Vec<Class>,
    /// `cities`, or `isolation` for a fault only its extra checks see.
    pub command: &'static str,
}

impl FaultPlan {
    /// The plan for the fault named `name`.
    pub fn for_fault(name: &str) -> Self {
        let (enable, extra, expect): (String, &[&str], &[Class]) = match name {
            "shared-identity" => (name.into(), &[], &[Class::Leak, Class::LostWrite]),
            "racy-id" => (name.into(), &[], &[Class::Leak]),
            // Seen by the list check (in the common scenario) or any read of a cached URL.
            "unscoped-cache" => (name.into(), &[], &[Class::Leak]),
            // A registration bug: users must still be registering when it is switched on, and
            // close enough together to collide. 10 per second, 250 ms apart in the racy window.
            "register-race" => (
                format!("{name}:window=250ms"),
                &["--spawn-rate", "10"],
                &[Class::Leak, Class::FailedLogin],
            ),
            "stale-read" => (name.into(), &[], &[Class::LostWrite]),
            // Seen by `--probe-foreign` (in the common scenario).
            "bola" => (name.into(), &[], &[Class::Leak]),
            // One user's requests must overlap: 4 virtual users share each account, as tabs.
            "lost-update" => (name.into(), &["--tabs", "4"], &[Class::LostWrite]),
            // Every cities request hangs; the common scenario's 2 s timeout ends them.
            "pool-starvation" => (name.into(), &[], &[Class::Timeout]),
            "error-rate" => (name.into(), &[], &[Class::Fail]),
            "reset" => (name.into(), &[], &[Class::Exception]),
            // A body dribbled over 3 s outlasts the common scenario's 2 s client timeout.
            "slow-body" => (format!("{name}:duration=3s"), &[], &[Class::Timeout]),
            // Seen by `isolation`'s `anonymous` check (requests without a valid credential).
            "anonymous-fallback" => (name.into(), &[], &[Class::Anonymous]),
            // Seen by `isolation`'s `resurrect` check (a rename racing one's own delete).
            "delete-resurrect" => (name.into(), &[], &[Class::Resurrect]),
            _ => (name.into(), &[], &[]),
        };
        let command = match name {
            "anonymous-fallback" | "delete-resurrect" => "isolation",
            _ => "cities",
        };
        Self {
            name: name.to_owned(),
            enable,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            expect: expect.to_vec(),
            command,
        }
    }

    /// "leak or lost_write", for the summary's expectation column.
    pub fn expectation(&self) -> String {
        if self.expect.is_empty() {
            return "any violation, fail or exception".to_owned();
        }
        let names: Vec<&str> = self.expect.iter().map(|c| c.name()).collect();
        names.join(" or ")
    }

    /// The classes to look at for detection: the expected ones, or all.
    pub fn watched(&self) -> Vec<Class> {
        if self.expect.is_empty() {
            CLASSES.to_vec()
        } else {
            self.expect.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_of_the_catalogue_has_an_expectation() {
        for name in [
            "shared-identity",
            "racy-id",
            "unscoped-cache",
            "register-race",
            "stale-read",
            "bola",
            "lost-update",
            "pool-starvation",
            "error-rate",
            "reset",
            "slow-body",
            "anonymous-fallback",
            "delete-resurrect",
        ] {
            let plan = FaultPlan::for_fault(name);
            assert!(!plan.expect.is_empty(), "{name}");
            assert!(plan.enable.starts_with(name), "{name}");
        }
    }

    #[test]
    fn an_unknown_fault_accepts_any_detection() {
        let plan = FaultPlan::for_fault("brand-new");
        assert_eq!(
            plan.enable, "brand-new",
            "an unknown fault is enabled by its name"
        );
        assert_eq!(
            plan.watched(),
            CLASSES,
            "an unknown fault watches every class"
        );
        assert_eq!(
            plan.expectation(),
            "any violation, fail or exception",
            "an unknown fault expects any finding"
        );
    }
}
