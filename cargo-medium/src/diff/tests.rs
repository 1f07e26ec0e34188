//! One test per kind of change, each asserting both the diff and the line it renders as.

use super::{Changed, ItemChange, ItemKind, MemberChange, SpecDiff};
use crate::check::{CheckedSpec, check_source};

const BASE: &str = "namespace com.example.shop\nclass Shop\n\
model Item{\n    id: string\n    price: uint32\n    tags: *string\n}\n\
exception OutOfStock\n\
method buy(id: string, count: uint16): Item\n\
method list(): *Item\n\
event sold(item: Item)\n";

fn checked(text: &str) -> CheckedSpec {
    check_source("test.lmspc", text).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

/// The diff from `BASE` to `BASE` with `from` replaced by `to`.
fn diff_after(from: &str, to: &str) -> SpecDiff {
    assert!(BASE.contains(from), "{from:?} is not in the base spec");
    SpecDiff::between(&checked(BASE), &checked(&BASE.replacen(from, to, 1)))
}

/// The report without its last (fingerprint) line.
fn report_body(diff: &SpecDiff) -> String {
    let text = diff.to_string();
    let body = text
        .trim_end()
        .rsplit_once('\n')
        .map_or("", |(body, _)| body);
    format!("{body}\n")
}

#[test]
fn docs_comments_and_declaration_order_are_no_change() {
    let reordered = "namespace com.example.shop\nclass Shop\n\
event sold(item: Item)\n\
/// Lists everything.\nmethod list(): *Item\n\
method buy(id: string, count: uint16): Item\n\
exception OutOfStock\n\
model Item{\n    id: string // the key\n    price: uint32\n    tags: *string\n}\n";
    let diff = SpecDiff::between(&checked(BASE), &checked(reordered));
    assert!(diff.is_empty(), "{diff:?}");
    assert_eq!(diff.fingerprint.old, diff.fingerprint.new);
    let fingerprint = &diff.fingerprint.new[..12];
    assert_eq!(
        diff.to_string(),
        format!("no protocol changes (fingerprint {fingerprint})\n")
    );
}

#[test]
fn added_method_is_listed_with_its_signature() {
    let diff = diff_after(
        "event sold",
        "method restock(id: string, count: uint16)\nevent sold",
    );
    assert_eq!(diff.added_methods().collect::<Vec<_>>(), ["restock"]);
    assert_eq!(
        report_body(&diff),
        "+ method restock(id: string, count: uint16)\n"
    );
}

#[test]
fn removed_method_is_listed_with_its_old_signature() {
    let diff = diff_after("method list(): *Item\n", "");
    assert_eq!(diff.items.len(), 1);
    assert_eq!(diff.items[0].kind(), ItemKind::Method);
    assert_eq!(diff.items[0].name(), "list");
    assert_eq!(report_body(&diff), "- method list(): *Item\n");
}

#[test]
fn method_parameter_and_return_changes_are_listed_under_it() {
    let diff = diff_after(
        "buy(id: string, count: uint16): Item",
        "buy(id: string, count: uint32, gift: boolean)",
    );
    assert_eq!(
        diff.items,
        [ItemChange::Changed {
            kind: ItemKind::Method,
            name: "buy".to_owned(),
            changes: vec![
                MemberChange::Retyped {
                    name: "count".to_owned(),
                    ty: Changed {
                        old: "uint16".to_owned(),
                        new: "uint32".to_owned()
                    },
                },
                MemberChange::Added {
                    name: "gift".to_owned(),
                    ty: "boolean".to_owned()
                },
                MemberChange::Returns(Changed {
                    old: Some("Item".to_owned()),
                    new: None
                }),
            ],
        }]
    );
    assert_eq!(
        report_body(&diff),
        "~ method buy\n    ~ parameter count: uint16 → uint32\n    \
         + parameter gift: boolean\n    ~ returns Item → nothing\n"
    );
}

#[test]
fn events_added_removed_and_changed_are_listed() {
    let diff = diff_after(
        "event sold(item: Item)\n",
        "event sold(item: Item, at: double)\nevent closed()\n",
    );
    assert_eq!(
        report_body(&diff),
        "+ event closed()\n~ event sold\n    + parameter at: double\n"
    );
    let diff = diff_after("event sold(item: Item)\n", "");
    assert_eq!(report_body(&diff), "- event sold(item: Item)\n");
}

#[test]
fn model_fields_added_removed_and_retyped_are_listed() {
    let diff = diff_after(
        "    price: uint32\n    tags: *string\n",
        "    price: uint64\n    name: string\n",
    );
    assert_eq!(
        report_body(&diff),
        "~ model Item\n    ~ field price: uint32 → uint64\n    - field tags: *string\n    \
         + field name: string\n"
    );
}

#[test]
fn reordered_members_are_a_change_because_encoding_is_positional() {
    let diff = diff_after(
        "    id: string\n    price: uint32\n",
        "    price: uint32\n    id: string\n",
    );
    assert_eq!(
        report_body(&diff),
        "~ model Item\n    ~ field order: id, price, tags → price, id, tags\n"
    );
    assert_ne!(diff.fingerprint.old, diff.fingerprint.new);
}

#[test]
fn models_and_exceptions_added_and_removed_are_listed() {
    let diff = diff_after(
        "exception OutOfStock\n",
        "exception Closed\nmodel Receipt{\n    total: uint32\n    lines: **string\n}\n",
    );
    assert_eq!(
        report_body(&diff),
        "+ model Receipt{total: uint32, lines: **string}\n+ exception Closed\n\
         - exception OutOfStock\n"
    );
}

#[test]
fn namespace_class_and_socket_changes_come_first() {
    let diff = diff_after(
        "namespace com.example.shop\nclass Shop\n",
        "namespace com.example.store\nclass Store\nsocket /run/store\nexception Closed\n",
    );
    assert_eq!(
        report_body(&diff),
        "~ namespace com.example.shop → com.example.store\n~ class Shop → Store\n\
         ~ socket (default folder) → /run/store\n+ exception Closed\n"
    );
}

#[test]
fn a_change_ends_with_both_abbreviated_fingerprints() {
    let diff = diff_after("method list(): *Item\n", "");
    let last = diff.to_string().lines().last().unwrap().to_owned();
    assert_eq!(
        last,
        format!(
            "fingerprint {} → {}: rebuild the daemon and every app together",
            &diff.fingerprint.old[..12],
            &diff.fingerprint.new[..12]
        )
    );
}

#[test]
fn an_access_rule_given_changed_or_dropped_is_a_change_of_its_item() {
    let diff = diff_after("method list", "@allow(root)\nmethod list");
    assert_eq!(
        diff.items,
        [ItemChange::Changed {
            kind: ItemKind::Method,
            name: "list".to_owned(),
            changes: vec![MemberChange::Allow(Changed {
                old: None,
                new: Some("root".to_owned()),
            })],
        }]
    );
    assert_ne!(diff.fingerprint.old, diff.fingerprint.new);
    assert_eq!(
        report_body(&diff),
        "~ method list\n    ~ allowed anyone → @allow(root)\n"
    );

    let old = checked(&BASE.replacen("event sold", "@allow(uid = 5, root)\nevent sold", 1));
    let new = checked(&BASE.replacen("event sold", "@allow(owner)\nevent sold", 1));
    assert_eq!(
        report_body(&SpecDiff::between(&old, &new)),
        "~ event sold\n    ~ allowed @allow(root, uid = 5) → @allow(owner)\n"
    );
    assert_eq!(
        report_body(&SpecDiff::between(&new, &checked(BASE))),
        "~ event sold\n    ~ allowed @allow(owner) → anyone\n"
    );
}

#[test]
fn a_class_default_changes_every_item_without_its_own_rule() {
    let defaulted = BASE.replacen("class Shop\n", "@allow(owner)\nclass Shop\n", 1);
    let own_rule = defaulted.replacen("method list", "@allow(root)\nmethod list", 1);
    assert_eq!(
        report_body(&SpecDiff::between(&checked(BASE), &checked(&own_rule))),
        "~ method buy\n    ~ allowed anyone → @allow(owner)\n\
         ~ method list\n    ~ allowed anyone → @allow(root)\n\
         ~ event sold\n    ~ allowed anyone → @allow(owner)\n"
    );
}

#[test]
fn an_added_method_shows_its_rule() {
    let diff = diff_after("event sold", "@allow(root)\nmethod wipe()\nevent sold");
    assert_eq!(report_body(&diff), "+ @allow(root) method wipe()\n");
}
