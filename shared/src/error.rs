//! The JSON error body: `{"error": {"code": "<snake_case>", "message": "<sentence>"}}`.
//!
//! Every non-2xx answer of the mock server carries it, so a client can branch on `code` and show
//! `message` to a person.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Top-level error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable code and a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier such as `not_found` or `invalid_token`.
    pub code: String,
    /// One sentence for a person; never holds internal details.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}
