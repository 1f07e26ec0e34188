//! [`rust_file`]: the text of a generated Rust file, laid out by prettyplease.
//!
//! prettyplease puts no blank lines between items; this adds them where a person would (between
//! top-level items, except within a run of `use`s, and between the members of an `impl` or
//! `trait`), working on whole items so nothing inside a body is ever touched.

use proc_macro2::TokenStream;
use syn::{File, Item};

/// The `header` line(s), then `tokens` (a whole file: inner attributes and items) laid out.
///
/// # Panics
/// When `tokens` are not a Rust file: the emitters build them from checked names, so that is
/// a bug in an emitter, never a user error.
pub(super) fn rust_file(header: &str, tokens: TokenStream) -> String {
    let file: File = syn::parse2(tokens)
        .unwrap_or_else(|err| panic!("an emitter built tokens that are not a Rust file: {err}"));
    let mut out = header.to_owned();
    out += &prettyplease::unparse(&File {
        shebang: None,
        attrs: file.attrs,
        items: Vec::new(),
    });
    let mut previous: Option<&Item> = None;
    for item in &file.items {
        let in_use_run = matches!((previous, item), (Some(Item::Use(_)), Item::Use(_)));
        if !in_use_run {
            out.push('\n');
        }
        let text = prettyplease::unparse(&File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![item.clone()],
        });
        match item {
            Item::Impl(_) | Item::Trait(_) => out += &space_members(&text),
            _ => out += &text,
        }
        previous = Some(item);
    }
    out
}

/// An `impl` or `trait` item's text with a blank line after each member: a member ends on a
/// line of the members' indentation (not a comment) that closes a body (`}`) or a
/// declaration (`…;`).
fn space_members(item: &str) -> String {
    const MEMBER_INDENT: &str = "    ";
    let lines: Vec<&str> = item.lines().collect();
    let mut out = String::with_capacity(item.len() + 64);
    for (index, line) in lines.iter().enumerate() {
        out += line;
        out.push('\n');
        let member_ends = line
            .strip_prefix(MEMBER_INDENT)
            .filter(|rest| !rest.starts_with(' ') && !rest.starts_with("//"))
            .is_some_and(|rest| rest == "}" || rest.ends_with(';'));
        let item_ends_next = lines.get(index + 1).is_none_or(|next| *next == "}");
        if member_ends && !item_ends_next {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn items_and_members_are_separated_by_blank_lines_and_uses_are_grouped() {
        let tokens = quote! {
            //! Docs.
            use a::b;
            use c::d;
            struct S;
            impl S {
                const N: u8 = 1;
                fn f(&self) { if true { g(); } h(); }
                fn i(&self) {}
            }
            trait T {
                /// Docs; with a semicolon;
                fn j(&self);
                fn k(&self);
            }
        };
        let expected = "// header\n\
            //! Docs.\n\
            \n\
            use a::b;\n\
            use c::d;\n\
            \n\
            struct S;\n\
            \n\
            impl S {\n    const N: u8 = 1;\n\n    fn f(&self) {\n        if true {\n            g();\n        }\n        h();\n    }\n\n    fn i(&self) {}\n}\n\
            \n\
            trait T {\n    /// Docs; with a semicolon;\n    fn j(&self);\n\n    fn k(&self);\n}\n";
        assert_eq!(rust_file("// header\n", tokens), expected);
    }
}
