//! Server configuration: the CLI (`Cli`, clap derive, every flag also a `MOCK_*` variable), the
//! TOML file with the same keys (`FileConfig`), and the validated result (`Config`) that the library
//! takes.
//!
//! Precedence: command line or environment, then the `--config` file, then the defaults below.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};
use serde::Deserialize;
use shared::{
    delay::DelaySpec,
    duration::{duration_arg, parse_duration},
};

use crate::{
    faults::{DEFAULT_JOURNAL_SIZE, FaultConfig, FaultSpec},
    limits::{Caps, Limits},
    requests::DEFAULT_REQUEST_JOURNAL_SIZE,
};

/// Where the server listens unless told otherwise (the second article's port).
pub const DEFAULT_BIND: &str = "127.0.0.1:8020";
/// Largest request body accepted: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// Lifetime of an access token.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// A configurable mock REST API for load testing, with switchable race-condition faults.
#[derive(Debug, Parser)]
#[command(name = "mock-server", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8020]
    #[arg(long, env = "MOCK_BIND", value_name = "HOST:PORT")]
    pub bind: Option<SocketAddr>,

    /// Delay before `/json` answers: `0`, `200ms`, `uniform:100ms..300ms`, `lognormal:200ms,0.3`
    /// (median, sigma) [default: 0]
    #[arg(long, env = "MOCK_DELAY", value_name = "SPEC", value_parser = parse_delay)]
    pub delay: Option<DelaySpec>,

    /// HS256 secret for access tokens [default: random at each start]
    #[arg(
        long,
        env = "MOCK_JWT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token [default: 1h]
    #[arg(long, env = "MOCK_TOKEN_TTL", value_name = "DURATION", value_parser = duration_arg)]
    pub token_ttl: Option<Duration>,

    /// Require `Authorization: Bearer <TOKEN>` on `/__admin` (otherwise admin answers loopback
    /// clients only)
    #[arg(
        long,
        env = "MOCK_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,

    /// Largest request body accepted, in bytes (`65536`) or with a unit (`64KiB`, `1MiB`)
    /// [default: 64KiB]
    #[arg(long, env = "MOCK_BODY_LIMIT", value_name = "SIZE", value_parser = parse_size)]
    pub body_limit: Option<usize>,

    /// Switch a fault of the catalogue on: `NAME[:key=value,...]`, e.g.
    /// `shared-identity:window=2ms,barrier=20`; repeatable (`MOCK_FAULTS` takes a `;`-separated
    /// list). `mock-server faults` lists them [default: none]
    #[arg(
        long = "fault",
        env = "MOCK_FAULTS",
        value_name = "NAME[:k=v,...]",
        value_delimiter = ';',
        value_parser = parse_fault
    )]
    pub faults: Vec<FaultSpec>,

    /// Name the faults that fired on a response in its `x-racebench-faults` header
    #[arg(long, env = "MOCK_FAULT_HEADER")]
    pub fault_header: bool,

    /// Entries kept by the fault journal (`GET /__admin/journal`), a ring buffer [default: 10000]
    #[arg(long, env = "MOCK_JOURNAL_SIZE", value_name = "N")]
    pub journal_size: Option<usize>,

    /// Time a client has to send a whole request head, from its first byte (nginx's
    /// `client_header_timeout`); then the connection is closed [default: 30s]
    #[arg(long, env = "MOCK_HEADER_TIMEOUT", value_name = "DURATION", value_parser = duration_arg)]
    pub header_timeout: Option<Duration>,

    /// Time a kept-alive connection may sit idle between requests before it is closed (nginx's
    /// `keepalive_timeout`) [default: 75s]
    #[arg(long, env = "MOCK_IDLE_TIMEOUT", value_name = "DURATION", value_parser = duration_arg)]
    pub idle_timeout: Option<Duration>,

    /// Time a request body may go without a byte arriving (nginx's `client_body_timeout`); then
    /// the request is answered 408 and the connection closed [default: 60s]
    #[arg(long, env = "MOCK_BODY_TIMEOUT", value_name = "DURATION", value_parser = duration_arg)]
    pub body_timeout: Option<Duration>,

    /// Connections open at once; past it a new connection gets a 503 JSON error and is closed,
    /// and one warning is logged (at most every 10 s). Lowered at start, with a warning, to what
    /// the file-descriptor limit allows (the soft limit is first raised to the hard one, and 32
    /// descriptors are kept for the listener, logs and files) [default: 10000]
    #[arg(long, env = "MOCK_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// On SIGINT/SIGTERM, how long in-flight requests may take before their connections are
    /// closed [default: 10s]
    #[arg(long, env = "MOCK_SHUTDOWN_TIMEOUT", value_name = "DURATION", value_parser = duration_arg)]
    pub shutdown_timeout: Option<Duration>,

    /// Cities the store keeps at most; past it creates get 409 `store_full` (never an eviction)
    /// [default: 1000000]
    #[arg(long, env = "MOCK_MAX_RECORDS", value_name = "N")]
    pub max_records: Option<usize>,

    /// Accounts the store keeps at most; past it registrations get 409 `store_full`
    /// [default: 100000]
    #[arg(long, env = "MOCK_MAX_USERS", value_name = "N")]
    pub max_users: Option<usize>,
    /// Requests kept by the request journal (`GET /__admin/requests`), newest first out; `0`
    /// switches it off (for pure load tests) [default: 10000]
    #[arg(long, env = "MOCK_REQUEST_JOURNAL", value_name = "N")]
    pub request_journal: Option<usize>,

    /// TOML file with the same keys as these flags (see `fixtures/`); flags win over the file
    #[arg(long, env = "MOCK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Shut down gracefully when stdin reaches end of file. A parent that spawns the server with a
    /// piped stdin and holds the pipe takes the server with it however the parent dies, even by
    /// SIGKILL (the `make bench` demo does). A process concern of the binary, so it stays here and
    /// not in [`Config`]. Hidden: a harness flag, not a user's.
    #[arg(long, env = "MOCK_EXIT_ON_STDIN_EOF", hide = true)]
    pub exit_on_stdin_eof: bool,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default when no subcommand is given)
    Serve,
    /// Print the fault catalogue: each fault, what it does, its parameters and their defaults
    Faults,
}

/// The `--config` file: the same keys as the flags, all optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub bind: Option<SocketAddr>,
    pub delay: Option<String>,
    pub jwt_secret: Option<String>,
    pub token_ttl: Option<String>,
    pub admin_token: Option<String>,
    pub body_limit: Option<SizeValue>,
    /// `fault = ["shared-identity:window=2ms", "bola"]`
    pub fault: Option<Vec<String>>,
    pub fault_header: Option<bool>,
    pub journal_size: Option<usize>,
    pub header_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub max_connections: Option<usize>,
    pub shutdown_timeout: Option<String>,
    pub max_records: Option<usize>,
    pub max_users: Option<usize>,
    pub request_journal: Option<usize>,
}

/// A size in a TOML file: a number of bytes or a string with a unit.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Bytes(usize),
    Text(String),
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub delay: DelaySpec,
    /// `None`: a random secret is drawn when the server state is built.
    pub jwt_secret: Option<String>,
    pub token_ttl: Duration,
    pub admin_token: Option<String>,
    pub body_limit: usize,
    /// Faults switched on at start, the header switch and the journal size.
    pub faults: FaultConfig,
    /// Timeouts and the connection limit of the serving layer.
    pub limits: Limits,
    /// How many users and cities the store keeps.
    pub caps: Caps,
    /// Requests the request journal keeps; 0: off.
    pub request_journal: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.parse().expect("default bind address is valid"),
            delay: DelaySpec::default(),
            jwt_secret: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            admin_token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            faults: FaultConfig::default(),
            limits: Limits::default(),
            caps: Caps::default(),
            request_journal: DEFAULT_REQUEST_JOURNAL_SIZE,
        }
    }
}

/// A configuration value that cannot be used; shown as one line, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid `{key}` in {path}: {message}")]
    Value {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
    #[error("--token-ttl must be at least 1s")]
    TokenTtl,
    #[error("--body-limit must be at least 1 byte")]
    BodyLimit,
    #[error("--{0} must be more than 0")]
    Zero(&'static str),
}

impl Cli {
    /// Merges flags, the config file and defaults into a validated [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => Some((path.clone(), load_file(path)?)),
            None => None,
        };
        let (path, file) = file.unwrap_or_default();
        let value_error = |key: &'static str, message: String| ConfigError::Value {
            path: path.clone(),
            key,
            message,
        };
        let defaults = Config::default();
        let delay = match (self.delay, file.delay) {
            (Some(delay), _) => delay,
            (None, Some(text)) => text
                .parse()
                .map_err(|e: shared::delay::DelayError| value_error("delay", e.to_string()))?,
            (None, None) => defaults.delay,
        };
        let token_ttl = match (self.token_ttl, file.token_ttl) {
            (Some(ttl), _) => ttl,
            (None, Some(text)) => {
                parse_duration(&text).map_err(|e| value_error("token-ttl", e.to_string()))?
            }
            (None, None) => defaults.token_ttl,
        };
        let body_limit = match (self.body_limit, file.body_limit) {
            (Some(limit), _) => limit,
            (None, Some(SizeValue::Bytes(bytes))) => bytes,
            (None, Some(SizeValue::Text(text))) => {
                parse_size(&text).map_err(|e| value_error("body-limit", e))?
            }
            (None, None) => defaults.body_limit,
        };
        let faults = if !self.faults.is_empty() {
            self.faults
        } else {
            file.fault
                .unwrap_or_default()
                .iter()
                .map(|text| text.parse::<FaultSpec>())
                .collect::<Result<_, _>>()
                .map_err(|e| value_error("fault", e.to_string()))?
        };
        let faults = FaultConfig {
            enabled: faults,
            header: self.fault_header || file.fault_header.unwrap_or(false),
            journal_size: self
                .journal_size
                .or(file.journal_size)
                .unwrap_or(DEFAULT_JOURNAL_SIZE),
        };
        let duration = |flag: Option<Duration>,
                        text: Option<String>,
                        key: &'static str,
                        default: Duration|
         -> Result<Duration, ConfigError> {
            let value = match (flag, text) {
                (Some(value), _) => value,
                (None, Some(text)) => {
                    parse_duration(&text).map_err(|e| value_error(key, e.to_string()))?
                }
                (None, None) => default,
            };
            if value.is_zero() {
                return Err(ConfigError::Zero(key));
            }
            Ok(value)
        };
        let count = |flag: Option<usize>,
                     file: Option<usize>,
                     key: &'static str,
                     default: usize|
         -> Result<usize, ConfigError> {
            match flag.or(file).unwrap_or(default) {
                0 => Err(ConfigError::Zero(key)),
                value => Ok(value),
            }
        };
        let limits = Limits {
            header_timeout: duration(
                self.header_timeout,
                file.header_timeout,
                "header-timeout",
                defaults.limits.header_timeout,
            )?,
            idle_timeout: duration(
                self.idle_timeout,
                file.idle_timeout,
                "idle-timeout",
                defaults.limits.idle_timeout,
            )?,
            body_timeout: duration(
                self.body_timeout,
                file.body_timeout,
                "body-timeout",
                defaults.limits.body_timeout,
            )?,
            max_connections: count(
                self.max_connections,
                file.max_connections,
                "max-connections",
                defaults.limits.max_connections,
            )?,
            shutdown_timeout: duration(
                self.shutdown_timeout,
                file.shutdown_timeout,
                "shutdown-timeout",
                defaults.limits.shutdown_timeout,
            )?,
        };
        let caps = Caps {
            max_records: count(
                self.max_records,
                file.max_records,
                "max-records",
                defaults.caps.max_records,
            )?,
            max_users: count(
                self.max_users,
                file.max_users,
                "max-users",
                defaults.caps.max_users,
            )?,
        };
        if token_ttl < Duration::from_secs(1) {
            return Err(ConfigError::TokenTtl);
        }
        if body_limit == 0 {
            return Err(ConfigError::BodyLimit);
        }
        Ok(Config {
            bind: self.bind.or(file.bind).unwrap_or(defaults.bind),
            delay,
            jwt_secret: self
                .jwt_secret
                .or(file.jwt_secret)
                .filter(|s| !s.is_empty()),
            token_ttl,
            admin_token: self
                .admin_token
                .or(file.admin_token)
                .filter(|s| !s.is_empty()),
            body_limit,
            faults,
            limits,
            caps,
            request_journal: self
                .request_journal
                .or(file.request_journal)
                .unwrap_or(DEFAULT_REQUEST_JOURNAL_SIZE),
        })
    }
}

fn load_file(path: &PathBuf) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.message().to_owned(),
    })
}

fn parse_fault(text: &str) -> Result<FaultSpec, String> {
    text.parse()
        .map_err(|e: crate::faults::SpecError| e.to_string())
}

fn parse_delay(text: &str) -> Result<DelaySpec, String> {
    text.parse()
        .map_err(|e: shared::delay::DelayError| e.to_string())
}

/// Parses `65536`, `64KiB`, `64KB`, `1MiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 65536 or 64KiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("`{text}` has an unknown unit: use B, KiB or MiB")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("65536"), Ok(65536), "a bare number is bytes");
        assert_eq!(parse_size("64KiB"), Ok(65536), "KiB is 1024 bytes");
        assert_eq!(parse_size("1MiB"), Ok(1 << 20), "MiB is 1024 KiB");
        assert!(
            parse_size("12XB").is_err(),
            "an unknown unit is refused: {:?}",
            parse_size("12XB")
        );
        assert!(
            parse_size("big").is_err(),
            "a word is refused: {:?}",
            parse_size("big")
        );
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9000\"\ndelay = \"200ms\"\nbody-limit = \"1KiB\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "mock-server",
            "--config",
            path.to_str().unwrap(),
            "--delay",
            "5ms",
        ])
        .unwrap();
        let config = cli.into_config().unwrap();
        assert_eq!(config.bind.port(), 9000, "the file sets the bind port");
        assert_eq!(
            config.delay,
            DelaySpec::Fixed(Duration::from_millis(5)),
            "a flag overrides the file's delay"
        );
        assert_eq!(config.body_limit, 1024, "the file sets the body limit");
        assert_eq!(
            config.token_ttl, DEFAULT_TOKEN_TTL,
            "a setting neither gives keeps its default"
        );
    }

    #[test]
    fn faults_come_from_flags_or_the_file() {
        let cli = Cli::try_parse_from([
            "mock-server",
            "--fault",
            "shared-identity:window=2ms",
            "--fault",
            "bola;racy-id",
            "--fault-header",
        ])
        .unwrap();
        let config = cli.into_config().unwrap();
        let names: Vec<&str> = config.faults.enabled.iter().map(|s| s.id.name()).collect();
        assert_eq!(
            names,
            ["shared-identity", "bola", "racy-id"],
            "--fault flags and ;-lists enable faults in their order"
        );
        assert_eq!(
            config.faults.enabled[0].show("window").as_deref(),
            Some("2ms"),
            "a fault's parameter from the flag is kept"
        );
        assert!(config.faults.header, "--fault-header turns the header on");
        assert_eq!(
            config.faults.journal_size, DEFAULT_JOURNAL_SIZE,
            "the journal size keeps its default"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "fault = [\"stale-read:lag=50ms\"]\nfault-header = true\njournal-size = 5\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from(["mock-server", "--config", path.to_str().unwrap()]).unwrap();
        let config = cli.into_config().unwrap();
        assert_eq!(
            config.faults.enabled[0].show("lag").as_deref(),
            Some("50ms"),
            "a fault from the file keeps its parameter"
        );
        assert!(
            config.faults.header,
            "fault-header in the file turns the header on"
        );
        assert_eq!(
            config.faults.journal_size, 5,
            "journal-size in the file sets the journal size"
        );

        std::fs::write(&path, "fault = [\"no-such-fault\"]\n").unwrap();
        let cli = Cli::try_parse_from(["mock-server", "--config", path.to_str().unwrap()]).unwrap();
        let error = cli.into_config().unwrap_err().to_string();
        assert!(error.contains("unknown fault `no-such-fault`"), "{error}");
    }

    #[test]
    fn a_bad_fault_flag_is_a_usage_error() {
        let error = Cli::try_parse_from(["mock-server", "--fault", "racy-id:window=soon"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("bad `window` value"), "{error}");
    }

    #[test]
    fn limits_and_caps_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "header-timeout = \"5s\"\nidle-timeout = \"9s\"\nbody-timeout = \"4s\"\n\
             max-connections = 7\nmax-records = 3\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "mock-server",
            "--config",
            path.to_str().unwrap(),
            "--idle-timeout",
            "2s",
            "--shutdown-timeout",
            "1s",
            "--max-users",
            "4",
        ])
        .unwrap();
        let config = cli.into_config().unwrap();
        assert_eq!(
            config.limits,
            Limits {
                header_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_secs(2),
                body_timeout: Duration::from_secs(4),
                max_connections: 7,
                shutdown_timeout: Duration::from_secs(1),
            },
            "limits come from the file, flags override it, the rest keep defaults"
        );
        assert_eq!(
            config.caps,
            Caps {
                max_users: 4,
                max_records: 3
            },
            "caps come from the file, flags override it"
        );
        let cli = Cli::try_parse_from(["mock-server", "--max-connections", "0"]).unwrap();
        let error = cli.into_config().unwrap_err().to_string();
        assert!(error.contains("--max-connections"), "{error}");
    }

    #[test]
    fn the_fixture_file_parses_to_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/mock-server.toml");
        let cli = Cli::try_parse_from(["mock-server", "--config", path]).unwrap();
        let config = cli.into_config().unwrap();
        let defaults = Config::default();
        assert_eq!(
            config.limits, defaults.limits,
            "the fixture file's limits are the defaults"
        );
        assert_eq!(
            config.caps, defaults.caps,
            "the fixture file's caps are the defaults"
        );
        assert_eq!(
            config.body_limit, defaults.body_limit,
            "the fixture file's body limit is the default"
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "binds = \"127.0.0.1:9000\"\n").unwrap();
        let cli = Cli::try_parse_from(["mock-server", "--config", path.to_str().unwrap()]).unwrap();
        let error = cli.into_config().unwrap_err().to_string();
        assert!(error.contains("binds"), "{error}");
    }
}
