//! [`TemplateError`]: an embedded template that failed to render.

/// An embedded template failed to render. The templates ship inside the binary and are
/// rendered for every spec shape in the tests, so this is a bug in cargo-medium, not in the
/// user's input; it is still reported as an error rather than a panic.
#[derive(Debug, thiserror::Error)]
#[error("cargo-medium's template `{template}` failed to render; this is a bug in cargo-medium")]
pub struct TemplateError {
    template: &'static str,
    // The cause (minijinja names the line) is the `source`, not part of the message: the CLI
    // prints the chain.
    #[source]
    source: minijinja::Error,
}

impl TemplateError {
    pub(super) fn new(template: &'static str, source: minijinja::Error) -> TemplateError {
        TemplateError { template, source }
    }
}
