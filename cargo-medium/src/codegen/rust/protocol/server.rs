//! `src/server.rs` of the protocol crate: the server trait, the server, the event emitters
//! and the per-call context.
//!
//! The trait is named after the class, which may be any name (`Result`, `Box`…), so this file
//! never relies on prelude type names: it spells `::core`/`::std` paths (through lowercase
//! module aliases, which no generated type can shadow).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, Ownership, doc_or, ident};
use crate::check::Event;
use crate::codegen::rust::names::{Named, field_names};

impl Generator<'_> {
    pub(super) fn server_rs(&self) -> TokenStream {
        let n = &self.names;
        let (service, result, events, context, error) = (
            ident(&n.service),
            ident(&n.result),
            ident(&n.events),
            ident(&n.context),
            ident(&n.error),
        );
        let class = &self.spec.class;
        let module_docs = self.module_docs(&[
            format!(
                " The daemon side: implement [`{}`], serve it with [`{}`], fire events",
                n.service, n.server
            ),
            format!(" with [`{}`].", n.events),
        ]);
        let result_doc = format!(" What a `{class}` method handler returns.");
        let trait_doc =
            format!(" The `{class}` protocol, daemon side: one method per spec method.");
        let trait_doc_serve = format!(
            " application, the event emitter). Serve the implementation with [`{}`].",
            n.server
        );
        let methods = self
            .spec
            .methods
            .iter()
            .zip(&n.methods)
            .map(|(method, name)| {
                let doc = doc_or(&method.doc, &format!("Handles `{}`.", name.wire));
                let function = ident(&name.rust);
                let names = field_names(&method.params);
                let params = self.typed_params(&method.params, &names, Ownership::Owned);
                let returns = self.return_type(method);
                quote! {
                    #doc
                    fn #function(&self, cx: &#context, #(#params),*)
                        -> impl future::Future<Output = #result<#returns>> + marker::Send;
                }
            });
        let server_struct = self.server_struct();
        let emitters = self.emitters();
        let context_struct = self.context_struct();
        quote! {
            #module_docs

            use ::core::future;
            use ::core::marker;
            use ::core::result;

            use ::medium_runtime as rt;

            #[doc = #result_doc]
            pub type #result<T> = result::Result<T, rt::HandlerError<crate::#error>>;

            #[doc = #trait_doc]
            ///
            /// Implement it with `async fn`s. Each method gets the call's context (the calling
            #[doc = #trait_doc_serve]
            pub trait #service: marker::Send + marker::Sync + 'static {
                #(#methods)*

                /// Background work beside serving, e.g. watching something and firing events through
                /// `events`. Starts once, when the socket is listening (so apps can already connect);
                /// returning `Err` shuts the daemon down. Does nothing by default.
                fn run(
                    &self,
                    _events: #events,
                ) -> impl future::Future<Output = result::Result<(), rt::BoxError>> + marker::Send {
                    async { Ok(()) }
                }
            }

            #server_struct
            #emitters
            #context_struct
        }
    }

    fn server_struct(&self) -> TokenStream {
        let n = &self.names;
        let (service, server, events) = (ident(&n.service), ident(&n.server), ident(&n.events));
        let struct_doc = format!(
            " Serves a [`{}`] implementation on the protocol's socket.",
            n.service
        );
        let serve_doc = format!(
            " [`{}::run`] beside; removes the socket on exit.",
            n.service
        );
        quote! {
            #[doc = #struct_doc]
            #[derive(Debug)]
            pub struct #server<S: #service> {
                daemon: rt::Daemon<crate::dispatch::Dispatcher<S>>,
                service: ::std::sync::Arc<S>,
            }

            impl<S: #service> #server<S> {
                /// A server for `service`, on the socket path the runtime resolves for this protocol
                /// (`MEDIUM_SOCKET_DIR`, the spec's `socket` folder, `$XDG_RUNTIME_DIR`, `/run`).
                pub fn new(service: S) -> Self {
                    let service = ::std::sync::Arc::new(service);
                    let dispatcher = crate::dispatch::Dispatcher::new(::std::sync::Arc::clone(&service));
                    Self {
                        daemon: rt::Daemon::new(&crate::PROTOCOL, dispatcher),
                        service,
                    }
                }

                /// Serves on `path` instead of the resolved socket path.
                pub fn socket_path(self, path: impl ::core::convert::Into<::std::path::PathBuf>) -> Self {
                    Self {
                        daemon: self.daemon.socket_path(path),
                        service: self.service,
                    }
                }

                /// Sets the daemon's options (frame size limit, queue lengths, socket mode…).
                pub fn options(self, options: rt::DaemonOptions) -> Self {
                    Self {
                        daemon: self.daemon.options(options),
                        service: self.service,
                    }
                }

                /// The event emitter, usable before and while serving.
                pub fn events(&self) -> #events {
                    #events {
                        handle: self.daemon.handle(),
                    }
                }

                /// Serves until SIGINT or SIGTERM (or [`rt::DaemonHandle::shutdown`]), running
                #[doc = #serve_doc]
                pub async fn serve(self) -> result::Result<(), rt::Error> {
                    let events = self.events();
                    let service = self.service;
                    let background = async move { <S as #service>::run(&service, events).await };
                    self.daemon.serve_with(background).await
                }
            }
        }
    }

    fn emitters(&self) -> TokenStream {
        let n = &self.names;
        let (events, events_to) = (ident(&n.events), ident(&n.events_to));
        let class = &self.spec.class;
        let events_doc =
            format!(" Fires `{class}` events to connected applications. Cheap to clone.");
        let events_to_doc = format!(
            " Fires `{class}` events to one application ([`{}::to`]).",
            n.events
        );
        let to_all = self.emitter_pairs(false);
        let to_one = self.emitter_pairs(true);
        quote! {
            #[doc = #events_doc]
            #[derive(Debug, Clone)]
            pub struct #events {
                handle: rt::DaemonHandle,
            }

            impl #events {
                /// The runtime's daemon handle: connect and disconnect notifications, shutdown.
                pub fn handle(&self) -> &rt::DaemonHandle {
                    &self.handle
                }

                /// The applications connected now.
                pub fn applications(&self) -> ::std::vec::Vec<rt::Application> {
                    self.handle.applications()
                }

                /// An emitter that fires events to `application` only.
                pub fn to(&self, application: rt::ApplicationId) -> #events_to {
                    #events_to {
                        handle: self.handle.clone(),
                        application,
                    }
                }

                #(#to_all)*
            }

            #[doc = #events_to_doc]
            #[derive(Debug, Clone)]
            pub struct #events_to {
                handle: rt::DaemonHandle,
                application: rt::ApplicationId,
            }

            impl #events_to {
                /// The application these events go to.
                pub fn application(&self) -> rt::ApplicationId {
                    self.application
                }

                // Also what keeps `handle` read when the spec has no events.
                /// The runtime's daemon handle: connect and disconnect notifications, shutdown.
                pub fn handle(&self) -> &rt::DaemonHandle {
                    &self.handle
                }

                #(#to_one)*
            }
        }
    }

    /// Each event's emitting method and its paced twin, to all subscribed applications or to
    /// one.
    fn emitter_pairs(&self, to_one: bool) -> impl Iterator<Item = TokenStream> + '_ {
        let n = &self.names;
        let events = self.spec.events.iter().zip(&n.events_methods);
        events
            .zip(&n.events_paced)
            .flat_map(move |((event, name), paced)| {
                [
                    self.emitter(event, name, to_one, false),
                    self.emitter(event, paced, to_one, true),
                ]
            })
    }

    /// One event's emitting method, to all subscribed applications or to one; `paced`, the
    /// async one that waits for room rather than letting a lagging application miss the event.
    fn emitter(&self, event: &Event, name: &Named, to_one: bool, paced: bool) -> TokenStream {
        let doc = doc_or(&event.doc, &format!("The `{}` event.", name.wire));
        let fires = if to_one {
            quote! {
                /// Fires it to this application: `Ok(true)` when queued, `Ok(false)` when the application
                /// is not subscribed to it, `Err` when it is gone.
            }
        } else {
            quote! {
                /// Fires it to every application subscribed to it; returns how many it was queued to.
                /// `Err` when it cannot be sent at all (its arguments exceed the daemon's frame limit):
                /// then nobody gets it.
            }
        };
        let pacing = match (to_one, paced) {
            (false, false) => quote! {
                ///
                /// Never waits: an application whose event queue is full misses the event and is told it
                /// lagged.
            },
            (true, false) => quote! {
                ///
                /// Never waits: when the application's event queue is full it misses the event
                /// (`Ok(false)`) and is told it lagged.
            },
            (false, true) => quote! {
                ///
                /// Waits first while the event queue of a subscribed application is at least half full
                /// ([`rt::DaemonHandle::emit_paced`]): the event is never dropped for lack of room, and an
                /// application that stops reading holds this up until it reads again or disconnects.
            },
            (true, true) => quote! {
                ///
                /// Waits first while the application's event queue is at least half full
                /// ([`rt::DaemonHandle::emit_to_paced`]): the event is never dropped for lack of room,
                /// and an application that stops reading holds this up until it reads again or
                /// disconnects.
            },
        };
        let function = ident(&name.rust);
        let names = field_names(&event.params);
        let params = self.typed_params(&event.params, &names, Ownership::Borrowed);
        let args = self.args_tuple(&event.params, &names);
        let wire = &name.wire;
        let (returns, emit) = match (to_one, paced) {
            (true, false) => (
                quote!(result::Result<bool, rt::EmitError>),
                quote!(rt::DaemonHandle::emit_to(&self.handle, self.application, #wire, &args)),
            ),
            (true, true) => (
                quote!(result::Result<bool, rt::EmitError>),
                quote!(
                    rt::DaemonHandle::emit_to_paced(&self.handle, self.application, #wire, &args)
                        .await
                ),
            ),
            (false, false) => (
                quote!(result::Result<usize, rt::EmitError>),
                quote!(rt::DaemonHandle::emit(&self.handle, #wire, &args)),
            ),
            (false, true) => (
                quote!(result::Result<usize, rt::EmitError>),
                quote!(rt::DaemonHandle::emit_paced(&self.handle, #wire, &args).await),
            ),
        };
        let asyncness = paced.then(|| quote!(async));
        quote! {
            #doc
            ///
            #fires
            #pacing
            pub #asyncness fn #function(&self, #(#params),*) -> #returns {
                #args
                #emit
            }
        }
    }

    fn context_struct(&self) -> TokenStream {
        let n = &self.names;
        let (context, events) = (ident(&n.context), ident(&n.events));
        let doc = format!(
            " What a [`{}`] handler knows about the call it serves.",
            n.service
        );
        // Only method dispatch builds a context: without methods the constructor would be dead
        // code, which `-D warnings` refuses.
        let from_call = (!self.spec.methods.is_empty()).then(|| {
            quote! {
                pub(crate) fn from_call(call: &rt::Call) -> Self {
                    Self {
                        application: call.application().clone(),
                        events: #events {
                            handle: call.daemon().clone(),
                        },
                    }
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone)]
            pub struct #context {
                application: rt::Application,
                events: #events,
            }

            impl #context {
                #from_call

                /// The application that made the call: its id and peer credentials.
                pub fn application(&self) -> &rt::Application {
                    &self.application
                }

                /// The event emitter, e.g. to tell other applications about a change.
                pub fn events(&self) -> &#events {
                    &self.events
                }
            }
        }
    }
}
