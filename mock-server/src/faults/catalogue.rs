//! The catalogue as users see it, derived from the registry: `NAME[:key=value,...]` parsed into a
//! [`FaultSpec`] (shared by the CLI, the TOML file and `PUT /__admin/faults`), a spec's parameters
//! shown back, and the text `mock-server faults` prints.

use std::{collections::BTreeMap, str::FromStr};

use super::{
    FaultId,
    fault::{Def, Registered},
    params::{AnyParams, Common, ParamDef, Params},
};

/// The parameters every fault takes (`p`, `seed`, `barrier`), after its own.
pub const COMMON: &[ParamDef] = Common::DEFS;

/// Every fault's catalogue entry, in registry order: name, summary, parameters with defaults.
pub fn entries() -> impl Iterator<Item = &'static Def> {
    FaultId::ALL.iter().map(|id| id.def())
}

/// Why a fault spec was refused; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown fault `{name}`{suggestion}; run `mock-server faults` for the catalogue")]
    UnknownFault {
        name: String,
        /// `; did you mean `bola`?` when a fault's name is close, else empty.
        suggestion: String,
    },
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

impl SpecError {
    /// An unknown fault name, with the closest known one when it is close (a typo).
    pub fn unknown(name: &str) -> Self {
        let closest = entries()
            .map(|def| (strsim::damerau_levenshtein(name, def.name), def.name))
            .min();
        let suggestion = match closest {
            Some((distance, known)) if distance <= 2.max(name.len() / 3) => {
                format!("; did you mean `{known}`?")
            }
            _ => String::new(),
        };
        SpecError::UnknownFault {
            name: name.to_owned(),
            suggestion,
        }
    }
}

/// A fault and all its parameters (its defaults unless given).
#[derive(Debug, Clone)]
pub struct FaultSpec {
    pub id: FaultId,
    pub common: Common,
    /// The fault's own parameter struct (`F::Params`), read with [`FaultSpec::params`].
    pub(super) params: AnyParams,
}

impl FaultSpec {
    /// `id` with every default.
    pub fn defaults(id: FaultId) -> Self {
        Self {
            id,
            common: Common::default(),
            params: (id.def().defaults)(),
        }
    }

    /// The parameters of fault `F`; panics if this spec is another fault's.
    pub fn params<F: Registered>(&self) -> &F::Params {
        assert_eq!(
            self.id,
            F::ID,
            "the spec of {} read as {}",
            self.id,
            F::NAME
        );
        self.params.get()
    }

    /// Parameter `key` in the CLI's syntax (`None` if the fault has no such parameter).
    pub fn show(&self, key: &str) -> Option<String> {
        let def = self.id.def();
        if Common::DEFS.iter().any(|param| param.key == key) {
            Some(self.common.show(key))
        } else if def.params.iter().any(|param| param.key == key) {
            Some((def.show)(&self.params, key))
        } else {
            None
        }
    }

    /// Every parameter the fault takes, in the CLI's syntax, for `GET /__admin/faults`.
    pub fn view(&self) -> BTreeMap<String, String> {
        self.id
            .def()
            .all_params()
            .filter_map(|param| Some((param.key.to_owned(), self.show(param.key)?)))
            .collect()
    }

    /// Sets one `key=value` item.
    fn set(&mut self, def: &'static Def, item: &str) -> Result<(), SpecError> {
        let (key, value) = item.split_once('=').ok_or_else(|| SpecError::NotKeyValue {
            fault: def.name,
            item: item.to_owned(),
        })?;
        let key = key.trim();
        let param = def
            .all_params()
            .find(|param| param.key == key)
            .ok_or_else(|| SpecError::UnknownParam {
                fault: def.name,
                key: key.to_owned(),
                known: def
                    .all_params()
                    .map(|param| param.key)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let result = if Common::DEFS.iter().any(|common| common.key == key) {
            self.common.set(key, value)
        } else {
            (def.set)(&mut self.params, key, value)
        };
        result.map_err(|reason| SpecError::BadValue {
            fault: def.name,
            key: param.key,
            value: value.trim().to_owned(),
            reason,
        })
    }
}

impl FromStr for FaultSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, rest) = text.split_once(':').unwrap_or((text, ""));
        let id = FaultId::by_name(name.trim()).ok_or_else(|| SpecError::unknown(name.trim()))?;
        let mut spec = Self::defaults(id);
        for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            spec.set(id.def(), item)?;
        }
        Ok(spec)
    }
}

/// The catalogue as `mock-server faults` prints it.
pub fn describe() -> String {
    let mut out = String::new();
    for id in FaultId::ALL {
        let def = id.def();
        out.push_str(&format!("{}\n    {}\n", def.name, def.summary));
        for param in def.all_params() {
            let help = param.help_line();
            out.push_str(&format!(
                "    {:<9} {:<7} {help}\n",
                param.key, param.default
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
    use std::time::Duration;

    use super::*;
    use crate::faults::{
        pool_starvation::PoolStarvation, racy_id::RacyId, shared_identity::SharedIdentity,
    };

    #[test]
    fn the_registry_order_is_the_ids_order() {
        for (index, id) in FaultId::ALL.iter().enumerate() {
            assert_eq!(
                id.index(),
                index,
                "{id} sits in slot {index} of the settings"
            );
            assert_eq!(id.def().id, *id, "{id}'s entry names it");
            assert_eq!(
                FaultId::by_name(id.name()),
                Some(*id),
                "{id} is found by name"
            );
        }
    }

    #[test]
    fn a_bare_name_takes_every_default() {
        let spec: FaultSpec = "shared-identity".parse().unwrap();
        assert_eq!(
            spec.id,
            FaultId::SharedIdentity,
            "the bare name names the fault"
        );
        assert_eq!(
            spec.params::<SharedIdentity>().window,
            Duration::from_millis(3),
            "default window"
        );
        assert_eq!(spec.common.p.0, 1.0, "default p");
        assert_eq!(spec.common.barrier, 0, "no barrier by default");
        let pool: FaultSpec = "pool-starvation".parse().unwrap();
        let params = pool.params::<PoolStarvation>();
        assert_eq!(
            (params.size, params.overflow),
            (5, 5),
            "SQLAlchemy's default pool"
        );
    }

    #[test]
    fn parameters_override_defaults() {
        let spec: FaultSpec = "racy-id: window=0.5s, p=0.25,seed=7,barrier=20"
            .parse()
            .unwrap();
        assert_eq!(
            spec.params::<RacyId>().window,
            Duration::from_millis(500),
            "window=0.5s overrides the default window"
        );
        assert_eq!(spec.common.p.0, 0.25, "p=0.25 overrides the default p");
        assert_eq!(spec.common.seed, 7, "seed=7 is kept");
        assert_eq!(spec.common.barrier, 20, "barrier=20 is kept");
        assert_eq!(
            spec.view()["window"],
            "500ms",
            "shown back in the CLI's syntax"
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let cases = [
            ("nope", "unknown fault `nope`; run"),
            (
                "shared-identiy",
                "unknown fault `shared-identiy`; did you mean `shared-identity`?",
            ),
            ("stale_read", "did you mean `stale-read`?"),
            ("bola:window=2ms", "has no parameter `window`"),
            ("racy-id:window", "is not key=value"),
            ("racy-id:window=fast", "bad `window` value"),
            ("racy-id:p=1.5", "between 0 and 1"),
            ("racy-id:barrier=-1", "non-negative integer"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<FaultSpec>().unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{text}: `{error}` lacks `{expected}`"
            );
        }
    }

    #[test]
    fn the_description_lists_every_fault_and_parameter() {
        let text = describe();
        for id in FaultId::ALL {
            assert!(
                text.contains(id.name()),
                "{id} is missing from the description"
            );
            for param in id.def().all_params() {
                assert!(text.contains(param.key), "{id}'s {} is missing", param.key);
            }
        }
    }
}
