//! Helpers for the end-to-end tests in `tests/tests/`: start a mock server in process, drive it
//! over HTTP.
