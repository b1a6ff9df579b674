//! Passwords are stored as salted SHA-256 (`sha256(salt || password)`, 16 random salt bytes per
//! user) and compared in constant time. A fast hash is deliberate: this is a mock server for load
//! tests, and a slow KDF such as argon2 would make `register`/`token` the bottleneck of every run.
//! Never reuse it for real passwords.
//!
//! A leaf below the store (which keeps the hash in each `User`) and `auth` (which checks it).

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A salted password hash.
#[derive(Clone)]
pub struct PasswordHash {
    salt: [u8; 16],
    digest: [u8; 32],
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str) -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self {
            salt,
            digest: digest(&salt, password),
        }
    }

    /// Whether `password` matches, in constant time.
    pub fn verify(&self, password: &str) -> bool {
        digest(&self.salt, password).ct_eq(&self.digest).into()
    }
}

fn digest(salt: &[u8; 16], password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_secret_and_salts_differ() {
        let first = PasswordHash::new("abcdefghi");
        let second = PasswordHash::new("abcdefghi");
        assert!(
            first.verify("abcdefghi"),
            "a hash verifies with its own password"
        );
        assert!(
            !first.verify("abcdefgh"),
            "a hash refuses a different password"
        );
        assert_ne!(
            first.salt, second.salt,
            "two hashes of one password get different salts"
        );
        assert_ne!(
            first.digest, second.digest,
            "different salts give different digests"
        );
    }
}
