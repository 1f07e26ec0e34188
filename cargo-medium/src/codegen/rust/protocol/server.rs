//! `src/server.rs` of the protocol crate: the server trait, the server, the event emitters
//! and the per-call context.
//!
//! The trait is named after the class, which may be any name (`Result`, `Box`…), so this file
//! never relies on prelude type names: it spells `::core`/`::std` paths (through lowercase
//! module aliases, which no generated type can shadow).

use super::Generator;
use crate::check::Event;
use crate::codegen::rust::layout::{Expr, MAX_WIDTH, pad, signature, statement};
use crate::codegen::rust::names::{Named, field_names};

impl Generator<'_> {
    pub(super) fn server_rs(&self) -> String {
        let n = &self.names;
        let (service, result, server, events, context) =
            (&n.service, &n.result, &n.server, &n.events, &n.context);
        let class = &self.spec.class;
        let mut out = self.header();
        out += &format!(
            "//! The daemon side: implement [`{service}`], serve it with [`{server}`], fire events\n"
        );
        out += &format!("//! with [`{events}`].\n\n");
        out += "use ::core::future;\nuse ::core::marker;\nuse ::core::result;\n\nuse ::medium_runtime as rt;\n\n";

        out += &format!("/// What a `{class}` method handler returns.\n");
        out += &type_alias(
            &format!("pub type {result}<T> ="),
            &format!("result::Result<T, rt::HandlerError<crate::{}>>;", n.error),
        );
        out += "\n";

        out +=
            &format!("/// The `{class}` protocol, daemon side: one method per spec method.\n///\n");
        out +=
            "/// Implement it with `async fn`s. Each method gets the call's context (the calling\n";
        out += &format!(
            "/// application, the event emitter). Serve the implementation with [`{server}`].\n"
        );
        out += &format!("pub trait {service}: marker::Send + marker::Sync + 'static {{\n");
        for (method, name) in self.spec.methods.iter().zip(&n.methods) {
            out += &self.doc_or(1, &method.doc, &format!("Handles `{}`.", name.wire));
            let params = field_names(&method.params);
            let mut sig = vec!["&self".to_owned(), format!("cx: &{context}")];
            sig.extend(
                method
                    .params
                    .iter()
                    .zip(&params)
                    .map(|(param, named)| format!("{}: {}", named.rust, self.ty.owned(&param.ty))),
            );
            let returns = method
                .returns
                .as_ref()
                .map_or_else(|| "()".to_owned(), |ty| self.ty.owned(ty));
            let ret = format!("impl future::Future<Output = {result}<{returns}>> + marker::Send");
            out += &signature(1, &format!("fn {}", name.rust), &sig, Some(&ret), ";");
            out += "\n";
        }
        out += "    /// Background work beside serving, e.g. watching something and firing events through\n";
        out += "    /// `events`. Starts once, when the socket is listening (so apps can already connect);\n";
        out += "    /// returning `Err` shuts the daemon down. Does nothing by default.\n";
        out += "    fn run(\n        &self,\n        _events: ";
        out += events;
        out += ",\n    ) -> impl future::Future<Output = result::Result<(), rt::BoxError>> + marker::Send {\n";
        out += "        async { Ok(()) }\n    }\n}\n\n";

        out += &self.server_struct();
        out += &self.emitters();
        out += &self.context_struct();
        out
    }

    fn server_struct(&self) -> String {
        let n = &self.names;
        let (service, server, events) = (&n.service, &n.server, &n.events);
        let mut out =
            format!("/// Serves a [`{service}`] implementation on the protocol's socket.\n");
        out += "#[derive(Debug)]\n";
        out += &format!("pub struct {server}<S: {service}> {{\n");
        out += "    daemon: rt::Daemon<crate::dispatch::Dispatcher<S>>,\n";
        out += "    service: ::std::sync::Arc<S>,\n}\n\n";
        out += &format!("impl<S: {service}> {server}<S> {{\n");
        out += "    /// A server for `service`, on the socket path the runtime resolves for this protocol\n";
        out += "    /// (`MEDIUM_SOCKET_DIR`, the spec's `socket` folder, `$XDG_RUNTIME_DIR`, `/run`).\n";
        out += "    pub fn new(service: S) -> Self {\n";
        out += "        let service = ::std::sync::Arc::new(service);\n";
        out += "        let dispatcher = crate::dispatch::Dispatcher::new(::std::sync::Arc::clone(&service));\n";
        out += "        Self {\n            daemon: rt::Daemon::new(&crate::PROTOCOL, dispatcher),\n            service,\n        }\n    }\n\n";
        out += "    /// Serves on `path` instead of the resolved socket path.\n";
        out += "    pub fn socket_path(self, path: impl ::core::convert::Into<::std::path::PathBuf>) -> Self {\n";
        out += "        Self {\n            daemon: self.daemon.socket_path(path),\n            service: self.service,\n        }\n    }\n\n";
        out +=
            "    /// Sets the daemon's options (frame size limit, queue lengths, socket mode…).\n";
        out += "    pub fn options(self, options: rt::DaemonOptions) -> Self {\n";
        out += "        Self {\n            daemon: self.daemon.options(options),\n            service: self.service,\n        }\n    }\n\n";
        out += "    /// The event emitter, usable before and while serving.\n";
        out += &format!("    pub fn events(&self) -> {events} {{\n");
        out += &format!(
            "        {events} {{\n            handle: self.daemon.handle(),\n        }}\n    }}\n\n"
        );
        out +=
            "    /// Serves until SIGINT or SIGTERM (or [`rt::DaemonHandle::shutdown`]), running\n";
        out += &format!("    /// [`{service}::run`] beside; removes the socket on exit.\n");
        out += "    pub async fn serve(self) -> result::Result<(), rt::Error> {\n";
        out += "        let events = self.events();\n";
        out += "        let service = self.service;\n";
        let background = format!(
            "        let background = async move {{ <S as {service}>::run(&service, events).await }};\n"
        );
        if background.trim_end().len() <= MAX_WIDTH {
            out += &background;
        } else {
            out += &format!(
                "        let background =\n            async move {{ <S as {service}>::run(&service, events).await }};\n"
            );
        }
        out += "        self.daemon.serve_with(background).await\n    }\n}\n\n";
        out
    }

    fn emitters(&self) -> String {
        let n = &self.names;
        let (events, events_to) = (&n.events, &n.events_to);
        let class = &self.spec.class;
        let mut out =
            format!("/// Fires `{class}` events to connected applications. Cheap to clone.\n");
        out += "#[derive(Debug, Clone)]\n";
        out += &format!("pub struct {events} {{\n    handle: rt::DaemonHandle,\n}}\n\n");
        out += &format!("impl {events} {{\n");
        out += "    /// The runtime's daemon handle: connect and disconnect notifications, shutdown.\n";
        out += "    pub fn handle(&self) -> &rt::DaemonHandle {\n        &self.handle\n    }\n\n";
        out += "    /// The applications connected now.\n";
        out += "    pub fn applications(&self) -> ::std::vec::Vec<rt::Application> {\n        self.handle.applications()\n    }\n\n";
        out += "    /// An emitter that fires events to `application` only.\n";
        out += &signature(
            1,
            "pub fn to",
            &[
                "&self".to_owned(),
                "application: rt::ApplicationId".to_owned(),
            ],
            Some(events_to),
            " {",
        );
        out += &format!(
            "        {events_to} {{\n            handle: self.handle.clone(),\n            application,\n        }}\n    }}\n"
        );
        for (event, name) in self.spec.events.iter().zip(&n.events_methods) {
            out += "\n";
            out += &self.emitter(event, name, false);
        }
        out += "}\n\n";

        out += &format!("/// Fires `{class}` events to one application ([`{events}::to`]).\n");
        out += "#[derive(Debug, Clone)]\n";
        out += &format!(
            "pub struct {events_to} {{\n    handle: rt::DaemonHandle,\n    application: rt::ApplicationId,\n}}\n\n"
        );
        out += &format!("impl {events_to} {{\n");
        out += "    /// The application these events go to.\n";
        out += "    pub fn application(&self) -> rt::ApplicationId {\n        self.application\n    }\n\n";
        // Also what keeps `handle` read when the spec has no events.
        out += "    /// The runtime's daemon handle: connect and disconnect notifications, shutdown.\n";
        out += "    pub fn handle(&self) -> &rt::DaemonHandle {\n        &self.handle\n    }\n";
        for (event, name) in self.spec.events.iter().zip(&n.events_methods) {
            out += "\n";
            out += &self.emitter(event, name, true);
        }
        out += "}\n\n";
        out
    }

    /// One event's emitting method, to all subscribed applications or to one.
    fn emitter(&self, event: &Event, name: &Named, to_one: bool) -> String {
        let mut out = self.doc_or(1, &event.doc, &format!("The `{}` event.", name.wire));
        out += "    ///\n";
        if to_one {
            out += "    /// Fires it to this application: `Ok(true)` when queued, `Ok(false)` when the application\n";
            out += "    /// is not subscribed to it, `Err` when it is gone.\n";
        } else {
            out += "    /// Fires it to every application subscribed to it; returns how many it was queued to.\n";
        }
        let params = field_names(&event.params);
        let mut sig = vec!["&self".to_owned()];
        sig.extend(
            event
                .params
                .iter()
                .zip(&params)
                .map(|(param, named)| format!("{}: {}", named.rust, self.ty.borrowed(&param.ty))),
        );
        let ret = if to_one {
            "result::Result<bool, rt::EmitError>"
        } else {
            "usize"
        };
        out += &signature(1, &format!("pub fn {}", name.rust), &sig, Some(ret), " {");
        out += &self.args_tuple(&event.params, &params);
        let wire = format!("\"{}\"", name.wire);
        if to_one {
            let items = [
                "&self.handle".to_owned(),
                "self.application".to_owned(),
                wire,
                "&args".to_owned(),
            ];
            out += &statement(2, &Expr::call("rt::DaemonHandle::emit_to", &items), "");
        } else {
            let items = ["&self.handle".to_owned(), wire, "&args".to_owned()];
            out += &statement(2, &Expr::call("rt::DaemonHandle::emit", &items), "");
        }
        out + "    }\n"
    }

    fn context_struct(&self) -> String {
        let n = &self.names;
        let (context, events) = (&n.context, &n.events);
        let mut out = format!(
            "/// What a [`{}`] handler knows about the call it serves.\n",
            n.service
        );
        out += "#[derive(Debug, Clone)]\n";
        out += &format!(
            "pub struct {context} {{\n    application: rt::Application,\n    events: {events},\n}}\n\n"
        );
        out += &format!("impl {context} {{\n");
        // Only method dispatch builds a context: without methods the constructor would be dead
        // code, which `-D warnings` refuses.
        if !self.spec.methods.is_empty() {
            out += "    pub(crate) fn from_call(call: &rt::Call) -> Self {\n";
            out += "        Self {\n            application: call.application().clone(),\n";
            out += &format!(
                "            events: {events} {{\n                handle: call.daemon().clone(),\n            }},\n        }}\n    }}\n\n"
            );
        }
        out += "    /// The application that made the call: its id and peer credentials.\n";
        out += "    pub fn application(&self) -> &rt::Application {\n        &self.application\n    }\n\n";
        out += "    /// The event emitter, e.g. to tell other applications about a change.\n";
        out += &format!(
            "    pub fn events(&self) -> &{events} {{\n        &self.events\n    }}\n}}\n"
        );
        out
    }
}

/// `{head} {ty}` on one line when it fits, else the type on the next line (rustfmt's layout).
fn type_alias(head: &str, ty: &str) -> String {
    let one_line = format!("{head} {ty}\n");
    if one_line.trim_end().len() <= MAX_WIDTH {
        one_line
    } else {
        format!("{head}\n{}{ty}\n", pad(1))
    }
}
