//! The user `.socket` and `.service` pair `cargo medium new --systemd` writes
//! into the daemon crate, rendered from `templates/systemd/` (embedded in the binary).
//!
//! The socket unit listens where the runtime resolves the socket (`<base>/<namespace>/socket`,
//! the base being the spec's `socket` folder, else `%t` = `$XDG_RUNTIME_DIR`), so apps find a
//! socket-activated daemon exactly where they would find one started by hand. The units are the
//! user's, like the rest of the daemon crate: `sync` never writes them.

use minijinja::context;

use crate::check::CheckedSpec;
use crate::codegen::GeneratedFile;
use crate::templates::{Template, TemplateError};

/// The folder of the daemon crate the units go in.
pub const UNIT_DIR: &str = "systemd";

/// `systemd/<daemon>.socket` and `systemd/<daemon>.service`, relative to the daemon crate.
pub(super) fn render(
    spec: &CheckedSpec,
    daemon: &str,
) -> Result<Vec<GeneratedFile>, TemplateError> {
    let values = context! {
        class => spec.class,
        namespace => spec.namespace,
        socket => spec.socket,
        daemon,
        listen_stream => listen_stream(spec),
        exec_start => format!("%h/.cargo/bin/{daemon}"),
    };
    [
        ("socket", Template::SystemdSocket),
        ("service", Template::SystemdService),
    ]
    .into_iter()
    .map(|(extension, template)| {
        let contents = template.render(values.clone())?;
        Ok(GeneratedFile::new(
            format!("{UNIT_DIR}/{daemon}.{extension}"),
            contents,
        ))
    })
    .collect()
}

/// The socket path as a unit file spells it: the runtime's `<base>/<namespace>/socket`, with
/// the spec's folder as base or else `%t`, the user manager's `$XDG_RUNTIME_DIR`. A `%` in the
/// spec's folder is doubled so systemd does not read it as a specifier.
fn listen_stream(spec: &CheckedSpec) -> String {
    let base = spec
        .socket
        .as_deref()
        .map_or_else(|| "%t".to_owned(), |folder| folder.replace('%', "%%"));
    format!("{base}/{}/socket", spec.namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(socket: Option<&str>) -> CheckedSpec {
        let mut text = "namespace com.example.student\nclass StudentSystem\n".to_owned();
        if let Some(socket) = socket {
            text += &format!("socket {socket}\n");
        }
        crate::check::check_source("student.lmspc", &text).unwrap()
    }

    fn units(socket: Option<&str>) -> (String, String) {
        let files = render(&spec(socket), "student-system-daemon").unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "systemd/student-system-daemon.socket",
                "systemd/student-system-daemon.service"
            ]
        );
        (files[0].contents.clone(), files[1].contents.clone())
    }

    /// `key=value` lines of `section`, comments left out.
    fn section(unit: &str, name: &str) -> Vec<String> {
        unit.split("\n[")
            .find(|part| part.starts_with(&format!("{name}]")))
            .unwrap_or_else(|| panic!("no [{name}] in\n{unit}"))
            .lines()
            .skip(1)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn socket_listens_where_the_runtime_looks_with_owner_only_modes() {
        let (socket, _) = units(None);
        assert_eq!(
            section(&socket, "Socket"),
            [
                "ListenStream=%t/com.example.student/socket",
                "SocketMode=0600",
                "DirectoryMode=0700"
            ]
        );
        assert_eq!(section(&socket, "Install"), ["WantedBy=sockets.target"]);
    }

    #[test]
    fn socket_uses_the_specs_folder_when_it_has_one() {
        let (socket, _) = units(Some("/run/student%x"));
        assert!(
            section(&socket, "Socket")
                .contains(&"ListenStream=/run/student%%x/com.example.student/socket".to_owned()),
            "{socket}"
        );
    }

    #[test]
    fn service_needs_its_socket_and_runs_the_installed_daemon() {
        let (_, service) = units(None);
        assert_eq!(
            section(&service, "Unit"),
            [
                "Description=StudentSystem daemon (com.example.student)",
                "Requires=student-system-daemon.socket",
                "After=student-system-daemon.socket"
            ]
        );
        assert_eq!(
            section(&service, "Service"),
            [
                "ExecStart=%h/.cargo/bin/student-system-daemon",
                "Environment=RUST_LOG=info"
            ]
        );
        assert_eq!(
            section(&service, "Install"),
            ["Also=student-system-daemon.socket"]
        );
    }
}
