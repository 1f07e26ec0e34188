//! rustfmt's layout of a type too long for its line: a path's generic arguments go one per
//! line, block-indented, each laid out again in the width left there (rustfmt's
//! `rewrite_path` and its `<…>` overflow lists, which never let a path argument hang).
//!
//! Types arrive as the text `types.rs` and the emitters spell and are parsed back here.

use super::{MAX_WIDTH, spaces};

/// A type, as far as layout cares.
#[derive(Debug)]
enum Ty<'a> {
    /// `&T` or `&'a T`: the prefix, then the type.
    Ref(&'a str, Box<Ty<'a>>),
    /// `[T]`.
    Slice(Box<Ty<'a>>),
    /// `path<args>`, where `path` ends with the segment the arguments belong to.
    Generic(&'a str, Vec<Arg<'a>>),
    /// `impl A + B`: the bounds, each with its text.
    Impl(Vec<(&'a str, Ty<'a>)>),
    /// A path without arguments, or a type this module does not break.
    Atom,
}

/// A generic argument: a type, or an associated type binding (`Output = T`).
#[derive(Debug)]
struct Arg<'a> {
    /// `Output = ` or empty.
    binding: &'a str,
    text: &'a str,
    ty: Ty<'a>,
}

/// `text` laid out with its first line starting where `width` columns are left on the line,
/// in a block indented by `block` columns; `None` when even the broken layout does not fit
/// (rustfmt then gives up on the whole item and keeps it as written).
pub(crate) fn layout_type(text: &str, block: usize, width: usize) -> Option<String> {
    lay_out(&parse(text), text, block, width)
}

fn lay_out(ty: &Ty<'_>, text: &str, block: usize, width: usize) -> Option<String> {
    // References and slices always lay out what they hold, in less room: a slice's element
    // gets four columns less than the slice, even when it would fit in two less.
    if text.len() <= width && matches!(ty, Ty::Generic(..) | Ty::Atom) {
        return Some(text.to_owned());
    }
    match ty {
        Ty::Ref(prefix, inner) => {
            let inner_text = &text[prefix.len()..];
            lay_out(inner, inner_text, block, width.checked_sub(prefix.len())?)
                .map(|inner| format!("{prefix}{inner}"))
        }
        Ty::Slice(inner) => lay_out(
            inner,
            &text[1..text.len() - 1],
            block,
            width.checked_sub(4)?,
        )
        .map(|inner| format!("[{inner}]")),
        Ty::Generic(path, args) => {
            if path.len() > width {
                return None;
            }
            let inner = block + 4;
            let inner_width = MAX_WIDTH.checked_sub(inner + 1)?;
            let mut out = format!("{path}<\n");
            for arg in args {
                let width = inner_width.checked_sub(arg.binding.len())?;
                let laid = lay_out(&arg.ty, arg.text, inner, width)?;
                out += &format!("{}{}{laid},\n", spaces(inner), arg.binding);
            }
            Some(out + &spaces(block) + ">")
        }
        Ty::Impl(bounds) => {
            // Style 2024 lays the bounds out in the type's width, as if `impl ` took none of
            // it, each bound in all of it, and joins them with ` + `.
            let laid: Vec<String> = bounds
                .iter()
                .map(|(text, bound)| lay_out(bound, text, block, width))
                .collect::<Option<_>>()?;
            let joined = laid.join(" + ");
            if laid.len() == 1 || !joined.contains('\n') && joined.len() <= width {
                return Some(format!("impl {joined}"));
            }
            // Too long: a bound starts a new line unless the one before ends in brackets.
            let mut out = format!("impl {}", laid[0]);
            for pair in laid.windows(2) {
                if ends_in_brackets(&pair[0]) {
                    out += " + ";
                } else {
                    out += &format!("\n{}+ ", spaces(block));
                }
                out += &pair[1];
            }
            Some(out)
        }
        Ty::Atom => None,
    }
}

/// rustfmt's `last_line_extendable`: the last line holds only closing brackets.
fn ends_in_brackets(text: &str) -> bool {
    let last = text.rsplit('\n').next().unwrap_or_default();
    last.chars()
        .all(|c| matches!(c, '(' | ')' | ']' | '}' | '?' | '>') || c.is_whitespace())
}

fn parse(text: &str) -> Ty<'_> {
    if let Some(rest) = text.strip_prefix('&') {
        let prefix_len = match rest.strip_prefix('\'') {
            Some(lifetime) => 2 + lifetime.find(' ').map_or(lifetime.len(), |end| end + 1),
            None => 1,
        };
        return Ty::Ref(&text[..prefix_len], Box::new(parse(&text[prefix_len..])));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return Ty::Slice(Box::new(parse(inner)));
    }
    if let Some(bounds) = text.strip_prefix("impl ") {
        return Ty::Impl(
            split_top_level(bounds, '+')
                .into_iter()
                .map(|bound| (bound, parse(bound)))
                .collect(),
        );
    }
    if text.contains(' ') && !text.contains('<') {
        return Ty::Atom;
    }
    match (text.find('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) if !text[..open].contains(' ') => Ty::Generic(
            &text[..open],
            split_top_level(&inner[open + 1..], ',')
                .into_iter()
                .map(|arg| {
                    let binding = arg
                        .find(" = ")
                        .filter(|eq| !arg[..*eq].contains('<'))
                        .map_or("", |eq| &arg[..eq + 3]);
                    let text = &arg[binding.len()..];
                    Arg {
                        binding,
                        text,
                        ty: parse(text),
                    }
                })
                .collect(),
        ),
        _ => Ty::Atom,
    }
}

/// Splits generic arguments (or bounds) at the `separator`s that are not nested in `<…>`,
/// `(…)` or `[…]`.
pub(super) fn split_top_level(args: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            c if c == separator && depth == 0 => {
                parts.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::layout_type;

    const NESTED: &str = "::std::vec::Vec<::std::vec::Vec<::std::vec::Vec<crate::Student>>>";

    #[test]
    fn a_type_that_fits_stays_as_it_is() {
        assert_eq!(layout_type(NESTED, 4, 80).as_deref(), Some(NESTED));
    }

    #[test]
    fn a_type_too_long_puts_its_arguments_on_block_indented_lines() {
        assert_eq!(
            layout_type(NESTED, 4, 40).as_deref(),
            Some(
                "::std::vec::Vec<\n        ::std::vec::Vec<::std::vec::Vec<crate::Student>>,\n    >"
            )
        );
    }

    #[test]
    fn every_argument_of_a_broken_list_gets_its_own_line() {
        let ty = format!("Result<{NESTED}, rt::CallError<crate::Error>>");
        assert_eq!(
            layout_type(&ty, 4, 60).as_deref(),
            Some(
                format!("Result<\n        {NESTED},\n        rt::CallError<crate::Error>,\n    >")
                    .as_str()
            )
        );
    }

    #[test]
    fn slices_and_references_break_inside() {
        let ty = format!("&[{NESTED}]");
        let laid = layout_type(&ty, 8, 60).expect("fits broken");
        assert!(laid.starts_with("&[::std::vec::Vec<\n            ::std::vec::Vec<"));
        assert!(laid.ends_with(",\n        >]"));
    }

    #[test]
    fn a_path_longer_than_the_line_does_not_fit_at_all() {
        assert_eq!(layout_type("crate::AVeryLongModelName", 0, 10), None);
    }

    #[test]
    fn impl_bounds_too_long_together_break_as_rustfmt_2024_does() {
        let future = "future::Future<Output = Result<::std::vec::Vec<u8>>>";
        let ty = format!("impl {future} + marker::Send");
        // Fits: the width does not count `impl `.
        assert_eq!(
            layout_type(&ty, 4, ty.len() - 5).as_deref(),
            Some(ty.as_str())
        );
        // The first bound fits alone: the next one starts a line.
        assert_eq!(
            layout_type(&ty, 4, future.len()).as_deref(),
            Some(format!("impl {future}\n    + marker::Send").as_str())
        );
        // The first bound breaks: the next one follows its closing bracket.
        assert_eq!(
            layout_type(&ty, 4, 30).as_deref(),
            Some(
                "impl future::Future<\n        Output = Result<::std::vec::Vec<u8>>,\n    > + marker::Send"
            )
        );
    }
}
