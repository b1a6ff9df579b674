//! The command line: which story, which acts and faults, where the binaries are and where the
//! reports go. Every flag also reads a `DEMO_*` variable.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// racebench's end-to-end demo: starts mock-server on a free port, runs loadgen against it in
/// seven acts, prints a summary table, writes JSON and HTML reports, and always stops the server.
#[derive(Debug, Parser)]
#[command(
    name = "racebench-demo",
    version,
    about,
    max_term_width = 100,
    after_help = shared::cli::ARTICLES
)]
pub struct Cli {
    /// `all`: the seven acts; `leak`: the second article's story, acts 5 to 7 for
    /// `shared-identity` only
    #[arg(value_enum, env = "DEMO_STORY", default_value_t = Story::All)]
    pub story: Story,

    /// Directory with the `mock-server` and `loadgen` binaries [default: this binary's own
    /// directory, e.g. target/release]
    #[arg(long, env = "DEMO_BIN_DIR", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Where the JSON and HTML reports (and the server's log) are written
    #[arg(
        long,
        env = "DEMO_OUT_DIR",
        default_value = "target/bench",
        value_name = "DIR"
    )]
    pub out_dir: PathBuf,

    /// Run only these acts, e.g. `--act 1,2` [default: every act of the story]
    #[arg(
        long = "act",
        env = "DEMO_ACTS",
        value_name = "N",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u8).range(1..=7)
    )]
    pub acts: Vec<u8>,

    /// Act 6: only these faults, e.g. `--fault racy-id,bola` [default: the whole catalogue;
    /// `leak`: shared-identity]
    #[arg(
        long = "fault",
        env = "DEMO_FAULTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub faults: Vec<String>,
}

/// Which story to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Story {
    /// The seven acts.
    All,
    /// Acts 5 to 7 for `shared-identity`: a cross-user leak found, then fixed.
    Leak,
}

/// What to run, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bin_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Act numbers, in order.
    pub acts: Vec<u8>,
    /// Act 6's faults; `None`: every fault of the server's catalogue.
    pub faults: Option<Vec<String>>,
}

impl Cli {
    pub fn into_plan(self) -> Plan {
        let story_acts: Vec<u8> = match self.story {
            Story::All => (1..=7).collect(),
            Story::Leak => vec![5, 6, 7],
        };
        let acts = if self.acts.is_empty() {
            story_acts
        } else {
            story_acts
                .into_iter()
                .filter(|act| self.acts.contains(act))
                .collect()
        };
        let faults = match (self.faults.is_empty(), self.story) {
            (false, _) => Some(self.faults),
            (true, Story::Leak) => Some(vec!["shared-identity".to_owned()]),
            (true, Story::All) => None,
        };
        let bin_dir = self.bin_dir.unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("target/release"))
        });
        Plan {
            bin_dir,
            out_dir: self.out_dir,
            acts,
            faults,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(args: &[&str]) -> Plan {
        Cli::try_parse_from(["racebench-demo"].iter().chain(args))
            .unwrap()
            .into_plan()
    }

    #[test]
    fn the_default_story_is_every_act_and_every_fault() {
        let plan = plan(&[]);
        assert_eq!(
            plan.acts,
            [1, 2, 3, 4, 5, 6, 7],
            "no --act runs every act in order"
        );
        assert!(
            plan.faults.is_none(),
            "no --fault keeps every act's own fault"
        );
    }

    #[test]
    fn the_leak_story_is_acts_5_to_7_for_shared_identity() {
        let plan = plan(&["leak"]);
        assert_eq!(plan.acts, [5, 6, 7], "the leak story runs acts 5 to 7");
        assert_eq!(
            plan.faults.unwrap(),
            ["shared-identity"],
            "the leak story switches shared-identity on"
        );
    }

    #[test]
    fn acts_and_faults_can_be_picked() {
        let plan = plan(&["--act", "4,1", "--fault", "bola,racy-id"]);
        assert_eq!(
            plan.acts,
            [1, 4],
            "--act 4,1 runs those acts in story order"
        );
        assert_eq!(
            plan.faults.unwrap(),
            ["bola", "racy-id"],
            "a ,-list of --fault keeps its order"
        );
        assert!(
            Cli::try_parse_from(["racebench-demo", "--act", "8"]).is_err(),
            "an act past the last one is refused"
        );
    }
}
