//! `__init__.py` of a generated package: models, exceptions, event records, the protocol
//! table, the connection and the daemon base class, in an order where every name is defined
//! before it is used at import time.

use std::fmt::Write;

use crate::check::{Allow, AllowRule, CheckedSpec, Doc, Field};

use super::names::{MODULE_CONSTANTS, PythonNames, RUNTIME_REEXPORTS};
use super::types::{annotation, descriptor, model_descriptor};

/// Renders the module.
pub(super) fn render(spec: &CheckedSpec, names: &PythonNames) -> String {
    let mut out = String::new();
    header(spec, names, &mut out);
    models(spec, names, &mut out);
    exceptions(spec, names, &mut out);
    event_records(spec, names, &mut out);
    protocol_table(spec, names, &mut out);
    connection(spec, names, &mut out);
    async_connection(spec, names, &mut out);
    server_base(spec, names, &mut out);
    out
}

/// A Python string literal for `text`.
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A docstring at `indent` from doc lines, or `fallback` when there are none.
fn docstring(doc: &Doc, fallback: &str, indent: &str) -> String {
    let lines: Vec<String> = if doc.is_empty() {
        vec![fallback.to_owned()]
    } else {
        doc.iter()
            .map(|line| line.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\""))
            .collect()
    };
    if lines.len() == 1 {
        return format!("{indent}\"\"\"{}\"\"\"\n", lines[0].trim_end());
    }
    let mut out = format!("{indent}\"\"\"{}\n", lines[0].trim_end());
    for line in &lines[1..] {
        let line = line.trim_end();
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    let _ = writeln!(out, "{indent}\"\"\"");
    out
}

fn header(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let _ = write!(
        out,
        "{header}\
         \"\"\"The {class} medium protocol ({namespace}): models, exceptions, the\n\
         `{connection}` client and the `{server}` daemon base class.\"\"\"\n\
         \n\
         from __future__ import annotations\n\
         \n\
         import dataclasses\n\
         import typing\n\
         \n\
         from . import _medium\n\
         from ._medium import (\n\
         {imports}\
         )\n\
         \n\
         NAMESPACE = {namespace_literal}\n\
         CLASS = {class_literal}\n\
         # SHA-256 of the canonical spec: the handshake refuses a daemon built from another spec.\n\
         FINGERPRINT = {fingerprint}\n\
         # The canonical spec, which the daemon reports to the `introspect` built-in request.\n\
         SPEC = (\n{spec}\n)\n",
        header = super::generated_header(spec),
        class = spec.class,
        namespace = spec.namespace,
        imports = RUNTIME_REEXPORTS
            .iter()
            .map(|name| format!("    {name},\n"))
            .collect::<String>(),
        connection = names.connection,
        server = names.server_base,
        namespace_literal = literal(&spec.namespace),
        class_literal = literal(&spec.class),
        fingerprint = literal(&spec.fingerprint()),
        spec = spec
            .canonical()
            .split_inclusive('\n')
            .map(|line| format!("    {}", literal(line)))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let mut exports: Vec<String> = [RUNTIME_REEXPORTS, MODULE_CONSTANTS]
        .concat()
        .into_iter()
        .map(str::to_owned)
        .collect();
    exports.extend([
        names.connection.clone(),
        names.async_connection.clone(),
        names.server_base.clone(),
        names.error_base.clone(),
    ]);
    exports.extend(spec.models.iter().map(|m| names.ty(&m.name).to_owned()));
    exports.extend(spec.exceptions.iter().map(|e| names.ty(&e.name).to_owned()));
    exports.extend(
        spec.events
            .iter()
            .map(|e| names.event_record(&e.name).to_owned()),
    );
    out.push_str("\n__all__ = [\n");
    for export in exports {
        let _ = writeln!(out, "    {},", literal(&export));
    }
    out.push_str("]\n");
}

fn models(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    for model in &spec.models {
        let class = names.ty(&model.name);
        let _ = write!(out, "\n\n@dataclasses.dataclass\nclass {class}:\n");
        out.push_str(&docstring(
            &model.doc,
            &format!("The `{}` model.", model.name),
            "    ",
        ));
        fields(&model.fields, names, out);
    }
    if spec.models.is_empty() {
        return;
    }
    // Descriptors exist before their fields are set, since models refer to each other in any
    // order (`Book` has `*Section`, declared after it).
    out.push_str("\n\n");
    for model in &spec.models {
        let class = names.ty(&model.name);
        let _ = writeln!(out, "{} = _medium.Model({class})", model_descriptor(class));
    }
    for model in &spec.models {
        let class = names.ty(&model.name);
        let _ = writeln!(out, "{}.define(", model_descriptor(class));
        for (field, attr) in model.fields.iter().zip(names.fields(&model.fields)) {
            let _ = writeln!(
                out,
                "    ({}, {}, {}),",
                literal(&field.name),
                literal(&attr),
                descriptor(&field.ty, names)
            );
        }
        out.push_str(")\n");
    }
}

/// Annotated fields of a dataclass or named tuple, each with its doc as a comment.
fn fields(fields: &[Field], names: &PythonNames, out: &mut String) {
    if fields.is_empty() {
        out.push_str("\n    pass\n");
        return;
    }
    out.push('\n');
    for (field, attr) in fields.iter().zip(names.fields(fields)) {
        for line in &field.doc {
            let _ = writeln!(out, "    # {}", line.trim_end());
        }
        let _ = writeln!(out, "    {attr}: {}", annotation(&field.ty, names));
    }
}

fn exceptions(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let _ = write!(
        out,
        "\n\nclass {base}(RemoteException):\n    \
         \"\"\"Base of the exceptions the {class} daemon raises.\"\"\"\n",
        base = names.error_base,
        class = spec.class,
    );
    for exception in &spec.exceptions {
        let _ = writeln!(
            out,
            "\n\nclass {}({}):",
            names.ty(&exception.name),
            names.error_base
        );
        out.push_str(&docstring(
            &exception.doc,
            &format!("The `{}` exception.", exception.name),
            "    ",
        ));
        let _ = writeln!(
            out,
            "\n    wire_name: typing.ClassVar[str] = {}",
            literal(&exception.name)
        );
    }
}

fn event_records(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    for event in &spec.events {
        let _ = writeln!(
            out,
            "\n\nclass {}(typing.NamedTuple):",
            names.event_record(&event.name)
        );
        out.push_str(&docstring(
            &event.doc,
            &format!("The arguments of the `{}` event.", event.name),
            "    ",
        ));
        fields(&event.params, names, out);
    }
}

/// `_medium.Signature(...)` for a method or event.
fn signature(name: &str, attr: &str, params: &[Field], names: &PythonNames, tail: &str) -> String {
    let mut out = format!(
        "_medium.Signature(\n        {},\n        {},\n        (",
        literal(name),
        literal(attr)
    );
    let entries: Vec<String> = params
        .iter()
        .map(|p| format!("({}, {})", literal(&p.name), descriptor(&p.ty, names)))
        .collect();
    out.push_str(&entries.join(", "));
    if entries.len() == 1 {
        out.push(',');
    }
    let _ = write!(out, "),\n{tail}    )");
    out
}

/// The `allow=` argument of a `Signature` with an effective `@allow` rule: its terms as
/// `_medium.Allow`s, in canonical order; nothing for an item anyone may use.
fn allow_argument(rule: Option<&AllowRule>) -> String {
    let Some(rule) = rule else {
        return String::new();
    };
    let terms: Vec<String> = rule
        .terms()
        .iter()
        .map(|term| match term {
            Allow::Root => "_medium.Allow(\"root\")".to_owned(),
            Allow::Owner => "_medium.Allow(\"owner\")".to_owned(),
            Allow::Uid(uid) => format!("_medium.Allow(\"uid\", {uid})"),
            Allow::Gid(gid) => format!("_medium.Allow(\"gid\", {gid})"),
            Allow::Group(group) => format!("_medium.Allow(\"group\", {})", literal(group)),
        })
        .collect();
    let comma = if terms.len() == 1 { "," } else { "" };
    format!("        allow=({}{comma}),\n", terms.join(", "))
}

fn protocol_table(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let socket = spec.socket.as_deref().map_or("None".to_owned(), literal);
    let _ = write!(
        out,
        "\n\n_PROTOCOL = _medium.Protocol(\n    \
             namespace=NAMESPACE,\n    \
             class_name=CLASS,\n    \
             fingerprint=FINGERPRINT,\n    \
             socket={socket},\n    \
             exceptions={{\n"
    );
    for exception in &spec.exceptions {
        let _ = writeln!(
            out,
            "        {}: {},",
            literal(&exception.name),
            names.ty(&exception.name)
        );
    }
    out.push_str("    },\n    methods={\n");
    for method in &spec.methods {
        let returns = method.returns.as_ref().map_or(String::new(), |ty| {
            format!("        returns={},\n", descriptor(ty, names))
        }) + &allow_argument(method.allow.as_ref());
        let _ = writeln!(
            out,
            "        {}: {},",
            literal(&method.name),
            signature(
                &method.name,
                names.method(&method.name),
                &method.params,
                names,
                &returns
            )
            .replace("\n", "\n    ")
        );
    }
    out.push_str("    },\n    events={\n");
    for event in &spec.events {
        let record = format!("        record={},\n", names.event_record(&event.name))
            + &allow_argument(event.allow.as_ref());
        let _ = writeln!(
            out,
            "        {}: {},",
            literal(&event.name),
            signature(
                &event.name,
                names.event(&event.name),
                &event.params,
                names,
                &record
            )
            .replace("\n", "\n    ")
        );
    }
    out.push_str("    },\n    spec=SPEC,\n)\n");
}

/// `name: type, …` for parameters, and the matching argument tuple `(a, b,)`.
fn params(params: &[Field], names: &PythonNames) -> (String, String) {
    let attrs = names.fields(params);
    let declared = params
        .iter()
        .zip(&attrs)
        .map(|(p, attr)| format!(", {attr}: {}", annotation(&p.ty, names)))
        .collect();
    let tuple = match attrs.len() {
        0 => "()".to_owned(),
        1 => format!("({},)", attrs[0]),
        _ => format!("({})", attrs.join(", ")),
    };
    (declared, tuple)
}

/// A method's `def` line (`def` or `async def`, `leading` parameters before the spec's) and
/// its docstring (the spec's doc, else `summary`). Returns the spec parameters as a tuple
/// expression.
fn method_head(
    method: &crate::check::Method,
    names: &PythonNames,
    def: &str,
    leading: &str,
    summary: &str,
    out: &mut String,
) -> String {
    let (declared, tuple) = params(&method.params, names);
    let _ = writeln!(
        out,
        "\n    {def} {}({leading}{declared}) -> {}:",
        names.method(&method.name),
        returns(method, names)
    );
    out.push_str(&docstring(&method.doc, summary, "        "));
    tuple
}

fn returns(method: &crate::check::Method, names: &PythonNames) -> String {
    method
        .returns
        .as_ref()
        .map_or("None".to_owned(), |ty| annotation(ty, names))
}

fn connection(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let _ = write!(
        out,
        "\n\nclass {connection}(_medium.Client):\n    \
         \"\"\"A connection to the {class} daemon. Thread-safe: calls may come from any thread.\n\
         \n    \
         Connects on construction; raises `DaemonNotRunning` (a `ConnectionError`) naming the\n    \
         socket path when no daemon listens, `HandshakeMismatch` when the daemon was built from\n    \
         another version of the spec. `path` overrides the socket path, `timeout` (seconds)\n    \
         bounds every call, `reconnect=Reconnect()` survives daemon restarts (see `Reconnect`).\n    \
         \"\"\"\n\
         \n    \
         def __init__(\n        \
             self,\n        \
             path: str | None = None,\n        \
             timeout: float | None = None,\n        \
             reconnect: Reconnect | None = None,\n    \
         ) -> None:\n        \
             super().__init__(_PROTOCOL, path, timeout, reconnect)\n",
        connection = names.connection,
        class = spec.class,
    );
    client_methods(spec, names, Flavour::Blocking, out);
    for event in &spec.events {
        let record = names.event_record(&event.name);
        let name = names.event(&event.name);
        let wire = literal(&event.name);
        let callback_types: Vec<String> = event
            .params
            .iter()
            .map(|p| annotation(&p.ty, names))
            .collect();
        let _ = write!(
            out,
            "\n    def {name}(self) -> Subscription[{record}]:\n        \
             \"\"\"Subscribes to `{event}` (once the daemon acknowledged it): iterate over the\n        \
             result for each occurrence.\"\"\"\n        \
             return self.subscribe({wire})\n\
             \n    \
             def on_{name}(\n        \
                 self, callback: typing.Callable[[{types}], None]\n    \
             ) -> Subscription[{record}]:\n        \
             \"\"\"Calls `callback` with the arguments of each `{event}`, on the connection's\n        \
             reader thread (so it must not block). `close()` the result to stop.\"\"\"\n        \
             return self.subscribe({wire}, callback, unpacked=True)\n",
            event = event.name,
            types = callback_types.join(", "),
        );
    }
}

/// Which client class the methods are written for.
#[derive(Clone, Copy)]
enum Flavour {
    Blocking,
    Async,
}

/// One client method per spec method: `def m(...)` for the blocking connection, `async def`
/// with `await` for the asyncio one.
fn client_methods(spec: &CheckedSpec, names: &PythonNames, flavour: Flavour, out: &mut String) {
    let (def, call) = match flavour {
        Flavour::Blocking => ("def", "self.call"),
        Flavour::Async => ("async def", "await self.call"),
    };
    for method in &spec.methods {
        let summary = format!("Calls `{}` on the daemon.", method.name);
        let tuple = method_head(method, names, def, "self", &summary, out);
        let call = format!("{call}({}, {tuple})", literal(&method.name));
        if method.returns.is_some() {
            let _ = writeln!(out, "        return {call}  # type: ignore[no-any-return]");
        } else {
            let _ = writeln!(out, "        {call}");
        }
    }
}

fn async_connection(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let _ = write!(
        out,
        "\n\nclass {connection}(_medium.AsyncClient):\n    \
         \"\"\"An asyncio connection to the {class} daemon: `await {connection}.connect()`.\n\
         \n    \
         Raises as `{sync}` does; calls may be in flight concurrently. Use it from one event\n    \
         loop.\n    \
         \"\"\"\n\
         \n    \
         @classmethod\n    \
         async def connect(\n        \
             cls,\n        \
             path: str | None = None,\n        \
             timeout: float | None = None,\n        \
             reconnect: Reconnect | None = None,\n    \
         ) -> {connection}:\n        \
             \"\"\"Connects to the daemon (at `path` instead of the spec's socket path, if given).\"\"\"\n        \
             path, connection = await cls._open(_PROTOCOL, path, timeout)\n        \
             return cls(_PROTOCOL, path, timeout, connection, reconnect)\n",
        connection = names.async_connection,
        sync = names.connection,
        class = spec.class,
    );
    client_methods(spec, names, Flavour::Async, out);
    for event in &spec.events {
        let _ = write!(
            out,
            "\n    async def {name}(self) -> AsyncSubscription[{record}]:\n        \
             \"\"\"Subscribes to `{event}` (once the daemon acknowledged it): `async for` over the\n        \
             result for each occurrence.\"\"\"\n        \
             return await self.subscribe({wire})\n",
            name = names.event(&event.name),
            record = names.event_record(&event.name),
            event = event.name,
            wire = literal(&event.name),
        );
    }
}

fn server_base(spec: &CheckedSpec, names: &PythonNames, out: &mut String) {
    let _ = write!(
        out,
        "\n\nclass {server}(_medium.Server):\n    \
         \"\"\"Base class of a {class} daemon: override the methods (each receives the calling\n    \
         `Application` first), optionally `run()` for background work, then call `serve()`.\n\
         \n    \
         Calls run concurrently, each on its own thread. A method raising a `{error}` sends\n    \
         it to the caller; a method not overridden answers \"not implemented\". Fire events\n    \
         with `self.<event>(args…)` to every subscribed application, or `application=app` to\n    \
         one; `self.applications` lists the connected ones. Limits (`allowed_uids`,\n    \
         `handshake_timeout`, `max_in_flight_calls`, `event_queue_len`, `grace_period`…) are\n    \
         class attributes to override, with the Rust daemon's defaults.\n    \
         \"\"\"\n\
         \n    \
         _protocol = _PROTOCOL\n",
        server = names.server_base,
        class = spec.class,
        error = names.error_base,
    );
    for method in &spec.methods {
        let summary = format!("Handles `{}`; override it.", method.name);
        method_head(
            method,
            names,
            "def",
            "self, application: Application",
            &summary,
            out,
        );
        out.push_str("        raise NotImplementedError\n");
    }
    for event in &spec.events {
        let (declared, tuple) = params(&event.params, names);
        let _ = write!(
            out,
            "\n    def {name}(self{declared}, *, application: Application | None = None) -> None:\n        \
             \"\"\"Fires `{event}` to every subscribed application, or to `application` only.\"\"\"\n        \
             self.emit({wire}, {tuple}, application)\n",
            name = names.event(&event.name),
            event = event.name,
            wire = literal(&event.name),
        );
    }
}
