//! `src/exceptions.rs` of the protocol crate: the exception enum and its wire conversion.

use super::Generator;
use crate::codegen::rust::layout::{Expr, arm, braces};

impl Generator<'_> {
    pub(super) fn exceptions_rs(&self) -> String {
        let error = &self.names.error;
        let mut out = self.header();
        out += &format!("//! The spec's exceptions, as one enum: [`{error}`].\n");
        out += "\nuse ::core::fmt;\n\nuse ::medium_runtime as rt;\n\n";
        out += &self.doc_or(
            0,
            &[],
            &format!(
                "An exception a `{}` method raised, with the daemon's message.",
                self.spec.class
            ),
        );
        out += "#[derive(Debug, Clone, PartialEq, Eq)]\n";
        let mut variants = String::new();
        for (exception, name) in self.spec.exceptions.iter().zip(&self.names.exceptions) {
            variants += &self.doc_or(
                1,
                &exception.doc,
                &format!("The `{}` exception.", name.wire),
            );
            variants += &format!("    {}(::std::string::String),\n", name.rust);
        }
        out += &braces(&format!("pub enum {error}"), &variants);
        out += "\n";

        out += &format!("impl {error} {{\n");
        out += "    /// The exception's name in the spec.\n";
        out += "    pub fn name(&self) -> &'static str {\n";
        out += &self.exception_match(|pattern, wire| {
            let wire = Expr::atom(format!("\"{wire}\""));
            arm(3, &format!("Self::{pattern}(_)"), &wire)
        });
        out += "    }\n\n";
        out += "    /// The message the daemon gave.\n";
        out += "    pub fn message(&self) -> &str {\n";
        out += &self.exception_match(|pattern, _| {
            arm(
                3,
                &format!("Self::{pattern}(message)"),
                &Expr::atom("message"),
            )
        });
        out += "    }\n}\n\n";

        out += &format!("impl fmt::Display for {error} {{\n");
        out += "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n";
        out += "        let message = self.message();\n";
        out += "        if message.is_empty() {\n";
        out += "            f.write_str(self.name())\n";
        out += "        } else {\n";
        out += "            write!(f, \"{}: {message}\", self.name())\n";
        out += "        }\n    }\n}\n\n";
        out += &format!("impl ::std::error::Error for {error} {{}}\n\n");

        out += &format!("impl rt::ExceptionSet for {error} {{\n");
        out += "    fn to_remote(&self) -> rt::RemoteException {\n";
        out += "        rt::RemoteException {\n";
        out += "            name: self.name().into(),\n";
        out += "            message: self.message().into(),\n";
        out += "        }\n    }\n\n";
        out += "    fn from_remote(exception: rt::RemoteException) -> Result<Self, rt::RemoteException> {\n";
        if self.spec.exceptions.is_empty() {
            out += "        Err(exception)\n";
        } else {
            out += "        match exception.name.as_str() {\n";
            for name in &self.names.exceptions {
                let variant = Expr::call(
                    format!("Self::{}", name.rust),
                    &["exception.message".to_owned()],
                );
                let body = Expr::Call {
                    callee: "Ok".to_owned(),
                    args: vec![variant],
                };
                out += &arm(3, &format!("\"{}\"", name.wire), &body);
            }
            out += "            _ => Err(exception),\n";
            out += "        }\n";
        }
        out += "    }\n}\n";
        out
    }

    /// `match self { … }` over every exception, or `match *self {}` when there are none.
    fn exception_match(&self, arm_for: impl Fn(&str, &str) -> String) -> String {
        if self.names.exceptions.is_empty() {
            return "        match *self {}\n".to_owned();
        }
        let mut out = "        match self {\n".to_owned();
        for name in &self.names.exceptions {
            out += &arm_for(&name.rust, &name.wire);
        }
        out + "        }\n"
    }
}
