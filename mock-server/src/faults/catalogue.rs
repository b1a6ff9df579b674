//! The fault catalogue (names, one-line summaries, parameters and their defaults) and the parser of
//! `NAME[:key=value,...]`, shared by the CLI, the TOML file and `PUT /__admin/faults`.

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

use shared::duration::{format_duration, parse_duration};

/// Every fault the server knows, in catalogue order. The index is the fault's slot in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultId {
    SharedIdentity,
    RacyId,
    UnscopedCache,
    RegisterRace,
    StaleRead,
    Bola,
    LostUpdate,
    PoolStarvation,
    ErrorRate,
    Reset,
    SlowBody,
}

/// Number of faults in the catalogue.
pub const FAULT_COUNT: usize = 11;

impl FaultId {
    pub const ALL: [FaultId; FAULT_COUNT] = [
        Self::SharedIdentity,
        Self::RacyId,
        Self::UnscopedCache,
        Self::RegisterRace,
        Self::StaleRead,
        Self::Bola,
        Self::LostUpdate,
        Self::PoolStarvation,
        Self::ErrorRate,
        Self::Reset,
        Self::SlowBody,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn def(self) -> &'static FaultDef {
        &CATALOGUE[self.index()]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.name() == name)
    }
}

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a parameter's value is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `3ms`, `0.5s`, `0`.
    Duration,
    /// A probability in `[0, 1]`.
    Probability,
    /// A non-negative integer.
    Count,
    /// A `u64` seed.
    Seed,
}

/// One parameter of a fault.
#[derive(Debug)]
pub struct ParamDef {
    pub key: &'static str,
    pub kind: ParamKind,
    pub default: &'static str,
    pub help: &'static str,
}

/// One catalogue entry.
#[derive(Debug)]
pub struct FaultDef {
    pub id: FaultId,
    pub name: &'static str,
    pub summary: &'static str,
    /// The fault's own parameters; `p`, `seed` and `barrier` ([`COMMON`]) come on top.
    pub params: &'static [ParamDef],
}

const fn param(
    key: &'static str,
    kind: ParamKind,
    default: &'static str,
    help: &'static str,
) -> ParamDef {
    ParamDef {
        key,
        kind,
        default,
        help,
    }
}

/// The parameters every fault takes.
pub const COMMON: &[ParamDef] = &[
    param(
        "p",
        ParamKind::Probability,
        "1",
        "probability that the fault fires on a request that reaches it",
    ),
    param(
        "seed",
        ParamKind::Seed,
        "0",
        "seed of the p decision, so a run can be repeated",
    ),
    param(
        "barrier",
        ParamKind::Count,
        "0",
        "hold the first K requests at the racy pause until all K arrived, then release them together (0: off)",
    ),
];

/// The window defaults are sized for 20 closed-loop users doing create-then-read: every request
/// spends the window inside the race, so with 20 in flight the windows always overlap.
pub const CATALOGUE: [FaultDef; FAULT_COUNT] = [
    FaultDef {
        id: FaultId::SharedIdentity,
        name: "shared-identity",
        summary: "one process-wide access-control object stores the caller's id, awaits, then returns it: requests act as another user",
        params: &[param(
            "window",
            ParamKind::Duration,
            "3ms",
            "await between storing and returning the user id",
        )],
    },
    FaultDef {
        id: FaultId::RacyId,
        name: "racy-id",
        summary: "city ids from a shared counter read, awaited, written back; a duplicate id upserts over another user's city",
        params: &[param(
            "window",
            ParamKind::Duration,
            "3ms",
            "await between reading and writing back the counter",
        )],
    },
    FaultDef {
        id: FaultId::UnscopedCache,
        name: "unscoped-cache",
        summary: "GET /cities and /cities/{id} cached under a key without the user (CDN cache-key leak): users get each other's answers",
        params: &[
            param(
                "ttl",
                ParamKind::Duration,
                "1s",
                "how long a cached answer is served",
            ),
            param(
                "window",
                ParamKind::Duration,
                "0",
                "await before the cache lookup",
            ),
        ],
    },
    FaultDef {
        id: FaultId::RegisterRace,
        name: "register-race",
        summary: "registration checks the email and takes the next account number, awaits, then inserts: accounts collide and logins resolve to another account",
        params: &[param(
            "window",
            ParamKind::Duration,
            "3ms",
            "await between the check and the insert",
        )],
    },
    FaultDef {
        id: FaultId::StaleRead,
        name: "stale-read",
        summary: "reads are served from a replica that gets writes after a lag: a read right after a create is 404 (read-your-writes violation)",
        params: &[param(
            "lag",
            ParamKind::Duration,
            "100ms",
            "replication lag of each write",
        )],
    },
    FaultDef {
        id: FaultId::Bola,
        name: "bola",
        summary: "GET/PUT/DELETE /cities/{id} skip the ownership check (OWASP API1, broken object-level authorization); deterministic",
        params: &[],
    },
    FaultDef {
        id: FaultId::LostUpdate,
        name: "lost-update",
        summary: "a user's cities are one document read whole, awaited, written back whole: concurrent creates or deletes by that user are lost",
        params: &[param(
            "window",
            ParamKind::Duration,
            "3ms",
            "await between reading and writing back the document",
        )],
    },
    FaultDef {
        id: FaultId::PoolStarvation,
        name: "pool-starvation",
        summary: "each cities request holds one pooled connection while it acquires a second, without a timeout: at size + overflow concurrent requests all hang",
        params: &[
            param("size", ParamKind::Count, "5", "connections in the pool"),
            param(
                "overflow",
                ParamKind::Count,
                "5",
                "extra connections beyond size",
            ),
            param(
                "window",
                ParamKind::Duration,
                "1ms",
                "await between the first and the second acquire",
            ),
            param(
                "timeout",
                ParamKind::Duration,
                "5s",
                "acquire timeout of the correct twin (one connection, 503 on timeout)",
            ),
        ],
    },
    FaultDef {
        id: FaultId::ErrorRate,
        name: "error-rate",
        summary: "/json and cities requests answer 500 with a JSON error (before the handler runs)",
        params: &[],
    },
    FaultDef {
        id: FaultId::Reset,
        name: "reset",
        summary: "/json and cities requests run, then the connection is dropped without a complete response",
        params: &[],
    },
    FaultDef {
        id: FaultId::SlowBody,
        name: "slow-body",
        summary: "/json and cities responses dribble their body out over a duration",
        params: &[param(
            "duration",
            ParamKind::Duration,
            "2s",
            "time over which the body is sent",
        )],
    },
];

/// Why a fault spec was refused; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown fault `{0}`; run `mock-server faults` for the catalogue")]
    UnknownFault(String),
    #[error("fault `{fault}` has no parameter `{key}` (it takes: {known})")]
    UnknownParam {
        fault: &'static str,
        key: String,
        known: String,
    },
    #[error("fault `{fault}`: `{item}` is not key=value")]
    NotKeyValue { fault: &'static str, item: String },
    #[error("fault `{fault}`: bad `{key}` value `{value}`: {reason}")]
    BadValue {
        fault: &'static str,
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// A fault's parameters, every one with a value (its default unless given).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub p: f64,
    pub seed: u64,
    pub barrier: usize,
    /// The racy pause (an await standing in for a database round trip).
    pub window: Duration,
    pub ttl: Duration,
    pub lag: Duration,
    pub size: usize,
    pub overflow: usize,
    pub timeout: Duration,
    pub duration: Duration,
}

impl Params {
    /// The defaults of `fault`.
    pub fn defaults(fault: FaultId) -> Self {
        let mut params = Self {
            p: 1.0,
            seed: 0,
            barrier: 0,
            window: Duration::ZERO,
            ttl: Duration::ZERO,
            lag: Duration::ZERO,
            size: 0,
            overflow: 0,
            timeout: Duration::ZERO,
            duration: Duration::ZERO,
        };
        for def in fault.def().params.iter().chain(COMMON) {
            params
                .set(def, def.default)
                .expect("catalogue defaults parse");
        }
        params
    }

    fn set(&mut self, def: &ParamDef, value: &str) -> Result<(), String> {
        let value = value.trim();
        match def.kind {
            ParamKind::Duration => {
                let duration = parse_duration(value).map_err(|e| e.to_string())?;
                match def.key {
                    "window" => self.window = duration,
                    "ttl" => self.ttl = duration,
                    "lag" => self.lag = duration,
                    "timeout" => self.timeout = duration,
                    "duration" => self.duration = duration,
                    other => unreachable!("duration parameter {other}"),
                }
            }
            ParamKind::Probability => {
                let p: f64 = value
                    .parse()
                    .map_err(|_| "expected a number between 0 and 1".to_owned())?;
                if !(0.0..=1.0).contains(&p) {
                    return Err("expected a number between 0 and 1".to_owned());
                }
                self.p = p;
            }
            ParamKind::Count => {
                let count: usize = value
                    .parse()
                    .map_err(|_| "expected a non-negative integer".to_owned())?;
                match def.key {
                    "barrier" => self.barrier = count,
                    "size" => self.size = count,
                    "overflow" => self.overflow = count,
                    other => unreachable!("count parameter {other}"),
                }
            }
            ParamKind::Seed => {
                self.seed = value
                    .parse()
                    .map_err(|_| "expected an unsigned 64-bit integer".to_owned())?;
            }
        }
        Ok(())
    }

    /// The parameters `fault` takes, in the CLI's syntax, for `GET /__admin/faults`.
    pub fn view(&self, fault: FaultId) -> BTreeMap<String, String> {
        fault
            .def()
            .params
            .iter()
            .chain(COMMON)
            .map(|def| (def.key.to_owned(), self.show(def.key)))
            .collect()
    }

    fn show(&self, key: &str) -> String {
        match key {
            "p" => self.p.to_string(),
            "seed" => self.seed.to_string(),
            "barrier" => self.barrier.to_string(),
            "window" => format_duration(self.window),
            "ttl" => format_duration(self.ttl),
            "lag" => format_duration(self.lag),
            "size" => self.size.to_string(),
            "overflow" => self.overflow.to_string(),
            "timeout" => format_duration(self.timeout),
            "duration" => format_duration(self.duration),
            other => unreachable!("parameter {other}"),
        }
    }
}

/// A parsed `NAME[:key=value,...]`: a fault and all its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub id: FaultId,
    pub params: Params,
}

impl FromStr for FaultSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, rest) = text.split_once(':').unwrap_or((text, ""));
        let id = FaultId::by_name(name.trim())
            .ok_or_else(|| SpecError::UnknownFault(name.trim().to_owned()))?;
        let def = id.def();
        let mut params = Params::defaults(id);
        for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| SpecError::NotKeyValue {
                fault: def.name,
                item: item.to_owned(),
            })?;
            let key = key.trim();
            let param = def
                .params
                .iter()
                .chain(COMMON)
                .find(|param| param.key == key)
                .ok_or_else(|| SpecError::UnknownParam {
                    fault: def.name,
                    key: key.to_owned(),
                    known: def
                        .params
                        .iter()
                        .chain(COMMON)
                        .map(|param| param.key)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            params
                .set(param, value)
                .map_err(|reason| SpecError::BadValue {
                    fault: def.name,
                    key: param.key,
                    value: value.trim().to_owned(),
                    reason,
                })?;
        }
        Ok(Self { id, params })
    }
}

/// The catalogue as `mock-server faults` prints it.
pub fn describe() -> String {
    let mut out = String::new();
    for def in &CATALOGUE {
        out.push_str(&format!("{}\n    {}\n", def.name, def.summary));
        for param in def.params.iter().chain(COMMON) {
            out.push_str(&format!(
                "    {:<9} {:<7} {}\n",
                param.key, param.default, param.help
            ));
        }
        out.push('\n');
    }
    out.push_str(
        "Switch on with --fault NAME[:key=value,...] (repeatable; MOCK_FAULTS takes a `;`-separated list)\n\
         or at run time: curl -XPUT localhost:8020/__admin/faults -H 'content-type: application/json' \\\n\
         \x20    -d '{\"enable\": [\"shared-identity:window=2ms\"], \"disable\": [\"bola\"]}'\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_order_matches_the_ids() {
        for (index, def) in CATALOGUE.iter().enumerate() {
            assert_eq!(def.id.index(), index, "{}", def.name);
            assert_eq!(FaultId::by_name(def.name), Some(def.id));
        }
    }

    #[test]
    fn a_bare_name_takes_every_default() {
        let spec: FaultSpec = "shared-identity".parse().unwrap();
        assert_eq!(spec.id, FaultId::SharedIdentity);
        assert_eq!(spec.params.window, Duration::from_millis(3));
        assert_eq!(spec.params.p, 1.0);
        assert_eq!(spec.params.barrier, 0);
        let pool: FaultSpec = "pool-starvation".parse().unwrap();
        assert_eq!((pool.params.size, pool.params.overflow), (5, 5));
    }

    #[test]
    fn parameters_override_defaults() {
        let spec: FaultSpec = "racy-id: window=0.5s, p=0.25,seed=7,barrier=20"
            .parse()
            .unwrap();
        assert_eq!(spec.params.window, Duration::from_millis(500));
        assert_eq!(spec.params.p, 0.25);
        assert_eq!(spec.params.seed, 7);
        assert_eq!(spec.params.barrier, 20);
        assert_eq!(spec.params.view(FaultId::RacyId)["window"], "500ms");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let cases = [
            ("nope", "unknown fault `nope`"),
            ("bola:window=2ms", "has no parameter `window`"),
            ("racy-id:window", "is not key=value"),
            ("racy-id:window=fast", "bad `window` value"),
            ("racy-id:p=1.5", "between 0 and 1"),
            ("racy-id:barrier=-1", "non-negative integer"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<FaultSpec>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn the_description_lists_every_fault_and_parameter() {
        let text = describe();
        for def in &CATALOGUE {
            assert!(text.contains(def.name));
        }
        assert!(text.contains("overflow"));
    }
}
