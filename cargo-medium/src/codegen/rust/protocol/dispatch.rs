//! `src/dispatch.rs` of the protocol crate: the private router from the runtime's calls to
//! the server trait. Its scope holds only `Dispatcher` and one function per method, so it can
//! use prelude names freely.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Generator, ident};
use crate::check::Method;
use crate::codegen::rust::names::{Named, field_names, unraw};

impl Generator<'_> {
    pub(super) fn dispatch_rs(&self) -> TokenStream {
        let service = ident(&self.names.service);
        let module_docs = self.module_docs(&[
            format!(
                " Routes calls to the [`crate::{}`] implementation: decodes each method's",
                self.names.service
            ),
            " arguments and encodes its result.".to_owned(),
        ]);
        let body = if self.spec.methods.is_empty() {
            // The spec declares no methods: every call is unknown.
            quote! {
                let _ = (&self.service, call, runner);
                None
            }
        } else {
            let wire = self.names.methods.iter().map(|name| &name.wire);
            let handlers = self.names.methods.iter().map(handler_name);
            quote! {
                let service = Arc::clone(&self.service);
                match call.method() {
                    #(#wire => Some(runner.run(#handlers(service, call))),)*
                    _ => None,
                }
            }
        };
        let handlers = self.spec.methods.iter().zip(&self.names.methods);
        let handlers = handlers.map(|(method, name)| self.handler(method, name));
        quote! {
            #module_docs

            use ::std::sync::Arc;

            use ::medium_runtime as rt;

            /// The runtime's view of a service: one entry per spec method.
            #[derive(Debug)]
            pub(crate) struct Dispatcher<S> {
                service: Arc<S>,
            }

            impl<S> Dispatcher<S> {
                pub(crate) fn new(service: Arc<S>) -> Self {
                    Self { service }
                }
            }

            impl<S: crate::#service> rt::Dispatch for Dispatcher<S> {
                fn dispatch(
                    &self,
                    call: rt::Call,
                    runner: rt::CallRunner<'_>,
                ) -> Option<rt::Started> {
                    #body
                }
            }

            #(#handlers)*
        }
    }

    /// The function that decodes one method's arguments, runs the handler and encodes the
    /// reply: an `async fn`, whose future the runtime keeps in a box it reuses.
    fn handler(&self, method: &Method, name: &Named) -> TokenStream {
        let service = ident(&self.names.service);
        let context = ident(&self.names.context);
        let doc = format!(" Runs `{}`.", name.wire);
        let function = handler_name(name);
        let method_ident = ident(&name.rust);
        let params = field_names(&method.params);
        let decode = if method.params.is_empty() {
            quote! {
                if let Err(reply) = call.decode_args::<[(); 0]>() {
                    return reply;
                }
            }
        } else {
            let fields = method.params.iter().zip(&params).map(|(param, named)| {
                let field = ident(&named.rust);
                let ty = self.ty.owned(&param.ty);
                quote!(#field: #ty,)
            });
            quote! {
                #[derive(rt::serde::Deserialize)]
                #[serde(crate = "::medium_runtime::serde")]
                struct Args {
                    #(#fields)*
                }
                let args: Args = match call.decode_args() {
                    Ok(args) => args,
                    Err(reply) => return reply,
                };
            }
        };
        let args = params.iter().map(|named| ident(&named.rust));
        let reply =
            quote!(<S as crate::#service>::#method_ident(&service, &cx, #(args.#args),*).await);
        quote! {
            #[doc = #doc]
            async fn #function<S: crate::#service>(service: Arc<S>, call: rt::Call) -> rt::Reply {
                #decode
                let cx = crate::#context::from_call(&call);
                rt::Reply::from_handler(#reply)
            }
        }
    }
}

/// The handler function of a method: prefixed, so it never shadows (or is shadowed by) the
/// locals `service` and `call`.
fn handler_name(method: &Named) -> proc_macro2::Ident {
    format_ident!("handle_{}", unraw(&method.rust))
}
