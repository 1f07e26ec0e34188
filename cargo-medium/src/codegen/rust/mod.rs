//! Rust code generation: a checked spec becomes the generated protocol crate (models,
//! exceptions, async and blocking clients, server trait, event emitters) and the user-owned
//! daemon and app crates rendered from `templates/`. Each crate's `Cargo.toml` is rendered
//! from its [`CrateManifest`], which the crate carries along for the manifest patcher.
//!
//! Pure: every function returns files in memory, deterministically (same spec, same bytes).
//! Protocol code is laid out by prettyplease, never by the user's rustfmt. The daemon and app
//! come out valid but unformatted: the scaffold stage formats them with the
//! user's rustfmt.
//!
//! `fd` is `medium_runtime::Fd`. Models and event payloads holding one ([`FdHolders`]) derive
//! only what an owned descriptor allows (`Debug` and serde), since it can be neither cloned nor
//! compared; every other type derives what it always did.
//!
//! [`FdHolders`]: crate::check::FdHolders

mod names;
mod protocol;
mod types;
mod user_crates;

use minijinja::context;

use crate::check::CheckedSpec;
use crate::codegen::{CrateManifest, CrateNames, Dependency, GeneratedCrate, GeneratedFile};
use crate::templates::{Template, TemplateError};

use names::ProtocolNames;

/// Where a protocol crate records the spec it was generated from: the canonical spec under an
/// `@generated` comment, which `lib.rs` embeds and `sync` reads back to report what changed.
pub const RECORDED_SPEC: &str = "src/spec.lmspc";

/// The generated protocol crate: `Cargo.toml` and `src/*.rs`, each with an `@generated`
/// header. Its manifest depends only on `medium-runtime.workspace = true`.
pub fn protocol_crate(
    spec: &CheckedSpec,
    names: &CrateNames,
) -> Result<GeneratedCrate, TemplateError> {
    let manifest = CrateManifest::inheriting(vec![Dependency::Runtime]);
    let cargo_toml = manifest.render(
        Template::ProtocolManifest,
        context! {
            name => names.protocol,
            class => spec.class,
            namespace => spec.namespace,
            spec_file => spec.source_name,
            generator => crate::codegen::GENERATOR,
        },
    )?;
    let mut files = vec![GeneratedFile::new("Cargo.toml", cargo_toml)];
    files.extend(protocol::Generator::crate_files(
        spec,
        &ProtocolNames::new(spec),
    ));
    Ok(GeneratedCrate {
        name: names.protocol.clone(),
        manifest,
        files,
    })
}

/// The user-owned daemon crate (a binary stub implementing the server trait), rendered from
/// `templates/daemon`. Written once by `cargo medium new`, never regenerated.
pub fn daemon_crate(
    spec: &CheckedSpec,
    names: &CrateNames,
) -> Result<GeneratedCrate, TemplateError> {
    user_crates::render(
        user_crates::UserCrate::Daemon,
        spec,
        &ProtocolNames::new(spec),
        names,
    )
}

/// The user-owned example app crate (a binary that connects, calls the first method and
/// prints events), rendered from `templates/app`.
pub fn app_crate(spec: &CheckedSpec, names: &CrateNames) -> Result<GeneratedCrate, TemplateError> {
    user_crates::render(
        user_crates::UserCrate::App,
        spec,
        &ProtocolNames::new(spec),
        names,
    )
}
