//! `src/events.rs` of the protocol crate: one payload struct per spec event.

use super::Generator;
use crate::codegen::rust::layout::{braces, doc};

impl Generator<'_> {
    pub(super) fn events_rs(&self) -> String {
        let mut out = self.header();
        out += "//! Event payloads: what the connections' event streams yield. An event travels as a\n";
        out += "//! positional MessagePack array of its arguments, decoded into these fields in order.\n";
        if self.spec.events.is_empty() {
            return out;
        }
        out += "\nuse ::medium_runtime::serde;\n";
        for (event, name) in self.spec.events.iter().zip(&self.names.event_structs) {
            out += "\n";
            out += &doc(0, &event.doc);
            out += "#[derive(Debug, Clone, PartialEq, serde::Deserialize)]\n";
            out += "#[serde(crate = \"::medium_runtime::serde\")]\n";
            out += &braces(
                &format!("pub struct {}", name.rust),
                &self.struct_fields(&event.params, false),
            );
        }
        out
    }
}
