//! `src/exceptions.rs` of the protocol crate: the exception enum and its wire conversion.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, doc_lines, doc_or, ident};

impl Generator<'_> {
    pub(super) fn exceptions_rs(&self) -> TokenStream {
        let error = ident(&self.names.error);
        let module_docs = self.module_docs(&[format!(
            " The spec's exceptions, as one enum: [`{}`].",
            self.names.error
        )]);
        let enum_doc = doc_lines(&[&format!(
            "An exception a `{}` method raised, with the daemon's message.",
            self.spec.class
        )]);
        let exceptions = self.spec.exceptions.iter().zip(&self.names.exceptions);
        let variants = exceptions.map(|(exception, name)| {
            let doc = doc_or(&exception.doc, &format!("The `{}` exception.", name.wire));
            let variant = ident(&name.rust);
            quote! {
                #doc
                #variant(::std::string::String),
            }
        });
        let variant_idents: Vec<_> = self
            .names
            .exceptions
            .iter()
            .map(|n| ident(&n.rust))
            .collect();
        let wire_names: Vec<&str> = self
            .names
            .exceptions
            .iter()
            .map(|n| n.wire.as_str())
            .collect();
        let (name_body, message_body, from_remote_body) = if variant_idents.is_empty() {
            (
                quote!(match *self {}),
                quote!(match *self {}),
                quote!(Err(exception)),
            )
        } else {
            (
                quote! {
                    match self {
                        #(Self::#variant_idents(_) => #wire_names,)*
                    }
                },
                quote! {
                    match self {
                        #(Self::#variant_idents(message) => message,)*
                    }
                },
                quote! {
                    match exception.name.as_str() {
                        #(#wire_names => Ok(Self::#variant_idents(exception.message)),)*
                        _ => Err(exception),
                    }
                },
            )
        };
        quote! {
            #module_docs

            use ::core::fmt;

            use ::medium_runtime as rt;

            #enum_doc
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum #error {
                #(#variants)*
            }

            impl #error {
                /// The exception's name in the spec.
                pub fn name(&self) -> &'static str {
                    #name_body
                }

                /// The message the daemon gave.
                pub fn message(&self) -> &str {
                    #message_body
                }
            }

            impl fmt::Display for #error {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    let message = self.message();
                    if message.is_empty() {
                        f.write_str(self.name())
                    } else {
                        write!(f, "{}: {message}", self.name())
                    }
                }
            }

            impl ::std::error::Error for #error {}

            impl rt::ExceptionSet for #error {
                fn to_remote(&self) -> rt::RemoteException {
                    rt::RemoteException {
                        name: self.name().into(),
                        message: self.message().into(),
                    }
                }

                fn from_remote(exception: rt::RemoteException) -> Result<Self, rt::RemoteException> {
                    #from_remote_body
                }
            }
        }
    }
}
