//! The reproduction file `loadgen repro` writes and `loadgen replay` reads: where the API is, its
//! description (copied inline, so the file stands alone), each user's set-up steps and racing
//! request, how the pair is released, and the verdict that counts as reproduced.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A racing pair and everything needed to send it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Repro {
    /// Base URL of the API (`--base-url` of the run).
    pub base_url: String,
    /// The description file the run used, for the reader (the inline `[api]` is what is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_file: Option<String>,
    pub expected: Expected,
    pub race: Race,
    pub observer: Role,
    pub victim: Role,
    /// How often the pair reproduced when `loadgen repro` tried it against the target (absent:
    /// never tried, so no replay of this file can say FIXED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
    /// The API description, inline (empty: racebench mock-server's shape).
    #[serde(default)]
    pub api: toml::Table,
}

/// A measured reproduction rate: the pair was sent `attempts` times (each with two fresh users)
/// and the observer got the expected verdict `reproduced` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Verified {
    /// `reproduced / attempts`.
    pub rate: f64,
    /// Attempts whose race was exercised (both answered, and for `together` the two answers
    /// overlapped in time).
    pub attempts: u32,
    pub reproduced: u32,
    /// The rate's one-sided 95 % lower bound (Clopper-Pearson): what replay plans with.
    pub rate_lower_bound: f64,
    /// When (UTC, RFC 3339) and against which base URL it was measured.
    pub at: String,
    pub base_url: String,
    /// Which of the candidate pairs this was, and how many were tried.
    #[serde(default)]
    pub candidate: u32,
    #[serde(default)]
    pub candidates_tried: u32,
}

/// What a reproducing attempt looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expected {
    /// `leak`, `lost_write`, `corrupt` or `denied`.
    pub class: String,
    /// Who sees it: always `observer`.
    pub observer: String,
    /// Whose data shows up: `victim`, or absent when the verdict names nobody (a lost write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim: Option<String>,
    /// The run's sentence, for the reader.
    #[serde(default)]
    pub message: String,
}

/// How the two racing requests are released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Race {
    pub order: Order,
    /// The other order, when the run's times cannot tell the two apart (the victim's GET of the
    /// same URL sent within scheduling noise of the observer's: a cache the victim filled first,
    /// or a shared identity the victim stored last). Replay tries both until one reproduces,
    /// then keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_else: Option<Order>,
    /// In the run: the victim's send time minus the observer's, in seconds (for the reader).
    #[serde(default)]
    pub observed_gap_s: f64,
    /// `together`: the wait between the observer's last byte and the victim's (`1ms`); replay
    /// uses it unless `--stagger` says otherwise (the verified rate was measured with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stagger: Option<String>,
    /// The wait between attempts (longer than a cache's TTL), likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
}

/// `together`: both connections written but for their last byte, then both last bytes released
/// (the observer's first, the victim's `stagger` later). `together-victim-first`: the same, the
/// victim's last byte first (a shared identity the observer stores last: the victim's request
/// acts as the observer, whose later step then shows the victim's record). `victim-first`: the
/// victim's request answered before the observer's is sent (a cache filled by the victim, read by
/// the observer). `observer-first`: the observer's answered before the victim's is sent (a write
/// whose effect the observer's `then` step shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    Together,
    TogetherVictimFirst,
    VictimFirst,
    ObserverFirst,
}

impl Order {
    /// As the file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Order::Together => "together",
            Order::TogetherVictimFirst => "together-victim-first",
            Order::VictimFirst => "victim-first",
            Order::ObserverFirst => "observer-first",
        }
    }

    /// Whether both requests are at the server at once (released together).
    pub fn is_together(self) -> bool {
        matches!(self, Order::Together | Order::TogetherVictimFirst)
    }
}

/// One user's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Role {
    /// Steps before the race, in order: `register` (when the description registers), `login`,
    /// `create` (one record, read back).
    pub setup: Vec<String>,
    /// The racing request's step: `create`, `read`, `list`, `update`, `delete`, `me` or `probe`.
    pub race: String,
    /// The request as the run sent it (ids differ on replay: the set-up makes new records).
    pub request: String,
    /// A step after the race whose answer shows the violation (the read-back of a create given
    /// another's id); absent when the racing answer itself shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
}

/// The steps a racing request can be.
pub const RACE_STEPS: [&str; 7] = ["create", "read", "list", "update", "delete", "me", "probe"];

impl Repro {
    /// The file's text, with a header saying how to use it.
    pub fn to_toml(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| format!("cannot write the TOML: {e}"))?;
        Ok(format!(
            "# A racing pair found by loadgen: replay with `loadgen replay FILE` (attempts for 99.9 % confidence).\n\
             # Exit codes of replay: 1 reproduced, 0 fixed (at --confidence), 2 set-up error, 3 inconclusive.\n\
             {body}"
        ))
    }

    /// Reads and checks a reproduction file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let repro: Repro = toml::from_str(&text)
            .map_err(|e| format!("invalid reproduction {}: {}", path.display(), e.message()))?;
        for (key, value) in [
            ("race.stagger", &repro.race.stagger),
            ("race.pause", &repro.race.pause),
        ] {
            if let Some(text) = value {
                shared::duration::parse_duration(text)
                    .map_err(|e| format!("{}: {key} = `{text}`: {e}", path.display()))?;
            }
        }
        for (who, role) in [("observer", &repro.observer), ("victim", &repro.victim)] {
            if !RACE_STEPS.contains(&role.race.as_str()) {
                return Err(format!(
                    "{}: {who}.race = `{}` cannot be replayed (one of {})",
                    path.display(),
                    role.race,
                    RACE_STEPS.join(", ")
                ));
            }
        }
        Ok(repro)
    }
}
