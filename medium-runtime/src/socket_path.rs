//! Where a protocol's socket lives: `<base>/<namespace>/socket`, with the base resolved from
//! the environment and the spec. Pure lookup: never touches the file system.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::Error;
use crate::protocol_info::ProtocolInfo;

/// Environment variable naming a base folder that overrides every other choice.
pub const SOCKET_DIR_ENV: &str = "MEDIUM_SOCKET_DIR";

/// Resolves the socket path of `info`: the base is `$MEDIUM_SOCKET_DIR`, else the spec's
/// `socket` folder, else `$XDG_RUNTIME_DIR`, else `/run` when running as root.
pub fn socket_path(info: &ProtocolInfo) -> Result<PathBuf, Error> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() == 0 };
    resolve(info, |name| std::env::var_os(name), is_root)
}

/// The resolution rules, apart from the process environment so they can be tested.
fn resolve(
    info: &ProtocolInfo,
    env: impl Fn(&str) -> Option<OsString>,
    is_root: bool,
) -> Result<PathBuf, Error> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    let base = if let Some(dir) = non_empty(SOCKET_DIR_ENV) {
        PathBuf::from(dir)
    } else if let Some(dir) = info.socket_base {
        PathBuf::from(dir)
    } else if let Some(dir) = non_empty("XDG_RUNTIME_DIR") {
        PathBuf::from(dir)
    } else if is_root {
        PathBuf::from("/run")
    } else {
        return Err(Error::NoSocketDir);
    };
    Ok(base.join(info.namespace).join("socket"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: ProtocolInfo = ProtocolInfo {
        namespace: "com.example.student",
        class: "StudentSystem",
        fingerprint: "",
        socket_base: Some("/run/student"),
        spec: "",
        events: &[],
        access: &[],
        uses_fd: false,
    };
    const NO_BASE: ProtocolInfo = ProtocolInfo {
        socket_base: None,
        ..INFO
    };

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn env_override_beats_everything() {
        let vars = [
            ("MEDIUM_SOCKET_DIR", "/tmp/t"),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
        ];
        let path = resolve(&INFO, env(&vars), true).unwrap();
        assert_eq!(path, PathBuf::from("/tmp/t/com.example.student/socket"));
    }

    #[test]
    fn spec_folder_beats_xdg_runtime_dir() {
        let vars = [
            ("MEDIUM_SOCKET_DIR", ""),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
        ];
        let path = resolve(&INFO, env(&vars), false).unwrap();
        assert_eq!(
            path,
            PathBuf::from("/run/student/com.example.student/socket")
        );
    }

    #[test]
    fn xdg_runtime_dir_then_run_for_root() {
        let vars = [("XDG_RUNTIME_DIR", "/run/user/1")];
        let user = resolve(&NO_BASE, env(&vars), false).unwrap();
        assert_eq!(
            user,
            PathBuf::from("/run/user/1/com.example.student/socket")
        );
        let root = resolve(&NO_BASE, env(&[]), true).unwrap();
        assert_eq!(root, PathBuf::from("/run/com.example.student/socket"));
    }

    #[test]
    fn no_base_for_a_user_without_xdg_runtime_dir_is_an_error() {
        let err = resolve(&NO_BASE, env(&[]), false).unwrap_err();
        assert!(matches!(err, Error::NoSocketDir));
    }
}
