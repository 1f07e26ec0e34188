//! `src/dispatch.rs` of the protocol crate: the private router from the runtime's calls to
//! the server trait. Its scope holds only `Dispatcher` and one function per method, so it can
//! use prelude names freely.

use super::Generator;
use crate::check::Method;
use crate::codegen::rust::layout::{Expr, arm, field, let_statement, signature};
use crate::codegen::rust::names::{Named, field_names, unraw};
use crate::codegen::rust::types::is_binary;

const BOX_FUTURE: &str = "rt::futures::future::BoxFuture<'static, rt::Reply>";

impl Generator<'_> {
    pub(super) fn dispatch_rs(&self) -> String {
        let service = format!("crate::{}", self.names.service);
        let mut out = self.header();
        out += &format!(
            "//! Routes calls to the [`{service}`] implementation: decodes each method's\n"
        );
        out += "//! arguments and encodes its result.\n\n";
        out += "use ::std::sync::Arc;\n\nuse ::medium_runtime as rt;\n\n";
        out += "/// The runtime's view of a service: one entry per spec method.\n";
        out += "#[derive(Debug)]\n";
        out += "pub(crate) struct Dispatcher<S> {\n    service: Arc<S>,\n}\n\n";
        out += "impl<S> Dispatcher<S> {\n";
        out += "    pub(crate) fn new(service: Arc<S>) -> Self {\n        Self { service }\n    }\n}\n\n";
        out += &format!("impl<S: {service}> rt::Dispatch for Dispatcher<S> {{\n");
        out += &signature(
            1,
            "fn dispatch",
            &["self: Arc<Self>".to_owned(), "call: rt::Call".to_owned()],
            Some(&format!("Option<{BOX_FUTURE}>")),
            " {",
        );
        if self.spec.methods.is_empty() {
            out += "        // The spec declares no methods: every call is unknown.\n";
            out += "        let _ = (&self.service, call);\n";
            out += "        None\n";
        } else {
            out += "        let service = Arc::clone(&self.service);\n";
            out += "        match call.method() {\n";
            for name in &self.names.methods {
                let handler = Expr::call(handler_name(name), &["service".into(), "call".into()]);
                let body = Expr::Call {
                    callee: "Some".to_owned(),
                    args: vec![handler],
                };
                out += &arm(3, &format!("\"{}\"", name.wire), &body);
            }
            out += "            _ => None,\n        }\n";
        }
        out += "    }\n}\n";
        for (method, name) in self.spec.methods.iter().zip(&self.names.methods) {
            out += "\n";
            out += &self.handler(method, name, &service);
        }
        out
    }

    /// The function that decodes one method's arguments, runs the handler and encodes the
    /// reply.
    fn handler(&self, method: &Method, name: &Named, service: &str) -> String {
        let mut out = format!("/// Runs `{}`.\n", name.wire);
        out += &signature(
            0,
            &format!("fn {}<S: {service}>", handler_name(name)),
            &["service: Arc<S>".to_owned(), "call: rt::Call".to_owned()],
            Some(BOX_FUTURE),
            " {",
        );
        out += "    Box::pin(async move {\n";
        let params = field_names(&method.params);
        if method.params.is_empty() {
            out += "        if let Err(reply) = rt::decode_args::<[(); 0]>(call.args()) {\n";
            out += "            return reply;\n        }\n";
        } else {
            out += "        #[derive(rt::serde::Deserialize)]\n";
            out += "        #[serde(crate = \"::medium_runtime::serde\")]\n";
            out += "        struct Args {\n";
            for (param, named) in method.params.iter().zip(&params) {
                if is_binary(&param.ty) {
                    out += "            #[serde(with = \"::medium_runtime::serde_bytes\")]\n";
                }
                out += &field(3, &format!("{}:", named.rust), &self.ty.owned(&param.ty));
            }
            out += "        }\n";
            out += "        let args: Args = match rt::decode_args(call.args()) {\n";
            out += "            Ok(args) => args,\n            Err(reply) => return reply,\n        };\n";
        }
        out += &format!(
            "        let cx = crate::{}::from_call(&call);\n",
            self.names.context
        );
        let mut items = vec!["&service".to_owned(), "&cx".to_owned()];
        items.extend(params.iter().map(|named| format!("args.{}", named.rust)));
        let callee = format!("<S as {service}>::{}", name.rust);
        out += &let_statement(2, "reply", &Expr::call(callee, &items));
        if method.returns.as_ref().is_some_and(is_binary) {
            out += "        let reply = reply.await.map(rt::serde_bytes::ByteBuf::from);\n";
            out += "        rt::Reply::from_handler(reply)\n";
        } else {
            out += "        rt::Reply::from_handler(reply.await)\n";
        }
        out + "    })\n}\n"
    }
}

/// The handler function of a method: prefixed, so it never shadows (or is shadowed by) the
/// locals `service` and `call`.
fn handler_name(method: &Named) -> String {
    format!("handle_{}", unraw(&method.rust))
}
