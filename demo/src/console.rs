//! What the demo prints: headlines, its own lines, the children's output indented below them, and
//! verdicts. Bold and colour only when stdout is a terminal (and `NO_COLOR` is unset); a CI log or
//! a pipe gets plain lines with no control character at all, whatever a child printed.

use std::io::IsTerminal;

/// Indentation of the demo's own lines under a headline.
const OWN: &str = "   ";
/// Indentation of a child's output (loadgen's summary, progress and errors).
const CHILD: &str = "     | ";

/// Where the demo writes; `Copy`, so the tasks that stream a child's output each hold one.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    styled: bool,
}

impl Console {
    /// Styled when stdout is a terminal and `NO_COLOR` is not set.
    pub fn detect() -> Self {
        Self {
            styled: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Plain output, whatever stdout is (tests, files).
    pub fn plain() -> Self {
        Self { styled: false }
    }

    /// An act's headline: its number and title, then what it shows.
    pub fn headline(&self, label: &str, title: &str, what: &str) {
        println!();
        println!("{}", self.bold(&format!("== {label}: {title}")));
        for line in wrap(what, 96) {
            println!("{OWN}{line}");
        }
    }

    /// A line of the demo's own, under the current headline.
    pub fn line(&self, text: &str) {
        println!("{OWN}{}", clean(text));
    }

    /// A line a child printed, indented below the demo's lines.
    pub fn child(&self, text: &str) {
        println!("{CHILD}{}", clean(text).trim_end());
    }

    /// An act's verdict: `PASS` or `FAIL`, then what was seen.
    pub fn verdict(&self, passed: bool, text: &str) {
        println!("{OWN}=> {} {}", self.pass_fail(passed), clean(text));
    }

    /// `PASS` in green or `FAIL` in red on a terminal, plain otherwise.
    pub fn pass_fail(&self, passed: bool) -> String {
        let (word, colour) = if passed { ("PASS", 32) } else { ("FAIL", 31) };
        if self.styled {
            format!("\x1b[1;{colour}m{word}\x1b[0m")
        } else {
            word.to_owned()
        }
    }

    /// Bold on a terminal, as is otherwise.
    pub fn bold(&self, text: &str) -> String {
        if self.styled {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `text` without control characters: a tab becomes spaces, a carriage return (a progress bar
/// redrawing its line) or an escape sequence is dropped.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str("    "),
            '\x1b' => {
                // CSI `ESC [ ... final byte`: skip it whole.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_escape_sequences_are_removed() {
        assert_eq!(
            clean("\x1b[1;32mPASS\x1b[0m\r"),
            "PASS",
            "clean strips colour codes and carriage returns"
        );
        assert_eq!(
            clean("a\tb\x07c"),
            "a    bc",
            "clean expands tabs and drops bells"
        );
        assert_eq!(
            clean("p99 1.2 ms"),
            "p99 1.2 ms",
            "clean leaves plain text alone"
        );
    }

    #[test]
    fn plain_console_prints_no_escape() {
        let console = Console::plain();
        assert_eq!(
            console.pass_fail(true),
            "PASS",
            "a plain console prints PASS without colour"
        );
        assert_eq!(
            console.bold("x"),
            "x",
            "a plain console prints bold text as is"
        );
    }

    #[test]
    fn long_text_wraps_at_spaces() {
        assert_eq!(
            wrap("aa bb cc", 5),
            ["aa bb", "cc"],
            "wrap breaks at the last space within the width"
        );
        assert_eq!(
            wrap("", 5),
            Vec::<String>::new(),
            "wrapping nothing gives no lines"
        );
    }
}
