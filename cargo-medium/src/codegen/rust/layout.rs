//! Line layout for emitted code, matching what `rustfmt` (default configuration, 2024 style)
//! produces, so generated files pass `cargo fmt --check` as written.
//!
//! Only the shapes whose length depends on the spec live here (signatures, argument lists,
//! method chains, match arms, doc comments); fixed text is written already formatted by the
//! emitters. The rules mirror rustfmt's `max_width` (100), `fn_call_width` (60) and
//! `chain_width` (60) and `struct_lit_width` (18) heuristics.

/// rustfmt's `max_width`: the longest line, indentation included (newline excluded).
pub(crate) const MAX_WIDTH: usize = 100;
const FN_CALL_WIDTH: usize = 60;
const CHAIN_WIDTH: usize = 60;
const STRUCT_LIT_WIDTH: usize = 18;
/// rustfmt's `short_array_element_width_threshold`.
const SHORT_ITEM_WIDTH: usize = 10;

/// `indent` levels of four spaces.
pub(crate) fn pad(indent: usize) -> String {
    " ".repeat(indent * 4)
}

/// A function signature: `{head}({params}) -> {ret}{tail}`, one line when it fits, else one
/// parameter per line (rustfmt's "tall" layout).
pub(crate) fn signature(
    indent: usize,
    head: &str,
    params: &[String],
    ret: Option<&str>,
    tail: &str,
) -> String {
    let ret = ret.map(|ret| format!(" -> {ret}")).unwrap_or_default();
    let pad = pad(indent);
    let one_line = format!("{pad}{head}({}){ret}{tail}", params.join(", "));
    if one_line.len() <= MAX_WIDTH {
        return one_line + "\n";
    }
    let mut out = format!("{pad}{head}(\n");
    for param in params {
        out += &format!("{pad}    {param},\n");
    }
    out + &return_line(indent, &ret, tail)
}

/// The `) -> Ret{tail}` line closing a tall signature; a return type too long for it is broken
/// inside its outer generics, like rustfmt does.
fn return_line(indent: usize, ret: &str, tail: &str) -> String {
    let pad = pad(indent);
    let line = format!("{pad}){ret}{tail}");
    if line.len() <= MAX_WIDTH {
        return line + "\n";
    }
    break_generics(indent, &format!("){ret}"), tail)
}

/// Whether a tall signature's `) -> Ret{tail}` line fits. rustfmt's layout of an overlong
/// `impl Trait + Bound` return type is not predictable, so callers mark such items
/// `#[rustfmt::skip]` instead.
pub(crate) fn return_fits(indent: usize, ret: &str, tail: &str) -> bool {
    pad(indent).len() + ") -> ".len() + ret.len() + tail.len() <= MAX_WIDTH
}

/// `{text}{tail}` where `text` ends with `Name<args>`: the args one per line.
fn break_generics(indent: usize, text: &str, tail: &str) -> String {
    let pad = pad(indent);
    let (Some(open), Some(inner)) = (text.find('<'), text.strip_suffix('>')) else {
        return format!("{pad}{text}{tail}\n");
    };
    let mut out = format!("{pad}{}\n", &text[..=open]);
    for arg in split_top_level(&inner[open + 1..]) {
        out += &format!("{pad}    {arg},\n");
    }
    out + &format!("{pad}>{tail}\n")
}

/// Splits generic arguments at the commas that are not nested in `<…>`.
fn split_top_level(args: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in args.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    parts
}

/// A struct or enum body: `{head} {}` when empty (rustfmt's way), else the given lines.
pub(crate) fn braces(head: &str, body: &str) -> String {
    if body.is_empty() {
        format!("{head} {{}}\n")
    } else {
        format!("{head} {{\n{body}}}\n")
    }
}

/// A struct literal with one field, `{path} {{ {field} }}`: inline when the field fits
/// rustfmt's struct literal width (18), else one field per line.
pub(crate) fn struct_literal(
    indent: usize,
    open: &str,
    path: &str,
    field: &str,
    close: &str,
) -> String {
    let pad = pad(indent);
    let one_line = format!("{pad}{open}{path} {{ {field} }}{close}");
    if field.len() <= STRUCT_LIT_WIDTH && one_line.len() <= MAX_WIDTH {
        return one_line + "\n";
    }
    format!("{pad}{open}{path} {{\n{pad}    {field},\n{pad}}}{close}\n")
}

/// A call or tuple: `{open}{items}){close}` (where `open` ends with `(`), inline when the
/// items fit rustfmt's call width, else one item per line. A one-item tuple keeps its comma.
pub(crate) fn call(
    indent: usize,
    open: &str,
    items: &[String],
    close: &str,
    tuple: bool,
) -> String {
    let pad = pad(indent);
    let mut inline = items.join(", ");
    if tuple && items.len() == 1 {
        inline.push(',');
    }
    let one_line = format!("{pad}{open}{inline}){close}");
    if items.is_empty() || (inline.len() <= FN_CALL_WIDTH && one_line.len() <= MAX_WIDTH) {
        return one_line + "\n";
    }
    let mut out = format!("{pad}{open}\n");
    if items
        .iter()
        .all(|item| item.len() <= SHORT_ITEM_WIDTH && is_simple(item))
    {
        // rustfmt's "mixed" layout: short simple items fill lines.
        let width = MAX_WIDTH - pad.len() - 4;
        let mut line = String::new();
        for item in items {
            if !line.is_empty() && line.len() + 1 + item.len() + 1 > width {
                out += &format!("{pad}    {line}\n");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line += item;
            line.push(',');
        }
        out += &format!("{pad}    {line}\n");
    } else {
        for item in items {
            out += &format!("{pad}    {item},\n");
        }
    }
    out + &format!("{pad}){close}\n")
}

/// What rustfmt counts as a simple expression, for the shapes emitters pass: a literal, or a
/// (borrowed) local with field accesses.
fn is_simple(item: &str) -> bool {
    let item = item.trim_start_matches('&');
    if item.starts_with('"') {
        return true;
    }
    !item.is_empty()
        && !item.starts_with('.')
        && item
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '#')
}

/// `{lead}{receiver}.{method}({args}).await{close}`: one line when the chain fits rustfmt's
/// chain width, else one chain element per line.
pub(crate) fn await_chain(
    indent: usize,
    lead: &str,
    receiver: &str,
    method: &str,
    args: &[String],
    close: &str,
) -> String {
    let lead_pad = pad(indent);
    let inline_args = args.join(", ");
    let chain = format!("{receiver}.{method}({inline_args}).await");
    let one_line = format!("{lead_pad}{lead}{chain}{close}");
    if chain.len() <= CHAIN_WIDTH
        && inline_args.len() <= FN_CALL_WIDTH
        && one_line.len() <= MAX_WIDTH
    {
        return one_line + "\n";
    }
    let inner = pad(indent + 1);
    let mut out = format!("{lead_pad}{lead}{receiver}\n");
    out += &call(indent + 1, &format!(".{method}("), args, "", false);
    out + &format!("{inner}.await{close}\n")
}

/// A match arm whose body is an expression: on the arm's line when it fits, else in a block.
pub(crate) fn arm(indent: usize, pattern: &str, body: &str) -> String {
    let pad = pad(indent);
    let one_line = format!("{pad}{pattern} => {body},");
    if one_line.len() <= MAX_WIDTH {
        return one_line + "\n";
    }
    format!("{pad}{pattern} => {{\n{pad}    {body}\n{pad}}}\n")
}

/// Doc comment lines (`///`) for a spec doc, without leading or trailing blank lines and
/// without trailing whitespace, which rustfmt would reject.
pub(crate) fn doc(indent: usize, doc: &[String]) -> String {
    let lines: Vec<&str> = doc.iter().map(|line| line.trim_end()).collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return String::new();
    };
    doc_text(indent, &lines[first..=last])
}

/// `///` lines for fixed or computed documentation text.
pub(crate) fn doc_text(indent: usize, lines: &[&str]) -> String {
    let pad = pad(indent);
    lines
        .iter()
        .map(|line| {
            if line.is_empty() {
                format!("{pad}///\n")
            } else {
                format!("{pad}/// {line}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_signature_stays_on_one_line() {
        let sig = signature(
            1,
            "pub fn get",
            &["&self".into(), "id: u8".into()],
            Some("u8"),
            " {",
        );
        assert_eq!(sig, "    pub fn get(&self, id: u8) -> u8 {\n");
    }

    #[test]
    fn long_signature_puts_each_parameter_on_its_own_line() {
        let params: Vec<String> = (0..6)
            .map(|i| format!("parameter_{i}: ::std::string::String"))
            .collect();
        let sig = signature(0, "fn f", &params, None, ";");
        assert!(sig.starts_with("fn f(\n    parameter_0: ::std::string::String,\n"));
        assert!(sig.ends_with("    parameter_5: ::std::string::String,\n);\n"));
    }

    #[test]
    fn too_long_return_type_breaks_inside_its_generics() {
        let ret = format!(
            "Result<::std::vec::Vec<{}>, rt::CallError<crate::E>>",
            "x".repeat(60)
        );
        let sig = signature(1, "pub fn f", &["&self".into()], Some(&ret), " {");
        assert!(sig.ends_with(&format!(
            "    ) -> Result<\n        ::std::vec::Vec<{}>,\n        rt::CallError<crate::E>,\n    > {{\n",
            "x".repeat(60)
        )));
    }

    #[test]
    fn short_simple_arguments_fill_lines() {
        let args: Vec<String> = (0..12).map(|i| format!("args.a{i}")).collect();
        let text = call(2, "let reply = f(", &args, ";", false);
        assert_eq!(
            text,
            "        let reply = f(\n            args.a0, args.a1, args.a2, args.a3, args.a4, args.a5, args.a6, args.a7, args.a8,\n            args.a9, args.a10, args.a11,\n        );\n"
        );
    }

    #[test]
    fn empty_body_closes_on_the_same_line() {
        assert_eq!(braces("pub struct Empty", ""), "pub struct Empty {}\n");
        assert_eq!(
            braces("pub struct One", "    a: u8,\n"),
            "pub struct One {\n    a: u8,\n}\n"
        );
    }

    #[test]
    fn short_struct_literal_stays_inline() {
        assert_eq!(
            struct_literal(0, "Err(", "E::A", "method: \"close\"", ")"),
            "Err(E::A { method: \"close\" })\n"
        );
        assert_eq!(
            struct_literal(0, "Err(", "E::A", "method: \"get_student\"", ")"),
            "Err(E::A {\n    method: \"get_student\",\n})\n"
        );
    }

    #[test]
    fn one_element_tuple_keeps_its_comma() {
        assert_eq!(
            call(2, "let args = (", &["id".into()], ";", true),
            "        let args = (id,);\n"
        );
    }

    #[test]
    fn call_arguments_wider_than_the_call_width_go_vertical() {
        let args: Vec<String> = (0..5).map(|i| format!("argument_number_{i}")).collect();
        let text = call(0, "f(", &args, ";", false);
        assert_eq!(text.lines().count(), 7);
    }

    #[test]
    fn long_chain_breaks_before_each_element() {
        let text = await_chain(
            1,
            "let result = ",
            "connection",
            "update_student",
            &["&protocol::Student::default()".into()],
            ";",
        );
        assert_eq!(
            text,
            "    let result = connection\n        .update_student(&protocol::Student::default())\n        .await;\n"
        );
    }

    #[test]
    fn doc_drops_blank_edges_and_trailing_spaces() {
        let doc = vec![
            String::new(),
            "First line.  ".into(),
            String::new(),
            "Second.".into(),
            String::new(),
        ];
        assert_eq!(doc_text(0, &["a"]), "/// a\n");
        assert_eq!(
            super::doc(1, &doc),
            "    /// First line.\n    ///\n    /// Second.\n"
        );
    }
}
