//! Cargo-style terminal output: status lines (`     Created …`) and `error:`/`warning:` messages
//! on stderr, with verbosity and colour choices applied in one place.
//!
//! Every command prints through a [`Shell`]; nothing else in the crate writes to stderr or stdout.

use std::fmt::Display;
use std::io::Write;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

/// Width status verbs are right-aligned to, as in cargo.
const VERB_WIDTH: usize = 12;

const STATUS: Style = AnsiColor::Green.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();

/// stdout could not be written. When its reader closed it ([`StdoutError::is_closed`], as
/// `| head` does once it has its lines), the command should end quietly and successfully, as
/// ripgrep and cargo do; anything else (a full disk) is a failure.
#[derive(Debug, thiserror::Error)]
#[error("could not write to stdout")]
pub struct StdoutError {
    source: std::io::Error,
}

impl StdoutError {
    /// Whether the reader went away (EPIPE): nobody wants the rest of the output.
    pub fn is_closed(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// How much the user asked to hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Prints cargo-style messages to stderr.
#[derive(Debug)]
pub struct Shell {
    verbosity: Verbosity,
    stderr: anstream::AutoStream<std::io::Stderr>,
}

impl Shell {
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Shell {
        Shell {
            verbosity,
            stderr: anstream::AutoStream::new(std::io::stderr(), color),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether messages written to stderr keep their colour; diagnostics rendered elsewhere
    /// use this to decide whether to colour themselves.
    pub fn stderr_has_color(&self) -> bool {
        self.stderr.current_choice() != ColorChoice::Never
    }

    /// `     Created student-system/`: a green, right-aligned verb and a message. Hidden by `-q`.
    pub fn status(&mut self, verb: &str, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_line(verb, STATUS, true, message);
        }
    }

    /// Like [`Shell::status`], but only with `-v`.
    pub fn verbose_status(&mut self, verb: &str, message: impl Display) {
        if self.verbosity >= Verbosity::Verbose {
            self.print_line(verb, STATUS, true, message);
        }
    }

    /// `note: …`, hidden by `-q`.
    pub fn note(&mut self, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_line("note", NOTE, false, message);
        }
    }

    /// `warning: …`, always shown.
    pub fn warn(&mut self, message: impl Display) {
        self.print_line("warning", WARNING, false, message);
    }

    /// `error: …` in bold red, always shown.
    pub fn error(&mut self, message: impl Display) {
        self.print_line("error", ERROR, false, message);
    }

    /// Text that is already formatted (rendered diagnostics), always shown.
    pub fn print_raw(&mut self, text: &str) {
        // A closed stderr leaves nowhere to report the failure, so it is ignored, as cargo does.
        let _ = self.stderr.write_all(text.as_bytes());
    }

    /// A command's product (a report the user may pipe or redirect) on stdout, uncoloured and
    /// shown even with `-q`, as `cargo tree` prints its tree. Flushed at once, so a monitor's
    /// line reaches its reader (and a closed stdout is noticed) when it happens.
    pub fn out(&mut self, text: &str) -> Result<(), StdoutError> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|source| StdoutError { source })
    }

    fn print_line(&mut self, label: &str, style: Style, justified: bool, message: impl Display) {
        let line = if justified {
            format!("{style}{label:>VERB_WIDTH$}{style:#} {message}\n")
        } else {
            format!("{style}{label}:{style:#} {message}\n")
        };
        self.print_raw(&line);
    }
}
