//! `src/client.rs` (async) and `src/blocking.rs` of the protocol crate: the connections, one
//! typed method per spec method and one subscription per event. Both flavours come from the
//! same emitter; they differ only in the runtime client they wrap and in `.await`.
//!
//! The connection's own API (`connect…`, `from_client`, `client`) shares the method namespace
//! with the spec's names; `names` moves colliding spec names aside.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, Ownership, doc_or, ident};
use crate::check::{Event, Field, Method};
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
    fn client(self) -> TokenStream {
        match self {
            Flavor::Async => quote!(rt::Client),
            Flavor::Blocking => quote!(rt::blocking::Client),
        }
    }

    /// What a subscription returns, for `payload`.
    fn stream(self, payload: TokenStream) -> TokenStream {
        match self {
            Flavor::Async => quote!(rt::EventStream<#payload>),
            Flavor::Blocking => quote!(rt::blocking::EventIter<#payload>),
        }
    }

    fn asyncness(self) -> TokenStream {
        match self {
            Flavor::Async => quote!(async),
            Flavor::Blocking => TokenStream::new(),
        }
    }

    fn dot_await(self) -> TokenStream {
        match self {
            Flavor::Async => quote!(.await),
            Flavor::Blocking => TokenStream::new(),
        }
    }
}

impl Generator<'_> {
    pub(super) fn connection_rs(&self, flavor: Flavor) -> TokenStream {
        let connection = ident(&self.names.connection);
        let module_doc = match flavor {
            Flavor::Async => vec![format!(" The async client: [`{}`].", self.names.connection)],
            Flavor::Blocking => vec![
                format!(
                    " The blocking client: [`{}`], for apps without an async runtime.",
                    self.names.connection
                ),
                " Do not use it inside async tasks: each call blocks the thread until the reply."
                    .to_owned(),
            ],
        };
        let module_docs = self.module_docs(&module_doc);
        let struct_doc = format!(
            " A connection to the `{}` daemon. Cheap to clone: clones share the connection,",
            self.spec.class
        );
        let client = flavor.client();
        let asyncness = flavor.asyncness();
        let dot_await = flavor.dot_await();
        let methods = self.spec.methods.iter().zip(&self.names.methods);
        let methods = methods.map(|(method, name)| self.client_method(flavor, method, name));
        let events = self.spec.events.iter().zip(&self.names.events_methods);
        let subscriptions = events
            .zip(&self.names.event_structs)
            .map(|((event, name), payload)| self.subscription(flavor, event, name, payload));
        quote! {
            #module_docs

            use ::medium_runtime as rt;

            #[doc = #struct_doc]
            /// which closes when the last clone and the last event stream are dropped.
            ///
            /// Each spec method is a method here; each spec event is a method that subscribes to it.
            #[derive(Debug, Clone)]
            pub struct #connection {
                client: #client,
            }

            impl #connection {
                /// Connects on the socket path the runtime resolves for this protocol
                /// (`MEDIUM_SOCKET_DIR`, the spec's `socket` folder, `$XDG_RUNTIME_DIR`, `/run`).
                pub #asyncness fn connect() -> Result<Self, rt::Error> {
                    let client = #client::connect(&crate::PROTOCOL)#dot_await?;
                    Ok(Self { client })
                }

                /// Connects to the daemon listening at `path`.
                pub #asyncness fn connect_to(path: impl AsRef<::std::path::Path>) -> Result<Self, rt::Error> {
                    let client = #client::connect_to(&crate::PROTOCOL, path)#dot_await?;
                    Ok(Self { client })
                }

                /// Connects with explicit options (socket path, call timeout, automatic reconnection…).
                pub #asyncness fn connect_with(options: rt::ClientOptions) -> Result<Self, rt::Error> {
                    let client = #client::connect_with(&crate::PROTOCOL, options)#dot_await?;
                    Ok(Self { client })
                }

                /// Wraps a runtime client already connected to this protocol's daemon.
                pub fn from_client(client: #client) -> Self {
                    Self { client }
                }

                /// The runtime client underneath (socket path, calls with a timeout).
                pub fn client(&self) -> &#client {
                    &self.client
                }

                #(#methods)*

                #(#subscriptions)*
            }
        }
    }

    fn client_method(&self, flavor: Flavor, method: &Method, name: &Named) -> TokenStream {
        let client = flavor.client();
        let asyncness = flavor.asyncness();
        let dot_await = flavor.dot_await();
        let doc = doc_or(
            &method.doc,
            &format!("Calls `{}` on the daemon.", name.wire),
        );
        let function = ident(&name.rust);
        let wire = &name.wire;
        let names = field_names(&method.params);
        let params = self.typed_params(&method.params, &names, Ownership::Borrowed);
        let returns = self.return_type(method);
        let error = ident(&self.names.error);
        let args = self.args_tuple(&method.params, &names);
        let call = quote!(#client::call(&self.client, #wire, &args)#dot_await);
        quote! {
            #doc
            pub #asyncness fn #function(&self, #(#params),*) -> Result<#returns, rt::CallError<crate::#error>> {
                #args
                #call
            }
        }
    }

    fn subscription(
        &self,
        flavor: Flavor,
        event: &Event,
        name: &Named,
        payload: &Named,
    ) -> TokenStream {
        let client = flavor.client();
        let asyncness = flavor.asyncness();
        let dot_await = flavor.dot_await();
        let doc = doc_or(&event.doc, &format!("The `{}` event.", name.wire));
        let function = ident(&name.rust);
        let payload = ident(&payload.rust);
        let stream = flavor.stream(quote!(crate::events::#payload));
        let wire = &name.wire;
        let returns = match flavor {
            Flavor::Async => quote! {
                /// Subscribes to it and returns once the daemon confirms: every event it emits after
                /// that reaches this stream. The stream ends when the connection closes.
            },
            Flavor::Blocking => quote! {
                /// Subscribes to it and returns once the daemon confirms: every event it emits after
                /// that reaches this iterator. The iterator ends when the connection closes.
            },
        };
        quote! {
            #doc
            ///
            #returns
            pub #asyncness fn #function(&self) -> Result<#stream, rt::Error> {
                #client::subscribe(&self.client, #wire)#dot_await
            }
        }
    }

    /// `let args = (…);`: the positional arguments of a call or event, borrowed, with
    /// `binary` values wrapped so they encode as MessagePack bin.
    pub(super) fn args_tuple(&self, params: &[Field], names: &[Named]) -> TokenStream {
        if params.is_empty() {
            // `()` would encode as nil; the protocol sends an empty array.
            return quote!(let args: [(); 0] = [];);
        }
        let wrap_binary = params
            .iter()
            .zip(names)
            .filter(|(param, _)| is_binary(&param.ty));
        let wrap_binary = wrap_binary.map(|(_, named)| {
            let local = ident(&named.rust);
            quote!(let #local = rt::serde_bytes::Bytes::new(#local);)
        });
        let locals: Vec<_> = names.iter().map(|named| ident(&named.rust)).collect();
        if params.len() <= MAX_SERDE_TUPLE {
            return quote! {
                #(#wrap_binary)*
                let args = (#(#locals,)*);
            };
        }
        // serde implements tuples up to 16 elements; a tuple struct encodes the same array.
        let fields: Vec<TokenStream> = params
            .iter()
            .map(|param| {
                if is_binary(&param.ty) {
                    quote!(&'a rt::serde_bytes::Bytes)
                } else {
                    let ty = self.ty.borrowed(&param.ty);
                    match ty.referent() {
                        Some(to) => quote!(&'a #to),
                        None => quote!(#ty),
                    }
                }
            })
            .collect();
        let borrows = params
            .iter()
            .any(|param| self.ty.borrowed(&param.ty).referent().is_some());
        let generics = borrows.then(|| quote!(<'a>));
        quote! {
            #(#wrap_binary)*
            #[derive(rt::serde::Serialize)]
            #[serde(crate = "::medium_runtime::serde")]
            struct Args #generics (#(#fields,)*);
            let args = Args(#(#locals,)*);
        }
    }
}
