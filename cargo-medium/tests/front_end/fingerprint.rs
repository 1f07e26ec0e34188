//! The fingerprint changes exactly when the protocol does.

use cargo_medium::check::check_source;

const BASE: &str = "namespace com.example.student
class StudentSystem

model Student{
    id: string
    age: uint8
}

exception StudentNotFound

method get_student(id: string): Student
event student_added(time: double, info: Student)
";

fn fingerprint(text: &str) -> String {
    check_source("s.lmspc", text)
        .unwrap_or_else(|d| panic!("{}", d.render(false)))
        .fingerprint()
}

#[test]
fn fingerprint_is_64_lowercase_hex_digits() {
    let fp = fingerprint(BASE);
    assert_eq!(fp.len(), 64);
    assert!(
        fp.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{fp}"
    );
}

#[test]
fn fingerprint_ignores_comments_whitespace_and_item_order() {
    let reshuffled = "// Same protocol, written differently.
namespace   com.example.student   // trailing comment
class StudentSystem
event student_added(time: double,
                    info: Student,)

/// Raised when no student has the id.
exception StudentNotFound
method get_student( id : string ) : Student   

model Student
{
    /// The id.
    id: string
    age:	uint8
}";
    assert_eq!(fingerprint(BASE), fingerprint(reshuffled));
}

#[test]
fn fingerprint_changes_with_a_parameter_type() {
    let changed = BASE.replace("get_student(id: string)", "get_student(id: uint64)");
    assert_ne!(fingerprint(BASE), fingerprint(&changed));
}

#[test]
fn fingerprint_changes_with_member_order() {
    let changed = BASE.replace(
        "    id: string\n    age: uint8\n",
        "    age: uint8\n    id: string\n",
    );
    assert_ne!(fingerprint(BASE), fingerprint(&changed));
}

#[test]
fn fingerprint_changes_with_a_name_a_return_type_or_the_namespace() {
    for changed in [
        BASE.replace("exception StudentNotFound", "exception NoSuchStudent"),
        BASE.replace("): Student\n", "): *Student\n"),
        BASE.replace("com.example.student", "com.example.pupil"),
    ] {
        assert_ne!(fingerprint(BASE), fingerprint(&changed));
    }
}

#[test]
fn canonical_text_is_normalised_and_checks_back_to_the_same_fingerprint() {
    let spec = check_source("s.lmspc", BASE).expect("valid");
    let canonical = spec.canonical();
    assert_eq!(
        canonical,
        "namespace com.example.student
class StudentSystem
model Student{
    id: string
    age: uint8
}
exception StudentNotFound
method get_student(id: string): Student
event student_added(time: double, info: Student)
"
    );
    let again = check_source("canonical.lmspc", &canonical).expect("canonical text checks");
    assert_eq!(again.canonical(), canonical);
    assert_eq!(again.fingerprint(), spec.fingerprint());
}

#[test]
fn canonical_text_of_every_valid_spec_round_trips() {
    for path in super::spec_files(&super::specs_dir("valid")) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let spec = check_source("s.lmspc", &text).expect("valid spec");
        let again = check_source("c.lmspc", &spec.canonical())
            .unwrap_or_else(|d| panic!("{}: {}", path.display(), d.render(false)));
        assert_eq!(again.canonical(), spec.canonical(), "{}", path.display());
    }
}
