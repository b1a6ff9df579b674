//! `loadgen completions SHELL` and `loadgen man`: shell completions (clap_complete) and a roff man
//! page (clap_mangen) generated from the same clap definitions as the parser, so they never drift
//! from the flags.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, Command};

/// Prints what a `completions` or `man` command asks for and returns whether it was written;
/// `None` for every other command (a run). `loadgen::print_docs` maps it to the exit code.
pub fn print(command: &Command) -> Option<std::io::Result<()>> {
    let mut out = std::io::stdout().lock();
    let written = match command {
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "loadgen", &mut script);
            out.write_all(&script)
        }
        Command::Man => man(&mut out),
        _ => return None,
    };
    Some(written.and_then(|()| out.flush()))
}

/// The man page of `loadgen` and, after it, one section per subcommand.
pub fn man(out: &mut impl Write) -> std::io::Result<()> {
    let command = Cli::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        clap_mangen::Man::new(sub.clone())
            .title(format!("loadgen-{}", sub.get_name()))
            .render(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_documents_every_subcommand_and_their_flags() {
        let mut page = Vec::new();
        man(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        for needle in [
            "loadgen\\-run",
            "loadgen\\-cities",
            "\\-\\-metrics\\-listen",
            "\\-\\-users",
        ] {
            assert!(page.contains(needle), "the man page names {needle}");
        }
    }

    #[test]
    fn bash_completions_offer_the_subcommands() {
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "loadgen",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        assert!(
            script.contains("complete -F _loadgen"),
            "registers a completion function"
        );
        assert!(
            script.contains("--threshold") && script.contains("run"),
            "{script:.300}"
        );
    }
}
