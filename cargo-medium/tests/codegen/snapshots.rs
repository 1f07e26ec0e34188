//! Snapshots of the generated code, one pair per valid spec (review with `cargo insta review`).

use crate::support::{concat, generate, load};

#[test]
fn protocol_crate_for_every_valid_spec() {
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        let crates = generate(&load(path));
        insta::assert_snapshot!(concat(&crates[..1]));
    });
}

#[test]
fn daemon_and_app_crates_for_every_valid_spec() {
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        let crates = generate(&load(path));
        insta::assert_snapshot!(concat(&crates[1..]));
    });
}

#[test]
fn generation_is_deterministic() {
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        let spec = load(path);
        assert_eq!(concat(&generate(&spec)), concat(&generate(&spec)));
    });
}
