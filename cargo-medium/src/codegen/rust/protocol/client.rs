//! `src/client.rs` (async) and `src/blocking.rs` of the protocol crate: the connections, one
//! typed method per spec method and one subscription per event. Both flavours come from the
//! same emitter; they differ only in the runtime client they wrap and in `.await`.
//!
//! The connection's own API (`connect…`, `from_client`, `client`) shares the method namespace
//! with the spec's names; `names` moves colliding spec names aside.

use super::Generator;
use crate::check::{Event, Method};
use crate::codegen::rust::layout::{Expr, let_statement, signature, statement, tuple_field};
use crate::codegen::rust::names::{Named, field_names};
use crate::codegen::rust::types::is_binary;

/// The longest tuple serde can serialize.
const MAX_SERDE_TUPLE: usize = 16;

/// Which connection is being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    Async,
    Blocking,
}

impl Flavor {
    /// The runtime client type this flavour wraps.
    fn client(self) -> &'static str {
        match self {
            Flavor::Async => "rt::Client",
            Flavor::Blocking => "rt::blocking::Client",
        }
    }

    fn fn_keyword(self) -> &'static str {
        match self {
            Flavor::Async => "pub async fn",
            Flavor::Blocking => "pub fn",
        }
    }

    fn await_suffix(self) -> &'static str {
        match self {
            Flavor::Async => ".await",
            Flavor::Blocking => "",
        }
    }
}

impl Generator<'_> {
    pub(super) fn connection_rs(&self, flavor: Flavor) -> String {
        let connection = &self.names.connection;
        let class = &self.spec.class;
        let client = flavor.client();
        let fn_kw = flavor.fn_keyword();
        let wait = flavor.await_suffix();
        let mut out = self.header();
        match flavor {
            Flavor::Async => {
                out += &format!("//! The async client: [`{connection}`].\n");
            }
            Flavor::Blocking => {
                out += &format!(
                    "//! The blocking client: [`{connection}`], for apps without an async runtime.\n"
                );
                out += "//! Do not use it inside async tasks: each call blocks the thread until the reply.\n";
            }
        }
        out += "\nuse ::medium_runtime as rt;\n\n";
        out += &format!(
            "/// A connection to the `{class}` daemon. Cheap to clone: clones share the connection,\n"
        );
        out += "/// which closes when the last clone and the last event stream are dropped.\n";
        out += "///\n/// Each spec method is a method here; each spec event is a method that subscribes to it.\n";
        out += "#[derive(Debug, Clone)]\n";
        out += &format!("pub struct {connection} {{\n    client: {client},\n}}\n\n");
        out += &format!("impl {connection} {{\n");
        out += "    /// Connects on the socket path the runtime resolves for this protocol\n";
        out += "    /// (`MEDIUM_SOCKET_DIR`, the spec's `socket` folder, `$XDG_RUNTIME_DIR`, `/run`).\n";
        out += &format!("    {fn_kw} connect() -> Result<Self, rt::Error> {{\n");
        out += &format!("        let client = {client}::connect(&crate::PROTOCOL){wait}?;\n");
        out += "        Ok(Self { client })\n    }\n\n";
        out += "    /// Connects to the daemon listening at `path`.\n";
        out += &signature(
            1,
            &format!("{fn_kw} connect_to"),
            &["path: impl AsRef<::std::path::Path>".to_owned()],
            Some("Result<Self, rt::Error>"),
            " {",
        );
        out +=
            &format!("        let client = {client}::connect_to(&crate::PROTOCOL, path){wait}?;\n");
        out += "        Ok(Self { client })\n    }\n\n";
        out += "    /// Connects with explicit options (socket path, call timeout, automatic reconnection…).\n";
        out += &signature(
            1,
            &format!("{fn_kw} connect_with"),
            &["options: rt::ClientOptions".to_owned()],
            Some("Result<Self, rt::Error>"),
            " {",
        );
        out += &format!(
            "        let client = {client}::connect_with(&crate::PROTOCOL, options){wait}?;\n"
        );
        out += "        Ok(Self { client })\n    }\n\n";
        out += "    /// Wraps a runtime client already connected to this protocol's daemon.\n";
        out += &format!(
            "    pub fn from_client(client: {client}) -> Self {{\n        Self {{ client }}\n    }}\n\n"
        );
        out += "    /// The runtime client underneath (socket path, calls with a timeout).\n";
        out += &format!("    pub fn client(&self) -> &{client} {{\n        &self.client\n    }}\n");
        for (method, name) in self.spec.methods.iter().zip(&self.names.methods) {
            out += "\n";
            out += &self.client_method(flavor, method, name);
        }
        let events = self.spec.events.iter().zip(&self.names.events_methods);
        for ((event, name), payload) in events.zip(&self.names.event_structs) {
            out += "\n";
            out += &self.subscription(flavor, event, name, &payload.rust);
        }
        out += "}\n";
        out
    }

    fn client_method(&self, flavor: Flavor, method: &Method, name: &Named) -> String {
        let client = flavor.client();
        let mut out = self.doc_or(
            1,
            &method.doc,
            &format!("Calls `{}` on the daemon.", name.wire),
        );
        let params = field_names(&method.params);
        let mut sig_params = vec!["&self".to_owned()];
        sig_params.extend(
            method
                .params
                .iter()
                .zip(&params)
                .map(|(param, named)| format!("{}: {}", named.rust, self.ty.borrowed(&param.ty))),
        );
        let returns = method
            .returns
            .as_ref()
            .map_or_else(|| "()".to_owned(), |ty| self.ty.owned(ty));
        let ret = format!(
            "Result<{returns}, rt::CallError<crate::{}>>",
            self.names.error
        );
        out += &signature(
            1,
            &format!("{} {}", flavor.fn_keyword(), name.rust),
            &sig_params,
            Some(&ret),
            " {",
        );
        out += &self.args_tuple(&method.params, &params);
        let call_items = [
            "&self.client".to_owned(),
            format!("\"{}\"", name.wire),
            "&args".to_owned(),
        ];
        let call = Expr::call(format!("{client}::call"), &call_items);
        let binary = method.returns.as_ref().is_some_and(is_binary);
        match (flavor, binary) {
            (Flavor::Blocking, false) => out += &statement(2, &call, ""),
            (Flavor::Blocking, true) => {
                out += &let_statement(2, "reply", &call);
                out += "        reply.map(rt::serde_bytes::ByteBuf::into_vec)\n";
            }
            (Flavor::Async, false) => {
                out += &let_statement(2, "reply", &call);
                out += "        reply.await\n";
            }
            (Flavor::Async, true) => {
                out += &let_statement(2, "reply", &call);
                out += "        reply.await.map(rt::serde_bytes::ByteBuf::into_vec)\n";
            }
        }
        out + "    }\n"
    }

    fn subscription(&self, flavor: Flavor, event: &Event, name: &Named, payload: &str) -> String {
        let (stream, client) = match flavor {
            Flavor::Async => ("rt::EventStream", "rt::Client"),
            Flavor::Blocking => ("rt::blocking::EventIter", "rt::blocking::Client"),
        };
        let mut out = self.doc_or(1, &event.doc, &format!("The `{}` event.", name.wire));
        out += "    ///\n";
        out += "    /// Subscribes to it: the daemon sends it to this connection from now on. The stream ends\n";
        out += "    /// when the connection closes.\n";
        out += &signature(
            1,
            &format!("pub fn {}", name.rust),
            &["&self".to_owned()],
            Some(&format!("{stream}<crate::events::{payload}>")),
            " {",
        );
        let items = ["&self.client".to_owned(), format!("\"{}\"", name.wire)];
        out += &statement(2, &Expr::call(format!("{client}::subscribe"), &items), "");
        out + "    }\n"
    }

    /// `let args = (…);`: the positional arguments of a call or event, borrowed, with
    /// `binary` values wrapped so they encode as MessagePack bin.
    pub(super) fn args_tuple(&self, params: &[crate::check::Field], names: &[Named]) -> String {
        if params.is_empty() {
            // `()` would encode as nil; the protocol sends an empty array.
            return "        let args: [(); 0] = [];\n".to_owned();
        }
        let mut out = String::new();
        for (param, named) in params.iter().zip(names) {
            if is_binary(&param.ty) {
                let wrap = Expr::call(
                    "rt::serde_bytes::Bytes::new",
                    std::slice::from_ref(&named.rust),
                );
                out += &let_statement(2, &named.rust, &wrap);
            }
        }
        let items: Vec<String> = names.iter().map(|named| named.rust.clone()).collect();
        if params.len() <= MAX_SERDE_TUPLE {
            return out + &let_statement(2, "args", &Expr::call("", &items));
        }
        // serde implements tuples up to 16 elements; a tuple struct encodes the same array.
        let fields: Vec<String> = params
            .iter()
            .map(|param| {
                if is_binary(&param.ty) {
                    "&'a rt::serde_bytes::Bytes".to_owned()
                } else {
                    self.ty.borrowed(&param.ty).replace('&', "&'a ")
                }
            })
            .collect();
        let lifetime = if fields.iter().any(|field| field.contains("'a")) {
            "<'a>"
        } else {
            ""
        };
        out += "        #[derive(rt::serde::Serialize)]\n";
        out += "        #[serde(crate = \"::medium_runtime::serde\")]\n";
        // More than sixteen fields never fit rustfmt's call width: one field per line.
        out += &format!("        struct Args{lifetime}(\n");
        for field in &fields {
            out += &tuple_field(3, field);
        }
        out += "        );\n";
        out + &let_statement(2, "args", &Expr::call("Args", &items))
    }
}
