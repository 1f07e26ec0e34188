//! Renders diagnostics like rustc with annotate-snippets. The only place that turns a
//! [`Diagnostic`] into text.

use annotate_snippets::{Annotation, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Effects};

use super::{Diagnostic, Span};

/// A terminal width no source line reaches, yet small enough that the renderer's arithmetic on
/// it cannot overflow.
const NEVER_CUT_WIDTH: usize = 1 << 30;

/// Renders each diagnostic, separated by blank lines, ending with a newline.
pub(super) fn render_all(
    source_name: &str,
    source: &str,
    diagnostics: &[Diagnostic],
    color: bool,
) -> String {
    // Secondary labels are drawn at the `Warning` level: it is the one annotate-snippets draws
    // like rustc's secondary labels (`-` underline, no prefix); rustc colours them blue.
    let renderer = if color {
        Renderer::styled().warning(AnsiColor::BrightBlue.on_default().effects(Effects::BOLD))
    } else {
        Renderer::plain()
    }
    // annotate-snippets 0.11's code for cutting lines wider than the terminal can underflow and
    // panic (found by fuzzing: a long tab-indented line); spec lines are short, so never cut.
    .term_width(NEVER_CUT_WIDTH);
    // annotate-snippets widens a tab to four columns on the source line but not under it, so
    // carets would drift left; a space is one byte like a tab, so every span stays valid.
    let source = source.replace('\t', " ");
    let lines = LineStarts::new(&source);
    let mut out = String::new();
    for (index, diagnostic) in diagnostics.iter().enumerate() {
        if index > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&render_one(
            &renderer,
            source_name,
            &source,
            &lines,
            diagnostic,
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn render_one(
    renderer: &Renderer,
    source_name: &str,
    source: &str,
    lines: &LineStarts,
    d: &Diagnostic,
) -> String {
    // Hand the renderer only the lines the labels touch: it scans all it is given, and a spec
    // with many errors would otherwise be scanned whole once per error.
    let spans = || {
        std::iter::once(&d.primary.span)
            .chain(d.secondary.iter().map(|label| &label.span))
            .map(|span| clamp(span, source))
    };
    let low = spans().map(|span| span.start).min().unwrap_or(0);
    let high = spans().map(|span| span.end).max().unwrap_or(0);
    let first_line = lines.line_of(low);
    let start = lines.start(first_line);
    let end = lines.end(lines.line_of(high), source);
    let shift = |span: &Span| {
        let span = clamp(span, source);
        span.start - start..span.end - start
    };
    let snippet = Snippet::source(&source[start..end])
        .origin(source_name)
        .line_start(first_line + 1)
        .fold(true)
        .annotation(annotation(
            Level::Error,
            shift(&d.primary.span),
            &d.primary.message,
        ))
        .annotations(
            d.secondary
                .iter()
                .map(|label| annotation(Level::Warning, shift(&label.span), &label.message)),
        );
    let message = Level::Error
        .title(&d.message)
        .id(d.code.as_str())
        .snippet(snippet)
        .footers(d.help.iter().map(|help| Level::Help.title(help)));
    renderer.render(message).to_string()
}

/// Where each line of a source starts, to cut a diagnostic's lines out of it.
#[derive(Debug)]
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(source: &str) -> Self {
        LineStarts(
            std::iter::once(0)
                .chain(source.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }

    /// The index of the line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        // The first line starts at 0, so at least one start is <= offset.
        self.0.partition_point(|&start| start <= offset) - 1
    }

    fn start(&self, line: usize) -> usize {
        self.0[line]
    }

    /// The byte after the line's line break (or the end of the source).
    fn end(&self, line: usize, source: &str) -> usize {
        self.0.get(line + 1).copied().unwrap_or(source.len())
    }
}

/// An underline at `span`, with `label` under it unless empty.
fn annotation(level: Level, span: Span, label: &str) -> Annotation<'_> {
    let annotation = level.span(span);
    if label.is_empty() {
        annotation
    } else {
        annotation.label(label)
    }
}

/// Keeps a span inside the source so a diagnostic at the very end of a file (say, "expected
/// `}`, found end of file") still renders.
fn clamp(span: &Span, source: &str) -> Span {
    let end = span.end.min(source.len());
    span.start.min(end)..end
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::{Diagnostic, Diagnostics, ErrorCode};

    #[test]
    fn caret_lines_up_under_a_tab_indented_span() {
        let source = "model M{\n\t\tx: unit8\n}\n";
        let start = source.find("unit8").expect("in source");
        let diagnostic =
            Diagnostic::new(ErrorCode::UnknownType, "unknown", start..start + 5, "here");
        let rendered = Diagnostics::new("t.lmspc", source, vec![diagnostic]).render(false);
        let lines: Vec<&str> = rendered.lines().collect();
        let code_line = lines
            .iter()
            .find(|l| l.contains("unit8"))
            .expect("code line");
        let caret_line = lines.iter().find(|l| l.contains('^')).expect("caret line");
        assert_eq!(
            code_line.find("unit8"),
            caret_line.find("^^^^^"),
            "{rendered}"
        );
        assert!(rendered.contains(" --> t.lmspc:2:6"), "{rendered}");
    }

    #[test]
    fn a_diagnostic_at_the_end_of_the_file_still_shows_a_line() {
        let source = "model M{\n    x: string";
        let end = source.len();
        let diagnostic = Diagnostic::new(ErrorCode::Syntax, "expected `}`", end..end + 3, "");
        let rendered = Diagnostics::new("t.lmspc", source, vec![diagnostic]).render(false);
        assert!(rendered.contains("2 |     x: string"), "{rendered}");
    }
}
