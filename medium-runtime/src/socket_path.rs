//! Where a protocol's socket lives: `<base>/<namespace>/socket`, with the base resolved from
//! the environment and the spec. Pure lookup: never touches the file system.

use std::path::PathBuf;

use crate::error::Error;
use crate::protocol_info::ProtocolInfo;

/// Environment variable naming a base folder that overrides every other choice.
pub const SOCKET_DIR_ENV: &str = "MEDIUM_SOCKET_DIR";

/// Resolves the socket path of `info`: the base is `$MEDIUM_SOCKET_DIR`, else the spec's
/// `socket` folder, else `$XDG_RUNTIME_DIR`, else `/run` when running as root.
pub fn socket_path(info: &ProtocolInfo) -> Result<PathBuf, Error> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if let Some(dir) = non_empty(SOCKET_DIR_ENV) {
        PathBuf::from(dir)
    } else if let Some(dir) = info.socket_base {
        PathBuf::from(dir)
    } else if let Some(dir) = non_empty("XDG_RUNTIME_DIR") {
        PathBuf::from(dir)
    } else if is_root() {
        PathBuf::from("/run")
    } else {
        return Err(Error::NoSocketDir);
    };
    Ok(base.join(info.namespace).join("socket"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
