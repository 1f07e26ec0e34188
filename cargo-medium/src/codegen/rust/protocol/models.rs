//! `src/models.rs` of the protocol crate: one struct per spec model.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, ident, spec_doc};
use crate::check::Field;
use crate::codegen::rust::names::{Named, field_names, unraw};

impl Generator<'_> {
    pub(super) fn models_rs(&self) -> TokenStream {
        let module_docs = self.module_docs(&[
            " The spec's models: plain data, sent as MessagePack maps keyed by field name. A map"
                .to_owned(),
            " with a key that is not a field is refused, as one missing a field is.".to_owned(),
        ]);
        let models = self.spec.models.iter().zip(&self.names.models);
        let models = models.map(|(model, name)| {
            let doc = spec_doc(&model.doc);
            let name = ident(&name.rust);
            let fields = self.struct_fields(&model.fields, true);
            // An owned descriptor can be neither cloned, compared nor made up.
            let derives = if self.holds_fd(&model.fields) {
                quote!(Debug, serde::Serialize, serde::Deserialize)
            } else {
                quote!(
                    Debug,
                    Clone,
                    Default,
                    PartialEq,
                    serde::Serialize,
                    serde::Deserialize
                )
            };
            quote! {
                #doc
                #[derive(#derives)]
                #[serde(crate = "::medium_runtime::serde", deny_unknown_fields)]
                pub struct #name { #fields }
            }
        });
        let serde = (!self.spec.models.is_empty()).then(|| {
            quote!(
                use ::medium_runtime::serde;
            )
        });
        quote! {
            #module_docs
            #serde
            #(#models)*
        }
    }

    /// The fields of a model or event struct, with their docs and serde attributes.
    pub(super) fn struct_fields(&self, fields: &[Field], by_name: bool) -> TokenStream {
        let fields = fields.iter().zip(field_names(fields)).map(|(field, name)| {
            let doc = spec_doc(&field.doc);
            let serde = serde_attribute(&name, by_name);
            let rust = ident(&name.rust);
            let ty = self.ty.owned(&field.ty);
            quote! {
                #doc
                #serde
                pub #rust: #ty,
            }
        });
        quote!(#(#fields)*)
    }
}

/// `#[serde(rename = …)]` for a field whose Rust name differs from its wire name, where fields
/// travel by name.
fn serde_attribute(name: &Named, by_name: bool) -> TokenStream {
    if by_name && unraw(&name.rust) != name.wire {
        let wire = &name.wire;
        quote!(#[serde(rename = #wire)])
    } else {
        TokenStream::new()
    }
}
