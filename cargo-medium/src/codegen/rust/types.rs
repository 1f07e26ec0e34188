//! Spec types as Rust type text, in the two spellings the generator needs: fully qualified
//! for the protocol crate (immune to models named `String` or `Vec`), and plain prelude names
//! with a crate prefix for the user-owned daemon and app.
//!
//! `binary` is `Vec<u8>` where a serde attribute can make it msgpack bin (a model field, an
//! event field, a handler parameter); inside a list it is `serde_bytes::ByteBuf`, which is bin
//! by itself.

use super::names::ProtocolNames;
use crate::check::{Primitive, Type};

/// How type names are spelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeStyle<'a> {
    string: &'a str,
    vec: &'a str,
    byte_buf: &'a str,
    /// Prefix of model names, e.g. `crate::` or `protocol::`.
    model_prefix: &'a str,
    names: &'a ProtocolNames,
}

impl<'a> TypeStyle<'a> {
    /// For the generated protocol crate.
    pub(crate) fn generated(names: &'a ProtocolNames) -> TypeStyle<'a> {
        TypeStyle {
            string: "::std::string::String",
            vec: "::std::vec::Vec",
            byte_buf: "::medium_runtime::serde_bytes::ByteBuf",
            model_prefix: "crate::",
            names,
        }
    }

    /// For user code that refers to the protocol crate as `protocol`.
    pub(crate) fn user(names: &'a ProtocolNames) -> TypeStyle<'a> {
        TypeStyle {
            string: "String",
            vec: "Vec",
            byte_buf: "medium_runtime::serde_bytes::ByteBuf",
            model_prefix: "protocol::",
            names,
        }
    }

    /// A model's path in this style.
    pub(crate) fn model(&self, wire: &str) -> String {
        format!("{}{}", self.model_prefix, self.names.model(wire))
    }

    /// The owned type: model fields, event fields, handler parameters, return values.
    pub(crate) fn owned(&self, ty: &Type) -> String {
        match ty {
            Type::Primitive(Primitive::Binary) => format!("{}<u8>", self.vec),
            _ => self.element(ty),
        }
    }

    /// The owned type inside a list, where `binary` cannot carry a serde attribute.
    fn element(&self, ty: &Type) -> String {
        match ty {
            Type::Primitive(Primitive::Binary) => self.byte_buf.to_owned(),
            Type::Primitive(Primitive::String) => self.string.to_owned(),
            Type::Primitive(p) => scalar(*p).to_owned(),
            Type::Model(name) => self.model(name),
            Type::List(inner) => format!("{}<{}>", self.vec, self.element(inner)),
        }
    }

    /// The parameter type of a client method or event emitter: borrowed where the value is
    /// only serialized.
    pub(crate) fn borrowed(&self, ty: &Type) -> String {
        match ty {
            Type::Primitive(Primitive::Binary) => "&[u8]".to_owned(),
            Type::Primitive(Primitive::String) => "&str".to_owned(),
            Type::Primitive(p) => scalar(*p).to_owned(),
            Type::Model(name) => format!("&{}", self.model(name)),
            Type::List(inner) => format!("&[{}]", self.element(inner)),
        }
    }
}

/// Whether values of this type are plain `binary` (needing a serde_bytes wrapper or attribute).
pub(crate) fn is_binary(ty: &Type) -> bool {
    matches!(ty, Type::Primitive(Primitive::Binary))
}

/// Rust's name for a primitive that is neither `string` nor `binary`.
fn scalar(primitive: Primitive) -> &'static str {
    match primitive {
        Primitive::Boolean => "bool",
        Primitive::Int8 => "i8",
        Primitive::Uint8 => "u8",
        Primitive::Int16 => "i16",
        Primitive::Uint16 => "u16",
        Primitive::Int32 => "i32",
        Primitive::Uint32 => "u32",
        Primitive::Int64 => "i64",
        Primitive::Uint64 => "u64",
        Primitive::Float => "f32",
        Primitive::Double => "f64",
        // Handled by the callers, which spell them per position.
        Primitive::String => "::std::string::String",
        Primitive::Binary => "::std::vec::Vec<u8>",
    }
}
