//! The user-owned daemon and app crates, rendered from the minijinja templates in
//! `templates/daemon` and `templates/app`.
//!
//! The templates read as the Rust files they produce; this module only computes what depends
//! on the spec: names, types, docs and placeholder arguments. Their layout is left to the
//! user's rustfmt, which the scaffold stage runs on them (see `scaffold`): what this returns
//! is valid Rust, but not necessarily formatted.

use minijinja::{Value, context};

use super::names::{NameTable, ProtocolNames, field_names, unraw};
use super::types::TypeStyle;
use crate::check::{CheckedSpec, FdHolders, Primitive, Type};
use crate::codegen::{CrateManifest, CrateNames, Dependency, GeneratedCrate, GeneratedFile};
use crate::templates::{Template, TemplateError};

/// Which user-owned crate to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UserCrate {
    Daemon,
    App,
}

pub(super) fn render(
    which: UserCrate,
    spec: &CheckedSpec,
    names: &ProtocolNames,
    crates: &CrateNames,
) -> Result<GeneratedCrate, TemplateError> {
    let (name, manifest_template, main_template, values) = match which {
        UserCrate::Daemon => (
            &crates.daemon,
            Template::DaemonManifest,
            Template::DaemonMain,
            daemon_context(spec, names, crates),
        ),
        UserCrate::App => (
            &crates.app,
            Template::AppManifest,
            Template::AppMain,
            app_context(spec, names, crates),
        ),
    };
    let manifest = CrateManifest::inheriting(dependencies(which, crates));
    let manifest_values = context! { ..values.clone(), ..context! { name } };
    let files = vec![
        GeneratedFile::new(
            "Cargo.toml",
            manifest.render(manifest_template, manifest_values)?,
        ),
        GeneratedFile::new("src/main.rs", main_template.render(values)?),
    ];
    Ok(GeneratedCrate {
        name: name.clone(),
        manifest,
        files,
    })
}

/// What the crate's code uses: its protocol crate, the runtime, tokio to run, and for the
/// daemon tracing to log.
fn dependencies(which: UserCrate, crates: &CrateNames) -> Vec<Dependency> {
    let mut dependencies = vec![
        Dependency::Protocol(crates.protocol.clone()),
        Dependency::Runtime,
        Dependency::Tokio,
    ];
    if which == UserCrate::Daemon {
        dependencies.extend([Dependency::Tracing, Dependency::TracingSubscriber]);
    }
    dependencies
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
            let params: Vec<Value> = method
                .params
                .iter()
                .zip(field_names(&method.params))
                .map(|(param, named)| {
                    // Unused until the user writes the method: `_name`, never `_r#name`.
                    context! { name => unraw(&named.rust), ty => ty.owned(&param.ty).to_string() }
                })
                .collect();
            let returns = method
                .returns
                .as_ref()
                .map_or_else(|| "()".to_owned(), |ret| ty.owned(ret).to_string());
            context! {
                name => name.rust,
                wire => name.wire,
                doc => doc_lines(&method.doc),
                params => params,
                returns => returns,
            }
        })
        .collect();
    let daemon_struct = format!("{}Daemon", names.service.trim_end_matches('_'));
    context! {
        ..common_context(spec, names, crates),
        ..context! {
            methods => methods,
            daemon_struct => daemon_struct,
            context => names.context,
            result => names.result,
            events => names.events,
        }
    }
}

fn app_context(spec: &CheckedSpec, names: &ProtocolNames, crates: &CrateNames) -> Value {
    // The locals and bindings `main` has besides the event streams.
    let mut locals = NameTable::with_reserved(&["connection", "err", "event", "socket", "value"]);
    // Each event's stream lives in a local named after it.
    let events: Vec<Value> = names
        .events_methods
        .iter()
        .map(|name| {
            context! {
                local => locals.claim(unraw(&name.rust)),
                method => name.rust,
                wire => name.wire,
            }
        })
        .collect();
    let placeholders = Placeholders {
        spec,
        ty: TypeStyle::user(names),
        fd_holders: FdHolders::of(spec),
    };
    let first = spec
        .methods
        .first()
        .zip(names.methods.first())
        .map(|(method, name)| {
            let args: Vec<String> = method
                .params
                .iter()
                .map(|param| placeholders.argument(&param.ty))
                .collect();
            context! {
                method => name.rust,
                wire => name.wire,
                args => args,
            }
        });
    context! {
        ..common_context(spec, names, crates),
        ..context! {
            events => events,
            first => first,
        }
    }
}

/// A spec item's doc comment lines, trailing spaces and blank lines at either end dropped.
fn doc_lines(doc: &[String]) -> Vec<&str> {
    let lines: Vec<&str> = doc.iter().map(|line| line.trim_end()).collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].to_vec(),
        _ => Vec::new(),
    }
}

/// The app's placeholder for an `fd`: `/dev/null`, which every system has.
const PLACEHOLDER_FD: &str =
    "medium_runtime::Fd::from(std::fs::File::open(\"/dev/null\").expect(\"/dev/null opens\"))";

/// Makes up the placeholder arguments of the app's first call.
struct Placeholders<'a> {
    spec: &'a CheckedSpec,
    ty: TypeStyle<'a>,
    fd_holders: FdHolders<'a>,
}

impl Placeholders<'_> {
    /// A placeholder argument of a client method's parameter type (borrowed, as the client
    /// method takes it).
    fn argument(&self, param: &Type) -> String {
        match param {
            Type::Primitive(Primitive::Boolean) => "false".to_owned(),
            Type::Primitive(Primitive::Float | Primitive::Double) => "0.0".to_owned(),
            Type::Primitive(Primitive::String) => "\"example\"".to_owned(),
            Type::Primitive(Primitive::Binary) | Type::List(_) => "&[]".to_owned(),
            Type::Primitive(Primitive::Fd) | Type::Model(_) => format!("&{}", self.owned(param)),
            Type::Primitive(_) => "0".to_owned(),
        }
    }

    /// An owned placeholder value: the type's default, which a type holding an `fd` has not,
    /// so a descriptor is `/dev/null` and a model holding one is written out field by field.
    fn owned(&self, ty: &Type) -> String {
        match ty {
            Type::Primitive(Primitive::Fd) => PLACEHOLDER_FD.to_owned(),
            Type::Model(name) if self.fd_holders.holds(ty) => {
                let model = self
                    .spec
                    .model(name)
                    .expect("a checked spec's models resolve");
                let fields = model.fields.iter().zip(field_names(&model.fields));
                let fields: Vec<String> = fields
                    .map(|(field, named)| format!("{}: {}", named.rust, self.owned(&field.ty)))
                    .collect();
                format!("{} {{ {} }}", self.ty.model(name), fields.join(", "))
            }
            Type::Model(name) => format!("{}::default()", self.ty.model(name)),
            _ => "Default::default()".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::doc_lines;

    #[test]
    fn doc_lines_drop_blank_edges_and_trailing_spaces() {
        let doc = ["", "First line.  ", "", "Second.", ""].map(String::from);
        assert_eq!(doc_lines(&doc), ["First line.", "", "Second."]);
        assert!(doc_lines(&[String::new()]).is_empty());
    }
}
