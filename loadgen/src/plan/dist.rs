//! One run on many generator processes: which worker this process is (`--worker-index`, or
//! `JOB_COMPLETION_INDEX` as a Kubernetes Indexed Job sets it), its share of the users and of the
//! arrival rate, and the wall-clock start (`--start-at`) that makes the workers' intervals line up.
//!
//! Shares: worker K of N takes the users whose global index is K, K+N, K+2N... (so the first
//! `USERS mod N` workers have one more), and in the open model the arrivals K, K+N, K+2N... of the
//! run's schedule at `--rate`: N workers at `--rate R` together offer R, evenly spaced.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shared::duration::parse_duration;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::PlanError;
use crate::cli::DistArgs;

/// The variable a Kubernetes Indexed Job sets to the pod's completion index.
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";

/// This process's place in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worker {
    pub index: usize,
    pub workers: usize,
}

impl Default for Worker {
    fn default() -> Self {
        Self {
            index: 0,
            workers: 1,
        }
    }
}

impl Worker {
    /// This worker's share of `total` things dealt round-robin (global `index + k * workers`).
    pub fn share(&self, total: usize) -> usize {
        total / self.workers + usize::from(self.index < total % self.workers)
    }

    /// Where this worker's arrivals sit in the run's schedule, as a fraction of its own period:
    /// worker K's ticket `j` is the run's arrival `j * N + K`.
    pub fn phase(&self) -> f64 {
        self.index as f64 / self.workers as f64
    }
}

/// `--start-at` as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// An RFC 3339 time.
    At(SystemTime),
    /// `+5s`: that long after the plan is made.
    After(Duration),
    /// `@10s`: the next multiple of that since the Unix epoch, so processes started a few seconds
    /// apart with the same command still begin together.
    Every(Duration),
}

impl StartAt {
    /// `--start-at` as typed (`2026-12-01T10:00:00Z`, `+5s`, `@10s`); the error names the flag.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix('+') {
            return parse_duration(rest)
                .map(Self::After)
                .map_err(|e| format!("--start-at `{text}`: {e}"));
        }
        if let Some(rest) = text.strip_prefix('@') {
            return match parse_duration(rest) {
                Ok(every) if every >= Duration::from_millis(1) => Ok(Self::Every(every)),
                Ok(_) => Err(format!(
                    "--start-at `{text}`: the period must be at least 1ms"
                )),
                Err(e) => Err(format!("--start-at `{text}`: {e}")),
            };
        }
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            format!("--start-at `{text}`: not an RFC 3339 time (2026-12-01T10:00:00Z), `+5s` or `@10s`: {e}")
        })?;
        Ok(Self::At(SystemTime::from(at)))
    }

    /// The wall-clock time to start at, given the time now.
    pub fn resolve(self, now: SystemTime) -> SystemTime {
        match self {
            Self::At(at) => at,
            Self::After(after) => now + after,
            Self::Every(every) => {
                let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
                let every_ns = every.as_nanos();
                let next = (since.as_nanos() / every_ns + 1) * every_ns;
                UNIX_EPOCH + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
            }
        }
    }
}

/// Validates the distribution flags: the worker, and when to start.
pub fn worker_of(args: &DistArgs) -> Result<(Worker, Option<SystemTime>), PlanError> {
    let from_env = std::env::var(JOB_COMPLETION_INDEX).ok();
    worker_from(args, from_env.as_deref())
}

fn worker_from(
    args: &DistArgs,
    job_index: Option<&str>,
) -> Result<(Worker, Option<SystemTime>), PlanError> {
    if args.workers == 0 {
        return Err(PlanError("--workers must be at least 1".into()));
    }
    let index = match (args.worker_index, job_index) {
        (Some(index), _) => index,
        (None, Some(text)) => text.trim().parse().map_err(|_| {
            PlanError(format!(
                "{JOB_COMPLETION_INDEX}=`{text}` is not a worker index (a number from 0)"
            ))
        })?,
        (None, None) => 0,
    };
    if index >= args.workers {
        return Err(PlanError(format!(
            "--worker-index {index} must be below --workers {}",
            args.workers
        )));
    }
    if args.workers > 1 && args.run_id.is_none() {
        return Err(PlanError(format!(
            "--workers {} needs --run-id: give every worker of the run the same id, so their \
             markers and reports belong together",
            args.workers
        )));
    }
    // Parsed here, not by clap: the plan owns what `--start-at` means (`cli` is plain text).
    let start_at = match &args.start_at {
        Some(text) => Some(
            StartAt::parse(text)
                .map_err(PlanError)?
                .resolve(SystemTime::now()),
        ),
        None => None,
    };
    Ok((
        Worker {
            index,
            workers: args.workers,
        },
        start_at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(index: Option<usize>, workers: usize) -> DistArgs {
        DistArgs {
            run_id: Some("ci-1".into()),
            worker_index: index,
            workers,
            start_at: None,
        }
    }

    #[test]
    fn shares_deal_remainders_to_the_first_workers() {
        let shares: Vec<usize> = (0..3)
            .map(|index| Worker { index, workers: 3 }.share(10))
            .collect();
        assert_eq!(shares, [4, 3, 3], "10 users on 3 workers");
        assert_eq!(
            Worker {
                index: 2,
                workers: 3
            }
            .share(2),
            0,
            "a worker past the users gets none"
        );
        assert_eq!(
            Worker::default().share(7),
            7,
            "a lone worker takes every user"
        );
    }

    #[test]
    fn the_job_completion_index_is_the_default_worker_index() {
        let (worker, _) = worker_from(&args(None, 3), Some("2")).unwrap();
        assert_eq!(
            worker,
            Worker {
                index: 2,
                workers: 3
            },
            "the worker index and count are kept"
        );
        let (worker, _) = worker_from(&args(Some(1), 3), Some("2")).unwrap();
        assert_eq!(worker.index, 1, "the flag wins over the variable");
        let error = worker_from(&args(None, 3), Some("x")).unwrap_err().0;
        assert!(error.contains(JOB_COMPLETION_INDEX), "{error}");
        let error = worker_from(&args(None, 3), Some("3")).unwrap_err().0;
        assert!(error.contains("below --workers 3"), "{error}");
    }

    #[test]
    fn several_workers_need_a_common_run_id() {
        let mut dist = args(Some(0), 2);
        dist.run_id = None;
        assert!(
            worker_from(&dist, None).unwrap_err().0.contains("--run-id"),
            "a worker without --run-id is refused, naming it"
        );
    }

    #[test]
    fn start_times_parse_and_resolve() {
        let at = StartAt::parse("2026-12-01T10:00:00Z").unwrap();
        let StartAt::At(at) = at else {
            panic!("an absolute time")
        };
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_796_119_200,
            "an absolute --start-at is that Unix time"
        );
        let now = UNIX_EPOCH + Duration::from_millis(12_345);
        assert_eq!(
            StartAt::parse("+5s").unwrap().resolve(now),
            now + Duration::from_secs(5),
            "+5s starts 5 s after now"
        );
        assert_eq!(
            StartAt::parse("@10s").unwrap().resolve(now),
            UNIX_EPOCH + Duration::from_secs(20),
            "@10s starts at the next multiple of 10 s"
        );
        for bad in ["tomorrow", "+5", "@0s"] {
            assert!(StartAt::parse(bad).is_err(), "{bad}");
        }
    }
}
