//! Every file cargo-medium renders from a template: the workspace's root files, the protocol,
//! daemon and app crates' manifests, the daemon and app sources and the systemd units. The
//! templates live in `cargo-medium/templates/`, are embedded in the binary at build time and
//! render through one minijinja environment.
//!
//! Pure: rendering reads nothing from the disk and writes nothing. A template that fails to
//! render is a bug in cargo-medium, reported as a [`TemplateError`], never a panic.

mod template;
mod template_error;

pub(crate) use template::Template;
pub use template_error::TemplateError;
