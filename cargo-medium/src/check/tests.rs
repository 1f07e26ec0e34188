//! Checker tests: what a valid spec becomes, and that every problem is found in one run.
//! (How each error renders is the snapshot corpus's job, in `tests/front_end`.)

use super::{Allow, AllowRule, CheckedSpec, Primitive, Type, check_source};
use crate::diagnostic::ErrorCode;

fn checked(text: &str) -> CheckedSpec {
    check_source("test.lmspc", text)
        .unwrap_or_else(|d| panic!("check failed:\n{}", d.render(false)))
}

fn codes(text: &str) -> Vec<ErrorCode> {
    match check_source("test.lmspc", text) {
        Ok(_) => panic!("checked but should not"),
        Err(diagnostics) => diagnostics.iter().map(|d| d.code).collect(),
    }
}

const HEADER: &str = "namespace com.example.test\nclass Test\n";

#[test]
fn example_spec_becomes_a_checked_spec_with_resolved_types() {
    let spec = checked(include_str!("../../../examples/student.lmspc"));
    assert_eq!(spec.namespace, "com.pcthingz.libmedium.student");
    assert_eq!(spec.class, "StudentSystem");
    assert_eq!(spec.socket, None);
    assert_eq!(spec.source_name, "test.lmspc");
    let student = spec.model("Student").expect("model Student");
    assert_eq!(student.fields[3].ty, Type::Primitive(Primitive::Uint8));
    assert_eq!(spec.methods[0].returns, Some(Type::Model("Student".into())));
    assert_eq!(spec.methods[1].returns, None);
    assert_eq!(
        spec.events[0].params[0].ty,
        Type::Primitive(Primitive::Double)
    );
    assert_eq!(spec.summary(), "1 model, 1 exception, 2 methods, 1 event");
}

#[test]
fn summary_uses_plurals_for_zero_and_many() {
    let spec = checked(&format!("{HEADER}model A{{}}\nmodel B{{}}\nmethod m()\n"));
    assert_eq!(spec.summary(), "2 models, 0 exceptions, 1 method, 0 events");
}

#[test]
fn forward_references_and_nested_lists_resolve() {
    let spec = checked(&format!(
        "{HEADER}socket /run/test\nmethod m(x: **Later): *Later\nmodel Later{{\n    again: *Later\n}}\n"
    ));
    let later = || Type::Model("Later".into());
    let list = |t: Type| Type::List(Box::new(t));
    assert_eq!(spec.methods[0].params[0].ty, list(list(later())));
    assert_eq!(spec.methods[0].returns, Some(list(later())));
    assert_eq!(spec.models[0].fields[0].ty, list(later()));
    assert_eq!(spec.socket.as_deref(), Some("/run/test"));
}

#[test]
fn docs_reach_the_checked_spec() {
    let spec = checked(&format!(
        "{HEADER}/// A thing.\nmodel T{{\n    // Its id.\n    id: string\n}}\n// Gone.\nexception Gone\n"
    ));
    assert_eq!(spec.models[0].doc, ["A thing."]);
    assert_eq!(spec.models[0].fields[0].doc, ["Its id."]);
    assert_eq!(spec.exceptions[0].doc, ["Gone."]);
}

#[test]
fn rust_keywords_and_generated_api_names_are_not_errors() {
    checked(include_str!(
        "../../../tests/specs/valid/grammar_rust_keywords.lmspc"
    ));
}

#[test]
fn a_type_and_a_function_may_differ_only_in_case() {
    // `struct Student` and `fn student` do not clash in generated code.
    let spec = checked(&format!("{HEADER}model Student{{}}\nmethod student()\n"));
    assert_eq!(spec.methods[0].name, "student");
}

#[test]
fn names_colliding_after_case_conversion_are_rejected_per_kind() {
    assert_eq!(
        codes(&format!("{HEADER}model student{{}}\nexception Student\n")),
        [ErrorCode::CaseCollision]
    );
    assert_eq!(
        codes(&format!(
            "{HEADER}method student_added()\nevent studentAdded()\n"
        )),
        [ErrorCode::CaseCollision]
    );
    assert_eq!(
        codes(&format!("{HEADER}event e(aB: string, a_b: string)\n")),
        [ErrorCode::CaseCollision]
    );
}

#[test]
fn every_error_is_reported_in_one_run_in_source_order() {
    let text = include_str!("../../../tests/specs/invalid/multiple_errors.lmspc");
    assert_eq!(
        codes(text),
        [
            ErrorCode::UnknownType,
            ErrorCode::DuplicateField,
            ErrorCode::RecursiveModel,
            ErrorCode::DuplicateName,
            ErrorCode::InvalidName,
            ErrorCode::UnknownType,
            ErrorCode::UnknownType,
            ErrorCode::DuplicateField,
        ]
    );
}

#[test]
fn missing_and_repeated_headers_are_all_reported() {
    assert_eq!(
        codes("exception E\n"),
        [ErrorCode::MissingNamespace, ErrorCode::MissingClass]
    );
    assert_eq!(
        codes(&format!("{HEADER}class Again\nsocket /a\nsocket /b\n")),
        [ErrorCode::RepeatedHeader, ErrorCode::RepeatedHeader]
    );
}

#[test]
fn duplicates_point_back_at_the_first_definition() {
    let text = format!("{HEADER}method m()\nevent m()\n");
    let diagnostics = check_source("t.lmspc", &text).expect_err("duplicate");
    let duplicate = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(duplicate.code, ErrorCode::DuplicateName);
    assert_eq!(&text[duplicate.primary.span.clone()], "m");
    assert!(duplicate.primary.span.start > text.find("event").expect("event line"));
    assert_eq!(
        duplicate.secondary[0].message,
        "first defined here, as a method"
    );
    assert!(duplicate.secondary[0].span.start < text.find("event").expect("event line"));
}

#[test]
fn unknown_types_suggest_the_closest_primitive_or_model() {
    let help = |ty: &str| {
        let text = format!("{HEADER}model Student{{}}\nmethod m(x: {ty})\n");
        let diagnostics = check_source("t.lmspc", &text).expect_err("unknown type");
        let diagnostic = diagnostics.iter().next().expect("one diagnostic").clone();
        assert_eq!(diagnostic.code, ErrorCode::UnknownType);
        diagnostic.help.join("\n")
    };
    assert_eq!(help("unit8"), "did you mean `uint8`?");
    assert_eq!(help("String"), "did you mean `string`?");
    assert_eq!(help("Studnet"), "did you mean `Student`?");
    assert_eq!(help("i64"), "did you mean `int64`?");
    assert!(help("Gizmo").starts_with("a type is a primitive"));
}

#[test]
fn recursion_through_a_list_is_fine_but_a_direct_cycle_is_not() {
    checked(&format!("{HEADER}model Tree{{\n    kids: *Tree\n}}\n"));
    assert_eq!(
        codes(&format!(
            "{HEADER}model A{{\n    b: B\n}}\nmodel B{{\n    a: A\n}}\n"
        )),
        [ErrorCode::RecursiveModel]
    );
    // A model that only leads into a cycle is not itself reported.
    assert_eq!(
        codes(&format!(
            "{HEADER}model Outer{{\n    a: A\n}}\nmodel A{{\n    a: A\n}}\n"
        )),
        [ErrorCode::RecursiveModel]
    );
}

#[test]
fn a_large_spec_checks_quickly() {
    use std::fmt::Write as _;
    let mut text = String::from(HEADER);
    for i in 0..200 {
        let _ = writeln!(
            text,
            "model M{i}{{\n    id: string\n    next: *M{}\n    prev: M{}\n}}",
            i + 1,
            i.max(1) - 1
        );
    }
    text = text
        .replace("prev: M0\n", "prev: string\n")
        .replace("*M200", "*M0");
    for i in 0..500 {
        let _ = writeln!(
            text,
            "method call{i}(a: M{}, b: **uint32): *M{}",
            i % 200,
            (i + 7) % 200
        );
    }
    let start = std::time::Instant::now();
    let spec = checked(&text);
    let elapsed = start.elapsed();
    assert_eq!(
        spec.summary(),
        "200 models, 0 exceptions, 500 methods, 0 events"
    );
    // Generous even for debug builds on a slow machine; quadratic work would blow through it.
    assert!(elapsed.as_millis() < 2000, "took {elapsed:?}");
}

/// The effective rule of every method, then every event, in declaration order.
fn rules(spec: &CheckedSpec) -> Vec<Option<AllowRule>> {
    let methods = spec.methods.iter().map(|method| method.allow.clone());
    methods
        .chain(spec.events.iter().map(|event| event.allow.clone()))
        .collect()
}

fn rule(terms: Vec<Allow>) -> Option<AllowRule> {
    AllowRule::new(terms)
}

#[test]
fn an_items_own_rule_replaces_the_class_default_and_others_take_it() {
    let spec = checked(
        "namespace com.example.test\nmethod before()\n@allow(owner)\nclass Test\n\
         @allow(group = \"b\", uid = 9, root, gid = 2, uid = 1, group = \"a\")\nmethod own()\n\
         event default()\n",
    );
    assert_eq!(
        rules(&spec),
        [
            rule(vec![Allow::Owner]),
            rule(vec![
                Allow::Root,
                Allow::Uid(1),
                Allow::Uid(9),
                Allow::Gid(2),
                Allow::Group("a".into()),
                Allow::Group("b".into()),
            ]),
            rule(vec![Allow::Owner]),
        ]
    );
    let text = spec.canonical();
    assert!(!text.contains("@allow(owner)\nclass"), "{text}");
    assert!(
        text.contains(
            "@allow(root, uid = 1, uid = 9, gid = 2, group = \"a\", group = \"b\")\nmethod own()\n"
        ),
        "{text}"
    );
}

#[test]
fn without_any_attribute_nobody_has_a_rule_and_the_text_has_no_allow_line() {
    let spec = checked(&format!("{HEADER}method m()\nevent e()\n"));
    assert_eq!(rules(&spec), [None, None]);
    assert!(!spec.canonical().contains('@'));
}

#[test]
fn docs_above_and_below_an_attribute_document_its_item() {
    let spec = checked(&format!(
        "{HEADER}/// Above.\n@allow(root)\n/// Below.\nmethod m()\n\n/// Cut off.\n@allow(root)\n\nevent e()\n"
    ));
    assert_eq!(spec.methods[0].doc, ["Above.", "Below."]);
    assert!(spec.events[0].doc.is_empty());
    assert_eq!(
        rules(&spec),
        [rule(vec![Allow::Root]), rule(vec![Allow::Root])]
    );
}

#[test]
fn a_rule_with_the_same_terms_in_another_order_has_the_same_fingerprint() {
    let one = checked(&format!("{HEADER}@allow(uid = 5, root)\nmethod m()\n"));
    let other = checked(&format!("{HEADER}@allow( root,uid=5, )\nmethod m()\n"));
    let none = checked(&format!("{HEADER}method m()\n"));
    assert_eq!(one.fingerprint(), other.fingerprint());
    assert_ne!(one.fingerprint(), none.fingerprint());
}

#[test]
fn canonical_text_with_rules_checks_back_to_the_same_spec() {
    let spec = checked(include_str!(
        "../../../tests/specs/valid/access_rules.lmspc"
    ));
    let again = checked(&spec.canonical());
    assert_eq!(rules(&again), rules(&spec));
    assert_eq!(again.canonical(), spec.canonical());
}

#[test]
fn every_attribute_problem_is_reported_in_one_run() {
    assert_eq!(
        codes(&format!(
            "{HEADER}@allow(rot, root, root, uid = 99999999999, group = \"-x\", owner = 1)\n\
             method m()\n@allow()\nevent e()\n@allow(root)\nexception E\n"
        )),
        [
            ErrorCode::UnknownAllowTerm,
            ErrorCode::DuplicateAllowTerm,
            ErrorCode::InvalidAllowId,
            ErrorCode::InvalidAllowGroup,
            ErrorCode::UnexpectedAllowValue,
            ErrorCode::EmptyAllow,
            ErrorCode::MisplacedAllow,
        ]
    );
}

#[test]
fn fd_resolves_wherever_a_type_goes() {
    let spec = checked(&format!(
        "{HEADER}method open_log(name: string): fd\nmethod pass(sinks: **fd)\nevent e(x: fd)\n"
    ));
    let fd = || Type::Primitive(Primitive::Fd);
    assert_eq!(spec.methods[0].returns, Some(fd()));
    assert_eq!(spec.methods[1].params[0].ty.innermost(), &fd());
    assert_eq!(spec.events[0].params[0].ty, fd());
}
