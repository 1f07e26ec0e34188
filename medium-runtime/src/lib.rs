//! The runtime under every cargo-medium protocol crate: Unix-socket transport, framing,
//! handshake, calls, events and daemon lifecycle. It never generates code.
