//! Spec types as Rust types, in the two spellings the generator needs: fully qualified for the
//! protocol crate (immune to models named `String` or `Vec`), and plain prelude names with a
//! crate prefix for the user-owned daemon and app. One mapping, [`RustType`], printed as text
//! for templates and as tokens for the protocol crate.
//!
//! `binary` is `medium_runtime::Binary` (msgpack bin by itself, and received without a copy)
//! wherever a value is owned; a client method or event emitter borrows it as `&[u8]`. `fd` is
//! `medium_runtime::Fd`, borrowed as `&Fd`: sending duplicates the descriptor, so the caller
//! keeps theirs.

use std::fmt;

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt, format_ident, quote};

use super::names::ProtocolNames;
use crate::check::{Primitive, Type};

/// A Rust type, as the generator spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RustType {
    /// A path, maybe with a leading `::`: `u8`, `::std::string::String`, `crate::Student`.
    Path(String),
    /// A path with one generic argument: `Vec<T>`.
    Generic(String, Box<RustType>),
    /// `&T`.
    Ref(Box<RustType>),
    /// `[T]`.
    Slice(Box<RustType>),
}

impl RustType {
    fn path(path: &str) -> RustType {
        RustType::Path(path.to_owned())
    }

    fn reference(to: RustType) -> RustType {
        RustType::Ref(Box::new(to))
    }

    /// What a reference type refers to, or `None` for an owned type.
    pub(crate) fn referent(&self) -> Option<&RustType> {
        match self {
            RustType::Ref(to) => Some(to),
            _ => None,
        }
    }
}

impl fmt::Display for RustType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RustType::Path(path) => f.write_str(path),
            RustType::Generic(path, arg) => write!(f, "{path}<{arg}>"),
            RustType::Ref(to) => write!(f, "&{to}"),
            RustType::Slice(element) => write!(f, "[{element}]"),
        }
    }
}

impl ToTokens for RustType {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            RustType::Path(path) => tokens.append_all(path_tokens(path)),
            RustType::Generic(path, arg) => {
                let path = path_tokens(path);
                tokens.append_all(quote!(#path<#arg>));
            }
            RustType::Ref(to) => tokens.append_all(quote!(&#to)),
            RustType::Slice(element) => tokens.append_all(quote!([#element])),
        }
    }
}

/// `a::b::C` (or `::a::b::C`) as path tokens.
fn path_tokens(path: &str) -> TokenStream {
    let (leading, rest) = match path.strip_prefix("::") {
        Some(rest) => (quote!(::), rest),
        None => (TokenStream::new(), path),
    };
    let segments = rest.split("::").map(|segment| format_ident!("{}", segment));
    quote!(#leading #(#segments)::*)
}

/// How type names are spelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeStyle<'a> {
    string: &'a str,
    vec: &'a str,
    binary: &'a str,
    fd: &'a str,
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
            binary: "::medium_runtime::Binary",
            fd: "::medium_runtime::Fd",
            model_prefix: "crate::",
            names,
        }
    }

    /// For user code that refers to the protocol crate as `protocol`.
    pub(crate) fn user(names: &'a ProtocolNames) -> TypeStyle<'a> {
        TypeStyle {
            string: "String",
            vec: "Vec",
            binary: "medium_runtime::Binary",
            fd: "medium_runtime::Fd",
            model_prefix: "protocol::",
            names,
        }
    }

    /// A model's path in this style.
    pub(crate) fn model(&self, wire: &str) -> RustType {
        RustType::Path(format!("{}{}", self.model_prefix, self.names.model(wire)))
    }

    /// The owned type: model fields, event fields, handler parameters, return values, list
    /// elements.
    pub(crate) fn owned(&self, ty: &Type) -> RustType {
        match ty {
            Type::Primitive(Primitive::Binary) => RustType::path(self.binary),
            Type::Primitive(Primitive::String) => RustType::path(self.string),
            Type::Primitive(Primitive::Fd) => RustType::path(self.fd),
            Type::Primitive(p) => RustType::path(scalar(*p)),
            Type::Model(name) => self.model(name),
            Type::List(inner) => self.vec_of(self.owned(inner)),
        }
    }

    fn vec_of(&self, element: RustType) -> RustType {
        RustType::Generic(self.vec.to_owned(), Box::new(element))
    }

    /// The parameter type of a client method or event emitter: borrowed where the value is
    /// only serialized.
    pub(crate) fn borrowed(&self, ty: &Type) -> RustType {
        match ty {
            Type::Primitive(Primitive::Binary) => {
                RustType::reference(RustType::Slice(Box::new(RustType::path("u8"))))
            }
            Type::Primitive(Primitive::String) => RustType::reference(RustType::path("str")),
            Type::Primitive(Primitive::Fd) => RustType::reference(RustType::path(self.fd)),
            Type::Primitive(p) => RustType::path(scalar(*p)),
            Type::Model(name) => RustType::reference(self.model(name)),
            Type::List(inner) => RustType::reference(RustType::Slice(Box::new(self.owned(inner)))),
        }
    }
}

/// Whether values of this type are plain `binary` (borrowed as `&[u8]`, which needs a
/// serde_bytes wrapper to encode as bin).
pub(crate) fn is_binary(ty: &Type) -> bool {
    matches!(ty, Type::Primitive(Primitive::Binary))
}

/// Rust's name for a primitive that is neither `string`, `binary` nor `fd`.
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
        // The callers spell these per position and style; this is the generated spelling.
        Primitive::String => "::std::string::String",
        Primitive::Binary => "::medium_runtime::Binary",
        Primitive::Fd => "::medium_runtime::Fd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_text_and_as_tokens_alike() {
        let element = RustType::path("::medium_runtime::Binary");
        let ty = RustType::reference(RustType::Slice(Box::new(RustType::Generic(
            "::std::vec::Vec".to_owned(),
            Box::new(element),
        ))));
        let text = "&[::std::vec::Vec<::medium_runtime::Binary>]";
        assert_eq!(ty.to_string(), text);
        // Token printing spaces punctuation by how it was made; the tokens themselves agree.
        let tokens = ty.to_token_stream().to_string().replace(' ', "");
        assert_eq!(tokens, text);
    }
}
