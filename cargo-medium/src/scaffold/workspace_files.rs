//! [`WorkspaceFiles`]: the files of a new workspace that are not crates — its root
//! `Cargo.toml` skeleton, `README.md` and `.gitignore` — rendered from `templates/workspace/`.

use minijinja::{Value, context};

use crate::templates::{Template, TemplateError};

/// What the workspace templates may refer to.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceFiles<'a> {
    /// The crates' base name, e.g. `student-system`.
    pub name: &'a str,
    /// The spec, relative to the workspace root.
    pub spec: &'a str,
    pub class: &'a str,
    pub namespace: &'a str,
    pub socket: Option<&'a str>,
    pub protocol: &'a str,
    pub daemon: &'a str,
    pub app: Option<&'a str>,
    /// The generated Python package's directory (`new --python`).
    pub python: Option<&'a str>,
    /// Whether the daemon crate has systemd units (`new --systemd`).
    pub systemd: bool,
}

impl WorkspaceFiles<'_> {
    /// Every workspace file as (path relative to the workspace root, contents). The manifest is
    /// a skeleton the manifest patcher then fills in.
    pub fn render(&self) -> Result<Vec<(&'static str, String)>, TemplateError> {
        let WorkspaceFiles {
            name,
            spec,
            class,
            namespace,
            socket,
            protocol,
            daemon,
            app,
            python,
            systemd,
        } = *self;
        let values: Value = context! {
            name, spec, class, namespace, socket, protocol, daemon, app, python, systemd
        };
        [
            ("Cargo.toml", Template::WorkspaceManifest),
            ("README.md", Template::WorkspaceReadme),
            (".gitignore", Template::WorkspaceGitignore),
        ]
        .into_iter()
        .map(|(file, template)| Ok((file, template.render(values.clone())?)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(app: Option<&str>) -> WorkspaceFiles<'_> {
        WorkspaceFiles {
            name: "student-system",
            spec: "student.lmspc",
            class: "StudentSystem",
            namespace: "com.example.student",
            socket: None,
            protocol: "student-system-protocol",
            daemon: "student-system-daemon",
            app,
            python: None,
            systemd: false,
        }
    }

    fn readme(app: Option<&str>) -> String {
        let files = context(app).render().unwrap();
        files
            .into_iter()
            .find(|(file, _)| *file == "README.md")
            .unwrap()
            .1
    }

    #[test]
    fn readme_tells_how_to_run_daemon_and_app() {
        let readme = readme(Some("student-system-app"));
        assert!(
            readme.contains("cargo run -p student-system-daemon\n"),
            "{readme}"
        );
        assert!(
            readme.contains("cargo run -p student-system-app\n"),
            "{readme}"
        );
        assert!(
            readme.contains("`<dir>/com.example.student/socket`"),
            "{readme}"
        );
        assert!(readme.ends_with("out of date with the spec.\n"), "{readme}");
    }

    #[test]
    fn readme_names_the_specs_socket_folder_when_it_has_one() {
        let context = WorkspaceFiles {
            socket: Some("/run/student"),
            ..context(None)
        };
        let files = context.render().unwrap();
        let (_, readme) = files.iter().find(|(file, _)| *file == "README.md").unwrap();
        assert!(
            readme.contains("else `/run/student` (the spec's `socket` folder).\n"),
            "{readme}"
        );
        assert!(!readme.contains("XDG_RUNTIME_DIR"), "{readme}");
    }

    #[test]
    fn readme_tells_how_to_install_systemd_units_only_when_there_are_some() {
        let context = WorkspaceFiles {
            systemd: true,
            ..context(None)
        };
        let files = context.render().unwrap();
        let (_, readme) = files.iter().find(|(file, _)| *file == "README.md").unwrap();
        assert!(
            readme.contains(
                "systemctl --user enable --now \"$PWD/student-system-daemon/systemd/student-system-daemon.socket\"\n"
            ),
            "{readme}"
        );
        assert!(
            readme.contains("listens at `%t/com.example.student/socket`"),
            "{readme}"
        );
        assert!(readme.ends_with("out of date with the spec.\n"), "{readme}");
        assert!(!self::readme(None).contains("systemctl"));
    }

    #[test]
    fn readme_and_gitignore_cover_the_python_package_only_when_there_is_one() {
        let render = |python| {
            let context = WorkspaceFiles {
                python,
                ..context(None)
            };
            context.render().unwrap()
        };
        let file = |files: &[(&str, String)], name: &str| {
            files
                .iter()
                .find(|(file, _)| *file == name)
                .unwrap()
                .1
                .clone()
        };
        let with = render(Some("student_system"));
        let readme = file(&with, "README.md");
        assert!(
            readme.contains("pip install ./student_system\n"),
            "{readme}"
        );
        assert!(
            readme.contains("regenerates `student-system-protocol` and `student_system` and"),
            "{readme}"
        );
        assert!(readme.ends_with("out of date with the spec.\n"), "{readme}");
        assert!(file(&with, ".gitignore").contains("__pycache__/\n"));

        let without = render(None);
        assert!(!file(&without, "README.md").contains("Python"));
        assert_eq!(file(&without, ".gitignore"), "/target\n");
    }

    #[test]
    fn readme_without_an_app_does_not_mention_one() {
        let readme = readme(None);
        assert!(!readme.contains("-app"), "{readme}");
    }

    #[test]
    fn manifest_skeleton_is_a_workspace_with_an_empty_member_list() {
        let files = context(None).render().unwrap();
        let (_, manifest) = files
            .iter()
            .find(|(file, _)| *file == "Cargo.toml")
            .unwrap();
        assert!(
            manifest.ends_with("[workspace]\nresolver = \"3\"\nmembers = [\n]\n"),
            "{manifest}"
        );
    }
}
