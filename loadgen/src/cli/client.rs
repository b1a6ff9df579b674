//! Connection flags shared by every scenario: the response body limit and TLS trust
//! (`--max-body`, `--cacert`, `--insecure`), with the byte-size parser they use.

use std::path::PathBuf;

use clap::Args;

/// How the client talks to the target.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Largest response body read: a longer one is an `exception` (`body_too_large`) and its
    /// connection is closed, so a target cannot exhaust the generator's memory: `64KiB`, `8MiB`
    #[arg(long, env = "LOADGEN_MAX_BODY", default_value = "8MiB", value_name = "SIZE", value_parser = size_arg)]
    pub max_body: u64,

    /// HTTPS: trust the certificates in this PEM file (a private CA, a self-signed server) in
    /// addition to the bundled web PKI roots
    #[arg(long, env = "LOADGEN_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// HTTPS: accept any certificate, without verifying it (a test target only)
    #[arg(long, env = "LOADGEN_INSECURE")]
    pub insecure: bool,
}

/// Parses a byte size: `1048576`, `512B`, `64KiB`, `8MiB`, `1GiB` (powers of 1024) or `64KB`,
/// `8MB`, `1GB` (powers of 1000); case-insensitive, an optional space before the unit.
pub fn size_arg(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write a number and a unit, e.g. 64KiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::size_text;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(size_arg("1048576"), Ok(1 << 20), "a bare number is bytes");
        assert_eq!(size_arg("512B"), Ok(512), "B is bytes");
        assert_eq!(size_arg("64KiB"), Ok(64 << 10), "KiB is 1024 bytes");
        assert_eq!(
            size_arg("8 mib"),
            Ok(8 << 20),
            "units are case-insensitive and may follow a space"
        );
        assert_eq!(size_arg("1GiB"), Ok(1 << 30), "GiB is 1024 MiB");
        assert_eq!(size_arg("64KB"), Ok(64_000), "KB is 1000 bytes");
        assert_eq!(size_arg("2MB"), Ok(2_000_000), "MB is 1000 KB");
    }

    #[test]
    fn bad_sizes_are_one_line_errors() {
        for text in ["", "MiB", "1.5MiB", "-1", "8 parsecs", "99999999999GiB"] {
            let error = size_arg(text).unwrap_err();
            assert!(!error.contains('\n'), "{text}: {error}");
        }
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(
            size_text(8 << 20),
            "8 MiB",
            "a whole number of MiB is shown in MiB"
        );
        assert_eq!(
            size_text(64 << 10),
            "64 KiB",
            "a whole number of KiB is shown in KiB"
        );
        assert_eq!(size_text(1500), "1500 B", "anything else is shown in bytes");
    }
}
