//! Parser tests: every grammar rule, on hand-written specs and the example spec.

use super::ast::{Item, Spec, TermValue, TypeRef};
use super::parse;

fn parse_ok(text: &str) -> Spec {
    parse("test.lmspc", text).unwrap_or_else(|d| panic!("parse failed:\n{}", d.render(false)))
}

/// The rendered syntax error for `text`.
fn parse_err(text: &str) -> String {
    match parse("test.lmspc", text) {
        Ok(file) => panic!("parsed but should not: {file:?}"),
        Err(diagnostics) => {
            assert_eq!(diagnostics.len(), 1, "a syntax error stops parsing");
            diagnostics.render(false)
        }
    }
}

fn names(file: &Spec) -> Vec<&str> {
    file.items
        .iter()
        .map(|item| match item {
            Item::Namespace(h) | Item::Class(h) | Item::Socket(h) => h.value.text.as_str(),
            _ => item.declared_name().map_or("", |n| n.text.as_str()),
        })
        .collect()
}

fn ty(t: &TypeRef) -> String {
    format!("{}{}", "*".repeat(t.list_depth), t.name.text)
}

const HEADER: &str = "namespace com.example.test\nclass Test\n";

#[test]
fn example_spec_parses_into_its_items_in_order() {
    let text = include_str!("../../../examples/student.lmspc");
    let file = parse_ok(text);
    assert_eq!(
        names(&file),
        [
            "com.pcthingz.libmedium.student",
            "StudentSystem",
            "Student",
            "StudentNotFound",
            "get_student",
            "update_student",
            "student_added"
        ]
    );
    let Item::Model(student) = &file.items[2] else {
        panic!("third item is the model")
    };
    let members: Vec<(&str, String)> = student
        .members
        .iter()
        .map(|m| (m.name.text.as_str(), ty(&m.ty)))
        .collect();
    assert_eq!(members[4], ("photo", "binary".to_owned()));
    let Item::Method(get) = &file.items[4] else {
        panic!("fifth item is get_student")
    };
    assert_eq!(get.params[0].name.text, "id");
    assert_eq!(get.returns.as_ref().map(ty).as_deref(), Some("Student"));
}

#[test]
fn every_name_and_type_span_covers_its_text() {
    let text = include_str!("../../../tests/specs/valid/grammar_layout.lmspc");
    let file = parse_ok(text);
    let mut checked = 0;
    for item in &file.items {
        let (fields, returns) = match item {
            Item::Model(m) => (&m.members, None),
            Item::Method(m) => (&m.params, m.returns.as_ref()),
            Item::Event(e) => (&e.params, None),
            _ => continue,
        };
        for field in fields {
            assert_eq!(&text[field.name.span.clone()], field.name.text);
            assert_eq!(&text[field.ty.name.span.clone()], field.ty.name.text);
            assert_eq!(text[field.ty.span.clone()], ty(&field.ty));
            checked += 1;
        }
        if let Some(returns) = returns {
            assert_eq!(text[returns.span.clone()], ty(returns));
        }
        let name = item.declared_name().expect("an item with a name");
        assert_eq!(&text[name.span.clone()], name.text);
    }
    assert!(
        checked >= 6,
        "the layout spec has members and params to check"
    );
}

#[test]
fn list_stars_nest_freely() {
    let file = parse_ok(&format!(
        "{HEADER}method m(a: *string, b: **Model, c: ****uint8): ***binary\n"
    ));
    let Item::Method(m) = &file.items[2] else {
        panic!("a method")
    };
    let depths: Vec<usize> = m.params.iter().map(|p| p.ty.list_depth).collect();
    assert_eq!(depths, [1, 2, 4]);
    assert_eq!(m.params[1].ty.name.text, "Model");
    assert_eq!(m.returns.as_ref().map(|r| r.list_depth), Some(3));
}

#[test]
fn parameter_lists_span_lines_with_comments_and_a_trailing_comma() {
    let file = parse_ok(&format!(
        "{HEADER}method m(\n    a: string, // first\n\n    // second\n    b: uint8,\n)\nevent e(x: double,\n        y: double)\n"
    ));
    let Item::Method(m) = &file.items[2] else {
        panic!("a method")
    };
    let params: Vec<&str> = m.params.iter().map(|p| p.name.text.as_str()).collect();
    assert_eq!(params, ["a", "b"]);
    assert!(m.returns.is_none());
    let Item::Event(e) = &file.items[3] else {
        panic!("an event")
    };
    assert_eq!(e.params.len(), 2);
}

#[test]
fn empty_parameter_lists_and_missing_return_types_are_accepted() {
    let file = parse_ok(&format!(
        "{HEADER}method a()\nmethod b( ): string\nevent c()\n"
    ));
    assert!(file.items[2..].iter().all(|item| match item {
        Item::Method(m) => m.params.is_empty(),
        Item::Event(e) => e.params.is_empty(),
        _ => false,
    }));
}

#[test]
fn model_braces_may_sit_on_the_next_line_or_hold_nothing() {
    let file = parse_ok(&format!(
        "{HEADER}model A\n{{\n  x: string\n}}\nmodel B{{}}\nmodel C {{ y: int8\n}}\nmodel D{{\n}}\n"
    ));
    let sizes: Vec<usize> = file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Model(m) => Some(m.members.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [1, 0, 1, 0]);
}

#[test]
fn a_file_may_end_with_a_model_and_no_newline() {
    let file = parse_ok(&format!("{HEADER}model Last{{\n    x: string\n}}"));
    assert_eq!(names(&file).last(), Some(&"Last"));
}

#[test]
fn comments_after_code_are_ignored_and_never_become_docs() {
    let file = parse_ok(
        "namespace a.b // the namespace\nclass C//tight\n// doc for E\nexception E // not doc\nmethod m(): string // not doc\n",
    );
    assert_eq!(names(&file), ["a.b", "C", "E", "m"]);
    let Item::Exception(e) = &file.items[2] else {
        panic!("an exception")
    };
    assert_eq!(e.doc, ["doc for E"]);
    let Item::Method(m) = &file.items[3] else {
        panic!("a method")
    };
    assert!(m.doc.is_empty());
}

#[test]
fn comment_lines_directly_above_an_item_or_member_become_its_doc() {
    let file = parse_ok(&format!(
        "{HEADER}// Not a doc: a blank line follows.\n\n/// A student.\n// Second line, plain `//`.\n///\nmodel S{{\n    /// The id.\n    id: string\n    name: string\n}}\n"
    ));
    let Item::Model(model) = &file.items[2] else {
        panic!("a model")
    };
    assert_eq!(model.doc, ["A student.", "Second line, plain `//`.", ""]);
    assert_eq!(model.members[0].doc, ["The id."]);
    assert!(model.members[1].doc.is_empty());
}

#[test]
fn comments_above_header_lines_document_nothing() {
    let file = parse_ok("// File comment.\nnamespace a.b\nclass C\nexception E\n");
    let Item::Exception(e) = &file.items[2] else {
        panic!("an exception")
    };
    assert!(e.doc.is_empty());
}

#[test]
fn rust_keywords_and_keyword_like_words_are_ordinary_names() {
    let file = parse_ok(&format!(
        "{HEADER}model model{{\n    type: string\n    method: uint8\n}}\nmethod match(fn: model): model\nevent loop()\nexception events\n"
    ));
    assert_eq!(names(&file)[2..], ["model", "match", "loop", "events"]);
}

#[test]
fn crlf_tabs_and_a_byte_order_mark_are_accepted() {
    let file = parse_ok(
        "\u{feff}namespace a.b\r\nclass C\r\n\tmodel M{\r\n\t\tx:\tstring\r\n\t}\r\nmethod m(\r\n\ta: M,\r\n)\r\n",
    );
    assert_eq!(names(&file), ["a.b", "C", "M", "m"]);
}

#[test]
fn lenient_names_reach_the_checker_whole() {
    let file = parse_ok(&format!("{HEADER}method get-student(id: string)\n"));
    assert_eq!(names(&file)[2], "get-student");
}

#[test]
fn keywords_are_case_sensitive_and_whole_words() {
    let error = parse_err(&format!("{HEADER}Method m()\n"));
    assert!(error.contains("found `Method`"), "{error}");
    assert!(
        error.contains("keywords are lowercase: write `method`"),
        "{error}"
    );
    let error = parse_err(&format!("{HEADER}modelStudent{{\n}}\n"));
    assert!(error.contains("expected an item"), "{error}");
}

#[test]
fn syntax_errors_name_what_was_expected_in_words_never_rule_names() {
    for (text, expected) in [
        ("model M{\n  x string\n}\n", "expected `:`, found `string`"),
        (
            "method m(x: ): string\n",
            "expected a type such as `string`, `*T` or a model name, found `)`",
        ),
        ("model M{\n  x: string\n", "unclosed model `M`"),
        ("event e(): string\n", "expected end of line, found `:`"),
        (
            "method m(a: string b: string)\n",
            "expected `)`, `,` or end of line, found `b`",
        ),
        (
            "namespace\n",
            "expected a dotted namespace such as `com.example.student`, found end of line",
        ),
    ] {
        let error = parse_err(text);
        assert!(error.contains(expected), "{text:?} gave:\n{error}");
        for rule in ["line_end", "type_name", "close_paren", "EOI", "model_entry"] {
            assert!(
                !error.contains(rule),
                "pest rule name `{rule}` leaked:\n{error}"
            );
        }
    }
}

#[test]
fn syntax_errors_point_at_the_offending_line_and_column() {
    let error = parse_err("namespace a.b\nclass C\nmodel M{\n    id string\n}\n");
    assert!(error.contains("--> test.lmspc:4:8"), "{error}");
    assert!(error.contains("error[E0001]"), "{error}");
}

#[test]
fn a_model_missing_its_brace_is_reported_at_the_brace_not_at_the_next_item() {
    let error = parse_err(&format!(
        "{HEADER}model Student{{\n    id: string\n\nexception StudentNotFound\n"
    ));
    assert!(
        error.starts_with("error[E0001]: unclosed model `Student`\n --> test.lmspc:3:14\n"),
        "{error}"
    );
    assert!(error.contains("^ this `{` is never closed"), "{error}");
    assert!(error.contains("- the next item starts here"), "{error}");
    assert!(!error.contains("found `StudentNotFound`"), "{error}");
}

#[test]
fn an_unclosed_model_is_found_past_comments_and_a_brace_on_its_own_line() {
    for (text, brace_at) in [
        // The file ends inside the model.
        ("model M{\n  x: string\n", "test.lmspc:3:8"),
        // `{` on the line after the name; braces in comments are not the model's.
        (
            "model M // {\n{ // }\n  // {\n  x: string\nmethod m()\n",
            "test.lmspc:4:1",
        ),
        // A first member on the `{` line, then the next model.
        ("model M{ x: string\nmodel N{\n}\n", "test.lmspc:3:8"),
    ] {
        let error = parse_err(&format!("{HEADER}{text}"));
        assert!(error.contains("unclosed model `M`"), "{text:?}:\n{error}");
        assert!(error.contains(brace_at), "{text:?}:\n{error}");
    }
}

#[test]
fn an_allow_attribute_keeps_the_span_of_itself_and_each_term() {
    let text = format!("{HEADER}@allow( root ,uid=10, group = \"admin\",)\nmethod m()\n");
    let file = parse_ok(&text);
    let Item::Allow(attr) = &file.items[2] else {
        panic!("no attribute: {:?}", file.items);
    };
    let at = |span: &std::ops::Range<usize>| &text[span.clone()];
    assert_eq!(at(&attr.span), "@allow( root ,uid=10, group = \"admin\",)");
    let terms: Vec<&str> = attr.terms.iter().map(|term| at(&term.span)).collect();
    assert_eq!(terms, ["root", "uid=10", "group = \"admin\""]);
    assert_eq!(attr.terms[0].value, None);
    let Some(TermValue::Word(uid)) = &attr.terms[1].value else {
        panic!("uid has no word value");
    };
    assert_eq!(uid.text, "10");
    let Some(TermValue::Quoted(group)) = &attr.terms[2].value else {
        panic!("group has no quoted value");
    };
    assert_eq!(
        (group.text.as_str(), at(&group.span)),
        ("admin", "\"admin\"")
    );
    assert!(matches!(file.items[3], Item::Method(_)));
}

#[test]
fn an_attribute_is_one_line_and_cannot_sit_inside_a_model() {
    assert!(parse_err(&format!("{HEADER}@allow(root,\nowner)\nmethod m()\n")).contains("expected"));
    let unclosed = parse_err(&format!("{HEADER}model A{{\n@allow(root)\nmethod m()\n"));
    assert!(unclosed.contains("unclosed model `A`"), "{unclosed}");
}
