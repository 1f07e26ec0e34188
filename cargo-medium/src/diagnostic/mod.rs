//! Diagnostics: the one error type every stage reports, rendered like rustc.
//!
//! A [`Diagnostic`] is data (code, message, spans, help); [`Diagnostics`] owns the source text
//! they point into and is the only thing that renders them, so every error looks the same
//! wherever it comes from. Nothing here prints.

mod code;
mod render;

pub use code::ErrorCode;

use std::fmt;
use std::ops::Range;

/// A byte range into the source a diagnostic is about.
pub type Span = Range<usize>;

/// A span with an optional message, drawn under the source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    /// May be empty: the underline alone says enough.
    pub message: String,
}

/// One problem in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: ErrorCode,
    /// The headline, e.g. "unknown type `unit8`".
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Related places, e.g. "first defined here".
    pub secondary: Vec<Label>,
    /// Suggestions shown as `= help: …` lines.
    pub help: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic pointing at `span` with `label` under it.
    pub fn new(
        code: ErrorCode,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Label {
                span,
                message: label.into(),
            },
            secondary: Vec::new(),
            help: Vec::new(),
        }
    }

    /// Adds a secondary label pointing at a related place.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }
}

/// Every diagnostic found in one source file, in source order, with the text they point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    source_name: String,
    source: String,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Collects `items` about `source` (read from `source_name`), ordering them by position so
    /// the output reads top to bottom like the file.
    pub fn new(source_name: &str, source: &str, mut items: Vec<Diagnostic>) -> Self {
        items.sort_by_key(|d| d.primary.span.start);
        Diagnostics {
            source_name: source_name.to_owned(),
            source: source.to_owned(),
            items,
        }
    }

    /// The file name shown in `-->` lines.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// All diagnostics rendered like rustc's, separated by blank lines and ending with a
    /// newline; with ANSI colours only when `color` is set.
    pub fn render(&self, color: bool) -> String {
        render::render_all(&self.source_name, &self.source, &self.items, color)
    }
}

/// Joins words for a message: `a`, `a or b`, `a, b or c` (with `conjunction` "or"/"and").
pub fn join_list(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Renders without colour, as [`Diagnostics::render`] does for non-terminals.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}
