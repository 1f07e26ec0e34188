//! Renders diagnostics like rustc with annotate-snippets. The only place that turns a
//! [`Diagnostic`] into text.

use annotate_snippets::{Annotation, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Effects};

use super::{Diagnostic, Span};

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
    };
    let mut out = String::new();
    for (index, diagnostic) in diagnostics.iter().enumerate() {
        if index > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&render_one(&renderer, source_name, source, diagnostic));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn render_one(renderer: &Renderer, source_name: &str, source: &str, d: &Diagnostic) -> String {
    let snippet = Snippet::source(source)
        .origin(source_name)
        .line_start(1)
        .fold(true)
        .annotation(annotation(
            Level::Error,
            source,
            &d.primary.span,
            &d.primary.message,
        ))
        .annotations(
            d.secondary
                .iter()
                .map(|label| annotation(Level::Warning, source, &label.span, &label.message)),
        );
    let message = Level::Error
        .title(&d.message)
        .id(d.code.as_str())
        .snippet(snippet)
        .footers(d.help.iter().map(|help| Level::Help.title(help)));
    renderer.render(message).to_string()
}

/// An underline at `span`, with `label` under it unless empty.
fn annotation<'a>(level: Level, source: &str, span: &Span, label: &'a str) -> Annotation<'a> {
    let annotation = level.span(clamp(span, source));
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
