//! Typed views of answers: what the oracle judges, whatever the API's field names and envelopes.
//! [`crate::api::Api`] parses an answer into these; the verdicts never see a path or a pointer.

/// One record as an answer shows it. A field the description does not name is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub id: Option<String>,
    /// The owner's account id (when `records.owner` is set).
    pub owner: Option<String>,
    /// The field that carries the marker.
    pub marker: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub records: Vec<Record>,
}

/// An account as a register, login or `me` answer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub id: Option<serde_json::Value>,
    pub token: Option<String>,
}

/// Why an answer does not have the described shape: what is wrong and which setting to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What is wrong, with no user index or record id (failure reasons are grouped by it).
    pub what: String,
    /// The description key to change (`records.id`).
    pub setting: &'static str,
}

impl Mismatch {
    pub fn new(what: impl Into<String>, setting: &'static str) -> Self {
        Self {
            what: what.into(),
            setting,
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (setting: {})", self.what, self.setting)
    }
}
