//! Integration tests of medium-runtime over real Unix sockets (and, for the lifecycle, a real
//! daemon process: `examples/echo_daemon.rs`). Every test gets its own temp-dir socket.

mod access;
mod apps;
mod auto_reconnect;
mod binary;
mod calls;
mod descriptors;
mod echo_process;
mod errors;
mod events;
mod faults;
mod fuzz_inputs;
mod hostile;
mod introspection;
mod lifecycle;
mod limits;
mod load;
mod logging;
mod nesting;
mod oversized_replies;
mod security;
mod strictness;
mod subscriptions;
mod support;
mod values;
mod wire_version;
