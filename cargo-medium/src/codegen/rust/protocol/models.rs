//! `src/models.rs` of the protocol crate: one struct per spec model.

use super::Generator;
use crate::check::Field;
use crate::codegen::rust::layout::{braces, doc, field};
use crate::codegen::rust::names::{Named, field_names, unraw};
use crate::codegen::rust::types::is_binary;

impl Generator<'_> {
    pub(super) fn models_rs(&self) -> String {
        let mut out = self.header();
        out += "//! The spec's models: plain data, sent as MessagePack maps keyed by field name.\n";
        if self.spec.models.is_empty() {
            return out;
        }
        out += "\nuse ::medium_runtime::serde;\n";
        for (model, name) in self.spec.models.iter().zip(&self.names.models) {
            out += "\n";
            out += &doc(0, &model.doc);
            out += "#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]\n";
            out += "#[serde(crate = \"::medium_runtime::serde\")]\n";
            out += &braces(
                &format!("pub struct {}", name.rust),
                &self.struct_fields(&model.fields, true),
            );
        }
        out
    }

    /// The fields of a model or event struct, with their docs and serde attributes.
    pub(super) fn struct_fields(&self, fields: &[Field], by_name: bool) -> String {
        let mut out = String::new();
        for (member, name) in fields.iter().zip(field_names(fields)) {
            out += &doc(1, &member.doc);
            out += &serde_attribute(member, &name, by_name);
            out += &field(
                1,
                &format!("pub {}:", name.rust),
                &self.ty.owned(&member.ty),
            );
        }
        out
    }
}

/// `#[serde(…)]` for a field: its wire name when the Rust name differs (only where fields
/// travel by name) and the bytes encoding for `binary`.
fn serde_attribute(field: &Field, name: &Named, by_name: bool) -> String {
    let mut parts = Vec::new();
    if by_name && unraw(&name.rust) != name.wire {
        parts.push(format!("rename = \"{}\"", name.wire));
    }
    if is_binary(&field.ty) {
        parts.push("with = \"::medium_runtime::serde_bytes\"".to_owned());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("    #[serde({})]\n", parts.join(", "))
    }
}
