"""The notes app: user-owned records, registration, and the caller's identity (with the bug)."""
