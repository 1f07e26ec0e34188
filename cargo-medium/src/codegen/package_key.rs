//! [`PackageKey`]: a `[package]` key a generated crate inherits from its workspace.

/// A `[package]` key written `key.workspace = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKey {
    Version,
    Edition,
}

impl PackageKey {
    pub fn name(self) -> &'static str {
        match self {
            PackageKey::Version => "version",
            PackageKey::Edition => "edition",
        }
    }
}
