//! rustfmt's layout of the expressions emitters build from spec names: calls (and tuples) of
//! simple arguments, calls nested in a call, and a one-method chain. Mirrors rustfmt's
//! `overflow` lists: arguments inline within `fn_call_width`, else one per line, or filling
//! lines when all are short and simple; a call's only (or last) argument may itself break
//! ("overflow") while the call stays open on the first line.

use super::{FN_CALL_WIDTH, MAX_WIDTH, SHORT_ITEM_WIDTH, spaces};

/// An expression whose layout depends on its length.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A literal, a path, a field access or a borrow of one: never broken.
    Atom(String),
    /// `callee(args)`; a tuple has an empty callee and keeps the comma of a single element.
    Call { callee: String, args: Vec<Expr> },
    /// `receiver.method()`: a chain of one call without arguments.
    Method { receiver: String, method: String },
}

/// How a list of arguments is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tactic {
    Horizontal,
    Vertical,
    /// Short simple arguments filling lines.
    Mixed,
}

impl Expr {
    pub(crate) fn atom(text: impl Into<String>) -> Expr {
        Expr::Atom(text.into())
    }

    /// A call of `callee` with atom arguments.
    pub(crate) fn call(callee: impl Into<String>, args: &[String]) -> Expr {
        Expr::Call {
            callee: callee.into(),
            args: args.iter().map(Expr::atom).collect(),
        }
    }

    /// The expression on one line.
    fn flat(&self) -> String {
        match self {
            Expr::Atom(text) => text.clone(),
            Expr::Call { callee, args } => {
                let mut inner: Vec<String> = args.iter().map(Expr::flat).collect();
                if callee.is_empty() && args.len() == 1 {
                    inner[0].push(',');
                }
                format!("{callee}({})", inner.join(", "))
            }
            Expr::Method { receiver, method } => format!("{receiver}.{method}()"),
        }
    }

    /// Whether rustfmt lets this expression, as the last of `count` arguments, start on the
    /// line of the call and break there (`can_be_overflowed_expr`).
    fn can_overflow(&self, count: usize) -> bool {
        matches!(self, Expr::Call { .. } | Expr::Method { .. }) && count == 1
    }

    /// rustfmt's `is_simple_expr`, for the atoms emitters pass: a literal, or a (borrowed)
    /// local with field accesses; not a longer path, a call or an array (`&[]`). Only simple
    /// arguments may share lines in the "mixed" layout.
    fn is_simple(&self) -> bool {
        let Expr::Atom(text) = self else {
            return false;
        };
        let text = text.trim_start_matches('&');
        text.starts_with('"')
            || !text.is_empty()
                && !text.starts_with('.')
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '#'))
    }

    /// The expression laid out with `width` columns left on its first line, in a block
    /// indented by `block` columns; `None` when it cannot fit (rustfmt then gives up on the
    /// enclosing item and keeps it as written).
    pub(crate) fn layout(&self, block: usize, width: usize) -> Option<String> {
        match self {
            // Style 2024 keeps a string literal as it is, whatever its length.
            Expr::Atom(text) if text.starts_with('"') => Some(text.clone()),
            Expr::Atom(text) => (text.len() <= width).then(|| text.clone()),
            Expr::Method { receiver, method } => {
                let flat = self.flat();
                if flat.len() <= width {
                    return Some(flat);
                }
                Some(format!("{receiver}\n{}.{method}()", spaces(block + 4)))
            }
            Expr::Call { callee, args } => call(callee, args, block, width),
        }
    }
}

/// rustfmt's `overflow::Context` for `callee(args)`.
fn call(callee: &str, args: &[Expr], block: usize, width: usize) -> Option<String> {
    let tuple_comma = callee.is_empty() && args.len() == 1;
    // The callee is laid out first, in the whole width.
    if callee.len() > width {
        return None;
    }
    if args.is_empty() {
        return (callee.len() + 2 <= width).then(|| format!("{callee}()"));
    }
    let one_line_width = width.saturating_sub(callee.len() + 2);
    let last_width = width.saturating_sub(callee.len() + 2);
    let nested = block + 4;
    let nested_width = MAX_WIDTH.checked_sub(nested + 1)?;
    let mut items: Vec<Option<String>> = args
        .iter()
        .map(|arg| arg.layout(nested, nested_width))
        .collect();
    let last = args.len() - 1;

    // The last argument may stay on the call's line and break there ("overflow"); a lone
    // argument of a callee shorter than a tab always may.
    let overflow = (args.len() == 1 && callee.len() < 4) || args[last].can_overflow(args.len());
    let placeholder = if overflow {
        let nested_call = matches!(args[last], Expr::Call { .. });
        let shape_width = if args.len() == 1 && !nested_call {
            Some(last_width)
        } else {
            let before: usize = items[..last]
                .iter()
                .map(|item| item.as_ref().map_or(0, String::len) + 2)
                .sum();
            last_width.min(FN_CALL_WIDTH).checked_sub(before)
        };
        shape_width.and_then(|w| args[last].layout(block, w))
    } else {
        None
    };
    let saved_last = items[last].clone();
    if let Some(placeholder) = &placeholder {
        items[last] = placeholder.lines().next().map(str::to_owned);
    }
    let tactic = horizontal_or_vertical(&items, one_line_width.min(FN_CALL_WIDTH));
    let tactic = match (overflow, tactic, &placeholder) {
        (true, Tactic::Horizontal, Some(overflowed)) => {
            items[last] = if args.len() == 1 && overflowed.matches('\n').count() == 1 {
                saved_last
                    .filter(|nested| !nested.contains('\n'))
                    .or_else(|| Some(overflowed.clone()))
            } else {
                Some(overflowed.clone())
            };
            Tactic::Horizontal
        }
        _ => {
            items[last] = saved_last;
            let single = items[last].as_deref();
            if args.len() == 1
                && one_line_width != 0
                && single.is_some_and(|item| !item.contains('\n') && item.len() <= one_line_width)
            {
                Tactic::Horizontal
            } else {
                match horizontal_or_vertical(&items, one_line_width.min(FN_CALL_WIDTH)) {
                    Tactic::Vertical
                        if args.iter().all(Expr::is_simple)
                            && items.iter().all(|item| {
                                item.as_ref().is_some_and(|i| i.len() <= SHORT_ITEM_WIDTH)
                            }) =>
                    {
                        Tactic::Mixed
                    }
                    tactic => tactic,
                }
            }
        }
    };
    let items: Vec<String> = items.into_iter().collect::<Option<_>>()?;
    let (open, close) = (format!("{callee}("), format!("\n{})", spaces(block)));
    Some(match tactic {
        Tactic::Horizontal => {
            let comma = if tuple_comma { "," } else { "" };
            format!("{open}{}{comma})", items.join(", "))
        }
        Tactic::Vertical => {
            let lines: String = items
                .iter()
                .map(|item| format!("\n{}{item},", spaces(nested)))
                .collect();
            format!("{open}{lines}{close}")
        }
        Tactic::Mixed => {
            let mut out = open;
            let mut line = String::new();
            for item in &items {
                if !line.is_empty() && line.len() + 1 + item.len() + 1 > nested_width + 1 {
                    out += &format!("\n{}{line}", spaces(nested));
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line += item;
                line.push(',');
            }
            out + &format!("\n{}{line}{close}", spaces(nested))
        }
    })
}

/// rustfmt's `definitive_tactic` for `LimitedHorizontalVertical`: one line when every item is
/// one line and together they fit `limit`.
fn horizontal_or_vertical(items: &[Option<String>], limit: usize) -> Tactic {
    let widths: Option<Vec<usize>> = items
        .iter()
        .map(|item| item.as_ref().filter(|i| !i.contains('\n')).map(String::len))
        .collect();
    match widths {
        Some(widths) if widths.iter().sum::<usize>() + 2 * (widths.len() - 1) <= limit => {
            Tactic::Horizontal
        }
        _ => Tactic::Vertical,
    }
}

#[cfg(test)]
mod tests {
    use super::Expr;

    #[test]
    fn short_calls_stay_on_one_line() {
        let call = Expr::call("f", &["a".into(), "b".into()]);
        assert_eq!(call.layout(0, 100).as_deref(), Some("f(a, b)"));
    }

    #[test]
    fn arguments_wider_than_the_call_width_go_one_per_line() {
        let args: Vec<String> = (0..5).map(|i| format!("argument_number_{i}")).collect();
        let laid = Expr::call("f", &args).layout(4, 90).expect("fits");
        assert_eq!(laid.lines().count(), 7);
        assert!(laid.ends_with(",\n    )"));
    }

    #[test]
    fn short_simple_arguments_fill_lines() {
        let args: Vec<String> = (0..12).map(|i| format!("args.a{i}")).collect();
        assert_eq!(
            Expr::call("f", &args).layout(8, 80).as_deref(),
            Some(
                "f(\n            args.a0, args.a1, args.a2, args.a3, args.a4, args.a5, args.a6, args.a7, args.a8,\n            args.a9, args.a10, args.a11,\n        )"
            )
        );
    }

    #[test]
    fn a_one_element_tuple_keeps_its_comma() {
        let tuple = Expr::call("", &["id".into()]);
        assert_eq!(tuple.layout(0, 100).as_deref(), Some("(id,)"));
    }

    #[test]
    fn a_nested_call_wider_than_the_call_width_breaks_inside_the_outer_one() {
        let inner = Expr::call(
            format!("Self::{}", "V".repeat(45)),
            &["exception.message".into()],
        );
        let outer = Expr::Call {
            callee: "Ok".into(),
            args: vec![inner],
        };
        assert_eq!(
            outer.layout(16, 84).as_deref(),
            Some(
                format!(
                    "Ok(Self::{}(\n                    exception.message,\n                ))",
                    "V".repeat(45)
                )
                .as_str()
            )
        );
    }
}
