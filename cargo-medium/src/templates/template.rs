//! [`Template`]: the embedded templates, by name, and the one environment they render in.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::TemplateError;

/// One embedded template, named by its path under `cargo-medium/templates/` (also the name
/// other templates include it by, and the name minijinja's errors give).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    WorkspaceManifest,
    WorkspaceReadme,
    WorkspaceGitignore,
    /// The `[dependencies]` table of every crate manifest, included by the three below.
    CrateDependencies,
    ProtocolManifest,
    DaemonManifest,
    DaemonMain,
    AppManifest,
    AppMain,
    SystemdSocket,
    SystemdService,
}

impl Template {
    const ALL: [Template; 11] = [
        Template::WorkspaceManifest,
        Template::WorkspaceReadme,
        Template::WorkspaceGitignore,
        Template::CrateDependencies,
        Template::ProtocolManifest,
        Template::DaemonManifest,
        Template::DaemonMain,
        Template::AppManifest,
        Template::AppMain,
        Template::SystemdSocket,
        Template::SystemdService,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Template::WorkspaceManifest => "workspace/Cargo.toml.jinja",
            Template::WorkspaceReadme => "workspace/README.md.jinja",
            Template::WorkspaceGitignore => "workspace/gitignore.jinja",
            Template::CrateDependencies => "crate/dependencies.toml.jinja",
            Template::ProtocolManifest => "protocol/Cargo.toml.jinja",
            Template::DaemonManifest => "daemon/Cargo.toml.jinja",
            Template::DaemonMain => "daemon/src/main.rs.jinja",
            Template::AppManifest => "app/Cargo.toml.jinja",
            Template::AppMain => "app/src/main.rs.jinja",
            Template::SystemdSocket => "systemd/daemon.socket.jinja",
            Template::SystemdService => "systemd/daemon.service.jinja",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Template::WorkspaceManifest => {
                include_str!("../../templates/workspace/Cargo.toml.jinja")
            }
            Template::WorkspaceReadme => include_str!("../../templates/workspace/README.md.jinja"),
            Template::WorkspaceGitignore => {
                include_str!("../../templates/workspace/gitignore.jinja")
            }
            Template::CrateDependencies => {
                include_str!("../../templates/crate/dependencies.toml.jinja")
            }
            Template::ProtocolManifest => include_str!("../../templates/protocol/Cargo.toml.jinja"),
            Template::DaemonManifest => include_str!("../../templates/daemon/Cargo.toml.jinja"),
            Template::DaemonMain => include_str!("../../templates/daemon/src/main.rs.jinja"),
            Template::AppManifest => include_str!("../../templates/app/Cargo.toml.jinja"),
            Template::AppMain => include_str!("../../templates/app/src/main.rs.jinja"),
            Template::SystemdSocket => include_str!("../../templates/systemd/daemon.socket.jinja"),
            Template::SystemdService => {
                include_str!("../../templates/systemd/daemon.service.jinja")
            }
        }
    }

    /// The template rendered with `context`. Every variable it uses must be defined.
    pub(crate) fn render(self, context: Value) -> Result<String, TemplateError> {
        ENVIRONMENT
            .get_template(self.name())
            .and_then(|template| template.render(context))
            .map_err(|source| TemplateError::new(self.name(), source))
    }
}

/// The one environment every template renders in, loading templates (and what they include)
/// from the embedded sources by name. Settings:
/// - undefined variables are errors, so a misspelt name cannot render as nothing;
/// - a block tag's line break and leading indentation are dropped, so `{% for %}`/`{% if %}`
///   lines can stand on their own lines of a Rust or TOML file without leaving blank lines;
/// - a template's final line break is kept;
/// - nothing is escaped: none of the files is HTML.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_loader(|name| {
        Ok(Template::ALL
            .into_iter()
            .find(|template| template.name() == name)
            .map(|template| template.source().to_owned()))
    });
    env
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_found_by_its_name_and_parses() {
        for template in Template::ALL {
            if let Err(err) = ENVIRONMENT.get_template(template.name()) {
                panic!("{}: {err:#}", template.name());
            }
        }
    }

    #[test]
    fn a_template_that_fails_is_an_error_naming_it() {
        let err = Template::SystemdSocket
            .render(minijinja::context! {})
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cargo-medium's template `systemd/daemon.socket.jinja` failed to render; this is a \
             bug in cargo-medium"
        );
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("daemon.socket.jinja"), "{cause}");
    }
}
