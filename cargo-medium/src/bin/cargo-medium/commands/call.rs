//! `cargo medium call METHOD [JSON_ARGS…]`: introspects the daemon, converts the arguments by
//! the types its spec declares (rejecting bad ones before anything is sent; an `fd` is a file
//! opened from `"@path"`), calls with the daemon's own fingerprint and prints the result as
//! pretty JSON, a received descriptor as its kind and target. An exception or a protocol
//! error is a failure (exit 101); so is a call the method's `@allow` rule does not admit, reported
//! with the daemon's message alone ("uid 1000 may not call `delete_student`").

use anyhow::anyhow;
use cargo_medium::inspect::{Received, decoding_reply, encode_arguments, protocol_info};
use cargo_medium::shell::Shell;
use medium_runtime::{CallError, NoException};

use super::daemon;
use crate::cli::{CallArgs, GlobalArgs};

pub fn run(args: &CallArgs, global: &GlobalArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let daemon::InspectedDaemon {
        socket,
        introspection,
        spec,
    } = daemon::inspect(&args.daemon, global, shell)?;
    let Some(method) = spec.methods.iter().find(|m| m.name == args.method) else {
        let names: Vec<&str> = spec.methods.iter().map(|m| m.name.as_str()).collect();
        return Err(anyhow!(
            "{}.{} has no method `{}` (methods: {})",
            spec.namespace,
            spec.class,
            args.method,
            names.join(", ")
        ));
    };
    let arguments = encode_arguments(&spec, &method.name, &method.params, &args.args)?;
    let client = medium_runtime::blocking::Client::connect_to(
        protocol_info(&introspection, &spec),
        &socket,
    )?;
    let reply = decoding_reply(&spec, method.returns.as_ref(), || {
        client.call::<_, Received, NoException>(&method.name, &arguments)
    });
    match reply {
        Ok(Received(json)) => {
            let json = serde_json::to_string_pretty(&json)?;
            shell.out(&format!("{json}\n"))?;
            Ok(())
        }
        Err(CallError::UnknownException(e)) => Err(anyhow!(
            "`{}` raised {}: {}",
            method.name,
            e.name,
            e.message
        )),
        Err(CallError::Forbidden(e)) => Err(anyhow!("{e}")),
        Err(e) => Err(anyhow!("`{}` failed: {e}", method.name)),
    }
}
