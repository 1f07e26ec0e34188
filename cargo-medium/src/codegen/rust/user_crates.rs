//! The user-owned daemon and app crates, rendered from the minijinja templates in
//! `templates/daemon` and `templates/app` (embedded at build time, strict undefined).
//!
//! The templates hold the structure and prose; this module computes what depends on the
//! spec: names, placeholder arguments and signatures laid out the way rustfmt would.

use minijinja::{Value, context};

use super::layout::{
    Expr, arm, await_chain, doc, let_statement, open_block, signature, struct_literal,
};
use super::names::{NameTable, ProtocolNames, field_names, unraw};
use super::types::TypeStyle;
use crate::check::{CheckedSpec, Primitive, Type};
use crate::codegen::{CrateNames, GeneratedFile};
use crate::templates::{Template, TemplateError};

/// Which user-owned crate to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UserCrate {
    Daemon,
    App,
}

/// `(path in the crate, template)` for each crate's files.
const DAEMON_TEMPLATES: [(&str, Template); 2] = [
    ("Cargo.toml", Template::DaemonManifest),
    ("src/main.rs", Template::DaemonMain),
];
const APP_TEMPLATES: [(&str, Template); 2] = [
    ("Cargo.toml", Template::AppManifest),
    ("src/main.rs", Template::AppMain),
];

pub(super) fn render(
    which: UserCrate,
    spec: &CheckedSpec,
    names: &ProtocolNames,
    crates: &CrateNames,
) -> Result<Vec<GeneratedFile>, TemplateError> {
    let (templates, ctx) = match which {
        UserCrate::Daemon => (DAEMON_TEMPLATES, daemon_context(spec, names, crates)),
        UserCrate::App => (APP_TEMPLATES, app_context(spec, names, crates)),
    };
    templates
        .into_iter()
        .map(|(path, template)| Ok(GeneratedFile::new(path, template.render(ctx.clone())?)))
        .collect()
}

/// What both templates share.
fn common_context(spec: &CheckedSpec, names: &ProtocolNames, crates: &CrateNames) -> Value {
    context! {
        class => spec.class,
        spec_file => spec.source_name,
        crates => context! {
            protocol => crates.protocol,
            daemon => crates.daemon,
            app => crates.app,
        },
        protocol_ident => crates.protocol_ident(),
        service => names.service,
        server => names.server,
        connection => names.connection,
    }
}

fn daemon_context(spec: &CheckedSpec, names: &ProtocolNames, crates: &CrateNames) -> Value {
    let ty = TypeStyle::user(names);
    let methods: Vec<Value> = spec
        .methods
        .iter()
        .zip(&names.methods)
        .map(|(method, name)| {
            let mut params = vec!["&self".to_owned(), format!("_cx: &protocol::{}", names.context)];
            params.extend(
                method
                    .params
                    .iter()
                    .zip(field_names(&method.params))
                    .map(|(param, named)| format!("_{}: {}", unraw(&named.rust), ty.owned(&param.ty))),
            );
            let returns = method
                .returns
                .as_ref()
                .map_or_else(|| "()".to_owned(), |ret| ty.owned(ret));
            let ret = format!("protocol::{}<{returns}>", names.result);
            // `signature` is the `async fn …(…) -> … {` line(s), indented for the impl block.
            let not_implemented = struct_literal(
                2,
                "Err(",
                "medium_runtime::HandlerError::NotImplemented",
                &format!("method: \"{}\"", name.wire),
                ")",
            );
            context! {
                wire => name.wire,
                doc => doc(1, &method.doc),
                not_implemented => not_implemented,
                signature => signature(1, &format!("async fn {}", name.rust), &params, Some(&ret), " {"),
            }
        })
        .collect();
    let run_signature = signature(
        1,
        "async fn run",
        &[
            "&self".to_owned(),
            format!("events: protocol::{}", names.events),
        ],
        Some("Result<(), medium_runtime::BoxError>"),
        " {",
    );
    let daemon_struct = format!("{}Daemon", names.service.trim_end_matches('_'));
    context! {
        ..common_context(spec, names, crates),
        ..context! {
            methods => methods,
            run_signature => run_signature,
            daemon_struct => daemon_struct,
        }
    }
}

fn app_context(spec: &CheckedSpec, names: &ProtocolNames, crates: &CrateNames) -> Value {
    let ty = TypeStyle::user(names);
    let mut locals =
        NameTable::with_reserved(&["connection", "err", "event", "result", "socket", "value"]);
    // Each event's stream lives in a local named after it.
    let events: Vec<Value> = names
        .events_methods
        .iter()
        .map(|name| {
            let local = locals.claim(unraw(&name.rust));
            let stream = Expr::Method {
                receiver: "connection".to_owned(),
                method: name.rust.clone(),
            };
            context! {
                wire => name.wire,
                // `let mut {local} = connection.{event}();`
                subscribe => let_statement(1, &format!("mut {local}"), &stream),
                local => local,
            }
        })
        .collect();
    let first = spec
        .methods
        .first()
        .zip(names.methods.first())
        .map(|(method, name)| {
            let args: Vec<String> = method
                .params
                .iter()
                .map(|param| placeholder(&ty, &param.ty))
                .collect();
            let report = |pattern: &str, print: &str, message: &str| {
                let message = format!("\"{} {message}\"", name.wire);
                arm(2, pattern, &Expr::call(print, &[message]))
            };
            context! {
                wire => name.wire,
                call => await_chain(1, "let result = ", "connection", &name.rust, &args, ";"),
                ok_arm => report("Ok(value)", "println!", "returned {value:?}"),
                err_arm => report("Err(err)", "eprintln!", "failed: {err}"),
            }
        });
    let connect = format!(
        "let connection = match protocol::{}::connect().await",
        names.connection
    );
    context! {
        ..common_context(spec, names, crates),
        ..context! {
            connect => open_block(1, &connect),
            events => events,
            first => first,
        }
    }
}

/// A placeholder argument of a client method's parameter type.
fn placeholder(ty: &TypeStyle<'_>, param: &Type) -> String {
    match param {
        Type::Primitive(Primitive::Boolean) => "false".to_owned(),
        Type::Primitive(Primitive::Float | Primitive::Double) => "0.0".to_owned(),
        Type::Primitive(Primitive::String) => "\"example\"".to_owned(),
        Type::Primitive(Primitive::Binary) | Type::List(_) => "&[]".to_owned(),
        Type::Primitive(_) => "0".to_owned(),
        Type::Model(name) => format!("&{}::default()", ty.model(name)),
    }
}
