//! The canonical text of a checked spec and its fingerprint, which daemon and app compare in
//! the handshake to refuse mismatched protocols.
//!
//! Canonical text is spec syntax with no comments, one space where spaces are needed, and the
//! top-level items sorted by kind (models, exceptions, methods, events) then name, because
//! declaration order means nothing on the wire. Members and parameters keep their order: it
//! does mean something (positional encoding). A method or event with an effective `@allow`
//! rule has it on the line above, terms sorted. PROTOCOL.md §12 defines the text exactly, for
//! other implementations; `tests/vectors/canonical/` holds the cases both are held to.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::checked_spec::{Allow, AllowRule, CheckedSpec, Field, Type};

impl CheckedSpec {
    /// The spec in canonical form: parsing and checking it gives back this spec, less docs
    /// and with items reordered.
    pub fn canonical(&self) -> String {
        let mut out = format!("namespace {}\nclass {}\n", self.namespace, self.class);
        if let Some(socket) = &self.socket {
            let _ = writeln!(out, "socket {socket}");
        }
        // Names sort by their bytes (`str::cmp`), never case-insensitively (PROTOCOL.md §12).
        let mut models: Vec<_> = self.models.iter().collect();
        models.sort_by(|a, b| a.name.cmp(&b.name));
        for model in models {
            let _ = writeln!(out, "model {}{{", model.name);
            for field in &model.fields {
                let _ = writeln!(out, "    {}", FieldText(field));
            }
            out.push_str("}\n");
        }
        let mut exceptions: Vec<_> = self.exceptions.iter().map(|e| &e.name).collect();
        exceptions.sort();
        for exception in exceptions {
            let _ = writeln!(out, "exception {exception}");
        }
        let mut methods: Vec<_> = self.methods.iter().collect();
        methods.sort_by(|a, b| a.name.cmp(&b.name));
        for method in methods {
            write_allow(&mut out, method.allow.as_ref());
            let _ = write!(out, "method {}({})", method.name, Params(&method.params));
            if let Some(returns) = &method.returns {
                let _ = write!(out, ": {}", TypeText(returns));
            }
            out.push('\n');
        }
        let mut events: Vec<_> = self.events.iter().collect();
        events.sort_by(|a, b| a.name.cmp(&b.name));
        for event in events {
            write_allow(&mut out, event.allow.as_ref());
            let _ = writeln!(out, "event {}({})", event.name, Params(&event.params));
        }
        out
    }

    /// Lowercase hex SHA-256 of [`CheckedSpec::canonical`]: 64 characters that change exactly
    /// when the protocol does.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        digest
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }
}

/// The `@allow(…)` line of an item's effective rule, if it has one: the class default is
/// already applied, so canonical text never has one above `class`.
fn write_allow(out: &mut String, rule: Option<&AllowRule>) {
    if let Some(rule) = rule {
        let _ = writeln!(out, "@allow({rule})");
    }
}

impl std::fmt::Display for AllowRule {
    /// The terms in canonical order, as written between `@allow(` and `)`:
    /// `root, uid = 1000, group = "admin"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, term) in self.terms().iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            match term {
                Allow::Root => f.write_str("root")?,
                Allow::Owner => f.write_str("owner")?,
                Allow::Uid(uid) => write!(f, "uid = {uid}")?,
                Allow::Gid(gid) => write!(f, "gid = {gid}")?,
                Allow::Group(name) => write!(f, "group = \"{name}\"")?,
            }
        }
        Ok(())
    }
}

impl Type {
    /// The type in spec syntax: `**uint8`, `Student`.
    pub fn spec_text(&self) -> String {
        TypeText(self).to_string()
    }
}

/// A type in spec syntax: `**uint8`.
struct TypeText<'a>(&'a Type);

impl std::fmt::Display for TypeText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A loop, not recursion: the list depth is the spec author's to choose.
        let mut ty = self.0;
        loop {
            match ty {
                Type::List(inner) => {
                    f.write_str("*")?;
                    ty = inner;
                }
                Type::Primitive(primitive) => return f.write_str(primitive.keyword()),
                Type::Model(name) => return f.write_str(name),
            }
        }
    }
}

/// `name: type`.
struct FieldText<'a>(&'a Field);

impl std::fmt::Display for FieldText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.name, TypeText(&self.0.ty))
    }
}

/// `a: string, b: *Student`.
struct Params<'a>(&'a [Field]);

impl std::fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, field) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", FieldText(field))?;
        }
        Ok(())
    }
}
