//! `src/events.rs` of the protocol crate: one payload struct per spec event.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, ident, spec_doc};

impl Generator<'_> {
    pub(super) fn events_rs(&self) -> TokenStream {
        let module_docs = self.module_docs(&[
            " Event payloads: what the connections' event streams yield. An event travels as a"
                .to_owned(),
            " positional MessagePack array of its arguments, decoded into these fields in order."
                .to_owned(),
        ]);
        let events = self.spec.events.iter().zip(&self.names.event_structs);
        let events = events.map(|(event, name)| {
            let doc = spec_doc(&event.doc);
            let name = ident(&name.rust);
            let fields = self.struct_fields(&event.params, false);
            let derives = if self.holds_fd(&event.params) {
                quote!(Debug, serde::Deserialize)
            } else {
                quote!(Debug, Clone, PartialEq, serde::Deserialize)
            };
            quote! {
                #doc
                #[derive(#derives)]
                #[serde(crate = "::medium_runtime::serde")]
                pub struct #name { #fields }
            }
        });
        let serde = (!self.spec.events.is_empty()).then(|| {
            quote!(
                use ::medium_runtime::serde;
            )
        });
        quote! {
            #module_docs
            #serde
            #(#events)*
        }
    }
}
