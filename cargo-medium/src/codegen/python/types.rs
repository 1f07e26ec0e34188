//! Spec types in Python: the annotation users see (`list[Student]`) and the runtime type
//! descriptor that checks and converts values on the wire (`_medium.ListOf(_model_Student)`).

use crate::check::{Primitive, Type};

use super::names::PythonNames;

/// The type annotation for `ty`.
pub(super) fn annotation(ty: &Type, names: &PythonNames) -> String {
    match ty {
        Type::Primitive(primitive) => match primitive {
            Primitive::Boolean => "bool",
            Primitive::Float | Primitive::Double => "float",
            Primitive::String => "str",
            Primitive::Binary => "bytes",
            // What arrives; sending also takes a file or a descriptor number (PROTOCOL.md §3.1).
            Primitive::Fd => "Fd",
            _ => "int",
        }
        .to_owned(),
        Type::Model(name) => names.ty(name).to_owned(),
        Type::List(item) => format!("list[{}]", annotation(item, names)),
    }
}

/// The runtime descriptor expression for `ty`.
pub(super) fn descriptor(ty: &Type, names: &PythonNames) -> String {
    match ty {
        Type::Primitive(primitive) => {
            format!("_medium.{}", primitive.keyword().to_ascii_uppercase())
        }
        Type::Model(name) => model_descriptor(names.ty(name)),
        Type::List(item) => format!("_medium.ListOf({})", descriptor(item, names)),
    }
}

/// The module-level variable holding the descriptor of the model class `class`.
pub(super) fn model_descriptor(class: &str) -> String {
    format!("_model_{class}")
}
