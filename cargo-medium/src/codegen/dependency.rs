//! [`Dependency`]: a crate a generated crate depends on.

/// A dependency of a generated crate, inherited from the workspace (`name.workspace = true`).
/// The list is closed: these are all the crates generated code uses, so the workspace always
/// knows a source for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// `medium-runtime`, from wherever the scaffold takes it (`--runtime`).
    Runtime,
    /// The protocol crate of the same spec, a member of the workspace (named here).
    Protocol(String),
    Tokio,
    Tracing,
    TracingSubscriber,
}

impl Dependency {
    /// The package name.
    pub fn name(&self) -> &str {
        match self {
            Dependency::Runtime => "medium-runtime",
            Dependency::Protocol(name) => name,
            Dependency::Tokio => "tokio",
            Dependency::Tracing => "tracing",
            Dependency::TracingSubscriber => "tracing-subscriber",
        }
    }

    /// The features the generated code uses, which the crate enables itself so it builds
    /// whatever features the workspace's entry has.
    pub fn features(&self) -> &'static [&'static str] {
        match self {
            Dependency::Tokio => &["macros", "rt-multi-thread", "signal", "time"],
            Dependency::TracingSubscriber => &["env-filter"],
            Dependency::Runtime | Dependency::Protocol(_) | Dependency::Tracing => &[],
        }
    }
}
