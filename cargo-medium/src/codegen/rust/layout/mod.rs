//! Line layout for emitted code, matching what `rustfmt` (default configuration, 2024 style)
//! produces, so generated files pass `cargo fmt --check` as written.
//!
//! Only the shapes whose length depends on the spec live here (signatures, fields, `let`
//! statements, argument lists, method chains, match arms, doc comments); fixed text is written
//! already formatted by the emitters. The rules follow rustfmt's own algorithm for these
//! shapes (its `max_width` 100, `fn_call_width` 60, `chain_width` 60 and `struct_lit_width` 18
//! heuristics, its choice between breaking a right-hand side in place and moving it to the
//! next line), with types in [`ty`] and expressions in [`expr`]. Where rustfmt cannot fit an
//! item at all it keeps the item as written, so any layout passes there.

mod expr;
mod ty;

pub(crate) use expr::Expr;
use ty::layout_type;

/// rustfmt's `max_width`: the longest line, indentation included (newline excluded).
pub(crate) const MAX_WIDTH: usize = 100;
const FN_CALL_WIDTH: usize = 60;
const CHAIN_WIDTH: usize = 60;
const STRUCT_LIT_WIDTH: usize = 18;
/// rustfmt's `short_array_element_width_threshold`.
const SHORT_ITEM_WIDTH: usize = 10;

/// `indent` levels of four spaces.
pub(crate) fn pad(indent: usize) -> String {
    spaces(indent * 4)
}

/// `columns` spaces.
fn spaces(columns: usize) -> String {
    " ".repeat(columns)
}

/// A function signature: `{head}({params}) -> {ret}{tail}`, one line when it fits, else one
/// parameter per line (rustfmt's "tall" layout), where a parameter's type breaks inside its
/// generics when it must.
///
/// As rustfmt does, the return type is laid out first, as if it started at the signature's
/// indentation; a return type that fits there stays on one line after `)`, even past the
/// line's end, and then `{` moves to a line of its own.
pub(crate) fn signature(
    indent: usize,
    head: &str,
    params: &[String],
    ret: Option<&str>,
    tail: &str,
) -> String {
    let col = indent * 4;
    let pad = pad(indent);
    let arrow = ret.map(|ret| {
        // A return type that breaks is laid out again after `) `, which rustfmt measures
        // from the indentation while the line already includes it.
        let laid = MAX_WIDTH
            .checked_sub(col + 3)
            .and_then(|width| layout_type(ret, col, width))
            .filter(|laid| !laid.contains('\n'))
            .or_else(|| {
                let width = MAX_WIDTH.checked_sub(2 * col + ") -> ".len())?;
                layout_type(ret, col, width)
            })
            // When it does not fit even broken, rustfmt keeps the item as written.
            .unwrap_or_else(|| ret.to_owned());
        format!(" -> {laid}")
    });
    let arrow = arrow.unwrap_or_default();
    let one_line = format!("{pad}{head}({}){arrow}{tail}", params.join(", "));
    let head = generics(col, head);
    if !arrow.contains('\n') && !head.contains('\n') && one_line.len() <= MAX_WIDTH {
        return one_line + "\n";
    }
    let inner = col + 4;
    let mut out = format!("{pad}{head}(\n");
    for param in params {
        out += &format!("{}{},\n", spaces(inner), typed(param, inner, 1));
    }
    let close = format!("{pad}){arrow}");
    let last_line = close.rsplit('\n').next().unwrap_or_default();
    // rustfmt measures the brace against the width left after the indentation, while the
    // line already includes it.
    if tail == " {" && last_line.len() + tail.len() > MAX_WIDTH - col {
        format!("{out}{close}\n{pad}{{\n")
    } else {
        format!("{out}{close}{tail}\n")
    }
}

/// A function's head, `fn name<P: Bound>`, with its generic parameters one per line when the
/// head and `() {` do not fit on the line (rustfmt then also puts every parameter on its own
/// line).
fn generics(col: usize, head: &str) -> String {
    let Some((name, params)) = head.split_once('<') else {
        return head.to_owned();
    };
    if col + head.len() + "() {".len() <= MAX_WIDTH {
        return head.to_owned();
    }
    let params = params.strip_suffix('>').unwrap_or(params);
    let lines: String = ty::split_top_level(params, ',')
        .into_iter()
        .map(|param| format!("{}{},\n", spaces(col + 4), typed(param, col + 4, 1)))
        .collect();
    format!("{name}<\n{lines}{}>", spaces(col))
}

/// `name: Type` (or `&self`) starting at column `col` with `tail` columns reserved after it:
/// the type broken inside its generics when the line is too short for it.
fn typed(param: &str, col: usize, tail: usize) -> String {
    let Some((name, ty)) = param.split_once(": ") else {
        return param.to_owned();
    };
    MAX_WIDTH
        .checked_sub(col + tail + name.len() + 2)
        .and_then(|width| layout_type(ty, col, width))
        .map_or_else(|| param.to_owned(), |ty| format!("{name}: {ty}"))
}

/// A struct field, `{prefix} {ty},` (`prefix` like `pub name:`), laid out as rustfmt lays
/// out a right-hand side: see [`assign`].
pub(crate) fn field(indent: usize, prefix: &str, ty: &str) -> String {
    assign(indent, prefix, ",", |block, width| {
        layout_type(ty, block, width)
    })
}

/// A tuple struct's field on its own line, its type broken inside its generics when it must.
pub(crate) fn tuple_field(indent: usize, ty: &str) -> String {
    let col = indent * 4;
    let laid = MAX_WIDTH
        .checked_sub(col + 1)
        .and_then(|width| layout_type(ty, col, width))
        .unwrap_or_else(|| ty.to_owned());
    format!("{}{laid},\n", pad(indent))
}

/// `{lhs} {rhs}{tail}` (a `let` statement, a struct field), laid out the way rustfmt's
/// `rewrite_assign_rhs` chooses: on the same line when the right-hand side fits there; else
/// broken on the same line or moved, block-indented, to the next line, whichever reads
/// better by rustfmt's measure (`prefer_next_line`). `rhs` lays out the right-hand side with
/// its block indentation and the columns left on its first line.
pub(crate) fn assign(
    indent: usize,
    lhs: &str,
    tail: &str,
    rhs: impl Fn(usize, usize) -> Option<String>,
) -> String {
    let col = indent * 4;
    let pad = pad(indent);
    let same_line = MAX_WIDTH
        .checked_sub(col + tail.len() + lhs.len() + 1)
        .and_then(|width| rhs(col, width));
    let fits = |text: &&String| {
        !text.contains('\n') && col + lhs.len() + 1 + text.len() + tail.len() <= MAX_WIDTH
    };
    if let Some(text) = same_line.as_ref().filter(fits) {
        return format!("{pad}{lhs} {text}{tail}\n");
    }
    let next_line = MAX_WIDTH
        .checked_sub(col + 4 + tail.len())
        .and_then(|width| rhs(col + 4, width));
    match (same_line, next_line) {
        (Some(same), Some(next)) if !prefer_next_line(&same, &next) => {
            format!("{pad}{lhs} {same}{tail}\n")
        }
        (_, Some(next)) => format!("{pad}{lhs}\n{}{next}{tail}\n", spaces(col + 4)),
        (Some(same), None) => format!("{pad}{lhs} {same}{tail}\n"),
        // rustfmt keeps what it cannot fit as written.
        (None, None) => format!(
            "{pad}{lhs} {}{tail}\n",
            rhs(col, usize::MAX).unwrap_or_default()
        ),
    }
}

/// rustfmt's `prefer_next_line`: the next line wins when the right-hand side fits there on
/// one line, saves more than one line, or avoids opening a bracket at the end of the first.
fn prefer_next_line(same: &str, next: &str) -> bool {
    let newlines = |text: &str| text.matches('\n').count();
    let opens = |text: &str, c: char| text.lines().next().is_some_and(|l| l.ends_with(c));
    !next.contains('\n')
        || newlines(same) > newlines(next) + 1
        || ['(', '{', '[']
            .iter()
            .any(|&c| opens(same, c) && !opens(next, c))
}

/// An expression statement or tail expression, `{expr}{tail}` on its own line(s).
pub(crate) fn statement(indent: usize, expr: &Expr, tail: &str) -> String {
    let col = indent * 4;
    let text = MAX_WIDTH
        .checked_sub(col + tail.len())
        .and_then(|width| expr.layout(col, width))
        .or_else(|| expr.layout(col, usize::MAX))
        .unwrap_or_default();
    format!("{}{text}{tail}\n", pad(indent))
}

/// `let {name} = {expr};`.
pub(crate) fn let_statement(indent: usize, name: &str, expr: &Expr) -> String {
    assign(indent, &format!("let {name} ="), ";", |block, width| {
        expr.layout(block, width)
    })
}

/// `{head} {` opening a block, the brace on a line of its own when it does not fit after the
/// head (rustfmt's rule for `match`, `if` and function heads alike).
pub(crate) fn open_block(indent: usize, head: &str) -> String {
    let pad = pad(indent);
    let line = format!("{pad}{head} {{");
    if line.len() <= MAX_WIDTH {
        line + "\n"
    } else {
        format!("{pad}{head}\n{pad}{{\n")
    }
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
    out += &statement(indent + 1, &Expr::call(format!(".{method}"), args), "");
    out + &format!("{inner}.await{close}\n")
}

/// A match arm, `{pattern} => {body},`, laid out as rustfmt's `rewrite_match_body` does: on
/// the arm's line when the body fits there; else in a block on the next lines, unless the
/// body is a call that reads as well broken on the arm's line.
pub(crate) fn arm(indent: usize, pattern: &str, body: &Expr) -> String {
    let col = indent * 4;
    let pad = pad(indent);
    let same_width = MAX_WIDTH.checked_sub(col + pattern.len() + " => ".len() + 1);
    let same_line = same_width.and_then(|width| body.layout(col, width));
    let fits = |text: &&String| !text.contains('\n') && text.len() <= same_width.unwrap_or(0);
    if let Some(text) = same_line.as_ref().filter(fits) {
        return format!("{pad}{pattern} => {text},\n");
    }
    let next_line = MAX_WIDTH
        .checked_sub(col + 4)
        .and_then(|width| body.layout(col + 4, width));
    let in_block = |next: &str| format!("{pad}{pattern} => {{\n{pad}    {next}\n{pad}}}\n");
    let on_arm_line = |same: &str| format!("{pad}{pattern} => {same},\n");
    let extends = matches!(body, Expr::Call { .. } | Expr::Method { .. });
    match (same_line, next_line) {
        (Some(same), Some(next)) if prefer_next_line(&same, &next) => in_block(&next),
        (Some(same), _)
            if extends && same.lines().next().map_or(0, str::len) <= same_width.unwrap_or(0) =>
        {
            on_arm_line(&same)
        }
        (Some(same), Some(next)) if same.contains('\n') => in_block(&next),
        (None, Some(next)) => in_block(&next),
        (Some(same), _) => on_arm_line(&same),
        // rustfmt keeps what it cannot fit as written.
        (None, None) => on_arm_line(&body.layout(col, usize::MAX).unwrap_or_default()),
    }
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
    fn a_return_type_that_fits_from_the_indentation_stays_whole_and_pushes_the_brace_down() {
        let ret = format!(
            "Result<::std::vec::Vec<u8>, rt::CallError<crate::{}>>",
            "E".repeat(40)
        );
        let params = ["&self".to_owned(), format!("argument: {}", "u".repeat(70))];
        let sig = signature(1, "pub fn f", &params, Some(&ret), " {");
        assert!(sig.ends_with(&format!("    ) -> {ret}\n    {{\n")));
    }

    #[test]
    fn generic_parameters_too_long_for_the_head_go_one_per_line_with_the_parameters() {
        let head = format!("fn handle_{}<S: crate::Service>", "m".repeat(70));
        let params = ["service: Arc<S>".to_owned(), "call: rt::Call".to_owned()];
        let sig = signature(0, &head, &params, Some("Reply"), " {");
        assert_eq!(
            sig,
            format!(
                "fn handle_{}<\n    S: crate::Service,\n>(\n    service: Arc<S>,\n    call: rt::Call,\n) -> Reply {{\n",
                "m".repeat(70)
            )
        );
    }

    #[test]
    fn a_field_too_long_for_its_line_moves_its_type_to_the_next() {
        let ty = "::std::vec::Vec<::std::vec::Vec<::medium_runtime::serde_bytes::ByteBuf>>";
        let name = "a_rather_long_field_name_from_the_spec";
        assert_eq!(
            field(1, &format!("pub {name}:"), ty),
            format!("    pub {name}:\n        {ty},\n")
        );
    }

    #[test]
    fn a_field_whose_type_fits_nowhere_breaks_the_type_in_place() {
        let ty = format!(
            "::std::vec::Vec<::std::vec::Vec<crate::{}>>",
            "M".repeat(70)
        );
        let text = field(3, "x:", &ty);
        assert!(
            text.starts_with("            x: ::std::vec::Vec<\n                ::std::vec::Vec<")
        );
        assert!(text.ends_with(">,\n            >,\n"));
    }

    #[test]
    fn a_let_whose_call_fits_on_the_next_line_moves_there() {
        let callee = format!("<S as crate::{}>::method", "S".repeat(24));
        let call = Expr::call(
            callee.clone(),
            &[
                "&service".into(),
                "&cx".into(),
                "args.a_long_argument".into(),
            ],
        );
        assert_eq!(
            let_statement(2, "reply", &call),
            format!(
                "        let reply =\n            {callee}(&service, &cx, args.a_long_argument);\n"
            )
        );
    }

    #[test]
    fn an_arm_too_long_for_its_line_gets_a_block() {
        let body = Expr::call(
            "Some",
            &[format!("handle_{}(service, call)", "x".repeat(40))],
        );
        let pattern = format!("\"{}\"", "p".repeat(30));
        let text = arm(3, &pattern, &body);
        assert!(text.starts_with(&format!(
            "            {pattern} => {{\n                Some("
        )));
        assert!(text.ends_with("\n            }\n"));
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
