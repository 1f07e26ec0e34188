//! `@allow` rules end to end (issue 18), through codegen and real processes: the example
//! student spec with rules added is generated into protocol crates, the student daemon of
//! `fixtures/student/` and the app of `fixtures/access/` are built against them, and every
//! refusal is checked by its exact message.
//!
//! As any user: with `@allow(uid = 4294967294)` (a uid no process has) on `get_student` and on
//! `student_added`, my call of `get_student` is refused (`CallError::Forbidden`, code 14) before
//! its handler runs while `update_student` (no rule) works, and my subscription is refused with
//! code 14, from the Rust app, the generated Python client and `cargo medium call` (exit 101),
//! against the Rust daemon and, for the Rust app, the Python daemon from the same spec. As root
//! only (skipped, saying so, otherwise): with `@allow(uid = 1234)` on `get_student` and
//! `student_added` and `@allow(root)` on `update_student`, root and a child dropped to uid 1234
//! each get exactly what their rule allows from the same daemon.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cargo_medium::check::check_source;
use cargo_medium::codegen::{CrateNames, GeneratedFile, rust};

use crate::support::{
    Spawned, TestWorkspace, cargo_medium, checkout_root, gen_python, python_fixture, python_venv,
    run_ok, shared_target_dir, unique_name,
};

/// A uid no process has: `(uid_t) -2` (`-1` means "no uid" to the kernel).
const NOT_ME: u32 = 4_294_967_294;
/// The uid the root-only test drops its child to.
const OTHER_UID: u32 = 1234;
/// The student spec's namespace: its socket is `<dir>/<namespace>/socket`.
const NAMESPACE: &str = "com.pcthingz.libmedium.student";

/// One spec's daemon and app, built.
struct Programs {
    spec: PathBuf,
    daemon: PathBuf,
    app: PathBuf,
}

/// Both specs' programs, built once (one `cargo build`) for both tests.
struct Built {
    /// `get_student` and `student_added` for [`NOT_ME`] only.
    not_me: Programs,
    /// `get_student` and `student_added` for [`OTHER_UID`], `update_student` for root.
    other_uid: Programs,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let stem = unique_name("access-rules", "student");
        let mut workspace = TestWorkspace::new(&stem);
        let variants = [
            (
                "not-me",
                student_spec(&format!("uid = {NOT_ME}"), None, &format!("uid = {NOT_ME}")),
            ),
            (
                "other-uid",
                student_spec(
                    &format!("uid = {OTHER_UID}"),
                    Some("root"),
                    &format!("uid = {OTHER_UID}"),
                ),
            ),
        ];
        let mut packages = Vec::new();
        let mut programs = Vec::new();
        for (variant, text) in variants {
            let spec_path = workspace.path().join(format!("{variant}.lmspc"));
            fs::write(&spec_path, &text).expect("the spec can be written");
            let spec = check_source("student.lmspc", &text).expect("the spec with rules is valid");
            let names = CrateNames {
                protocol: format!("{stem}-{variant}-protocol"),
                daemon: format!("{stem}-{variant}-daemon"),
                app: format!("{stem}-{variant}-app"),
            };
            let protocol = rust::protocol_crate(&spec, &names).expect("the templates render");
            workspace.add_protocol_crate(&names.protocol, &protocol.files);
            let programs_crate = format!("{stem}-{variant}-programs");
            workspace.add_crate(&programs_crate, &programs_files(&programs_crate, &names));
            packages.push(programs_crate);
            let binary = |name: &str| shared_target_dir().join("debug").join(name);
            programs.push(Programs {
                spec: spec_path,
                daemon: binary(&names.daemon),
                app: binary(&names.app),
            });
        }
        let cargo = workspace.finish();
        let mut build = vec!["build".to_owned()];
        for package in &packages {
            build.extend(["-p".to_owned(), package.clone()]);
        }
        run_ok("building the daemons and apps", cargo.run(&build));
        let other_uid = programs.pop().expect("two variants");
        let not_me = programs.pop().expect("two variants");
        Built { not_me, other_uid }
    })
}

/// The example student spec with `@allow(<rule>)` above `get_student`, `update_student` (when
/// given) and `student_added`.
fn student_spec(get_student: &str, update_student: Option<&str>, student_added: &str) -> String {
    let example = fs::read_to_string(checkout_root().join("examples/student.lmspc"))
        .expect("the example spec is readable");
    let mut text = String::new();
    for line in example.lines() {
        let rule = if line.starts_with("method get_student") {
            Some(get_student)
        } else if line.starts_with("method update_student") {
            update_student
        } else if line.starts_with("event student_added") {
            Some(student_added)
        } else {
            None
        };
        if let Some(rule) = rule {
            text += &format!("@allow({rule})\n");
        }
        text += line;
        text += "\n";
    }
    assert_eq!(
        text.matches("@allow").count(),
        2 + usize::from(update_student.is_some())
    );
    text
}

/// The crate of the student daemon (`fixtures/student/`, unchanged) and the access app, both
/// against the protocol crate under the name the fixtures use.
fn programs_files(package: &str, names: &CrateNames) -> [GeneratedFile; 3] {
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion.workspace = true\n\
         edition.workspace = true\n\n\
         [[bin]]\nname = \"{daemon}\"\npath = \"src/daemon.rs\"\n\n\
         [[bin]]\nname = \"{app}\"\npath = \"src/app.rs\"\n\n\
         [dependencies]\n\
         student_system_protocol = {{ package = \"{protocol}\", path = \"../{protocol}\" }}\n\
         medium-runtime.workspace = true\ntokio.workspace = true\n",
        protocol = names.protocol,
        daemon = names.daemon,
        app = names.app,
    );
    let file = |path: &str, contents: &str| GeneratedFile {
        path: path.into(),
        contents: contents.to_owned(),
    };
    [
        file("Cargo.toml", &manifest),
        file(
            "src/daemon.rs",
            include_str!("fixtures/student/daemon/main.rs"),
        ),
        file("src/app.rs", include_str!("fixtures/access/app.rs")),
    ]
}

/// This process's effective uid, which its peers see: the owner of a file it creates.
fn my_uid() -> u32 {
    let file = tempfile::tempfile().expect("a temp file can be created");
    file.metadata().expect("a file has metadata").uid()
}

/// What the access app (Rust or Python) prints when `get_student` and `student_added` are
/// refused to `uid` and `update_student` is not.
fn refused_get_and_subscribe(uid: u32) -> Vec<String> {
    vec![
        format!("get s1: forbidden (code 14): uid {uid} may not call `get_student`"),
        "update s1: ok".to_owned(),
        format!(
            "subscribe: refused student_added (code 14): \
             uid {uid} may not subscribe to `student_added`"
        ),
    ]
}

/// Runs an access app to its end with `commands`; its output lines.
fn run_app(name: &str, command: &mut Command, commands: &[&str]) -> Vec<String> {
    let mut app = Spawned::spawn(name, command.args(commands));
    let (status, stdout, stderr) = app.wait_for_exit();
    assert!(status.success(), "the {name} failed ({status}):\n{stderr}");
    stdout
}

/// A daemon started with its socket in `sockets`, once it says it is ready.
fn start_daemon(name: &str, command: &mut Command, sockets: &Path) -> Spawned {
    let mut daemon = Spawned::spawn(name, command.env("MEDIUM_SOCKET_DIR", sockets));
    daemon.wait_for_line("ready line", |line| line.starts_with("ready"));
    daemon
}

/// The commands an app runs first: a call of `get_student`, one of `update_student` (storing
/// s1), a subscription to `student_added`.
const COMMANDS: [&str; 3] = ["get s1", "update s1", "subscribe"];

#[test]
fn allow_rule_for_another_uid_refuses_my_calls_from_rust_python_and_cargo_medium_call() {
    let programs = &built().not_me;
    let me = my_uid();
    assert_ne!(
        me, NOT_ME,
        "the test runs as the uid it expects to be refused"
    );
    let expected = refused_get_and_subscribe(me);
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join(NAMESPACE).join("socket");
    let rust_app = || {
        let mut command = Command::new(&programs.app);
        command.env("MEDIUM_SOCKET_DIR", sockets.path());
        command
    };

    // The Rust daemon refuses the Rust app, before the handler runs: the first call it prints
    // is `update_student`, sent after the refused `get_student`.
    let mut daemon = start_daemon(
        "Rust daemon",
        &mut Command::new(&programs.daemon),
        sockets.path(),
    );
    assert_eq!(run_app("Rust app", &mut rust_app(), &COMMANDS), expected);
    let call = daemon.wait_for_line("a call", |line| line.starts_with("call "));
    assert!(call.starts_with("call update_student "), "{call}");

    // `cargo medium call`: the refusal is a failure, reported with the daemon's message alone.
    let call = |arguments: &[&str]| {
        cargo_medium(sockets.path())
            .arg("call")
            .args(arguments)
            .arg("--socket")
            .arg(&socket)
            .output()
            .expect("cargo-medium runs")
    };
    let refused = call(&["get_student", r#""s1""#]);
    assert_eq!(refused.status.code(), Some(101), "{refused:?}");
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        format!("error: uid {me} may not call `get_student`\n")
    );
    let student = r#"{"id": "s2", "first_name": "Bo", "last_name": "L", "age": 7, "photo": ""}"#;
    run_ok("cargo medium call", call(&["update_student", student]));

    // The generated Python client, against the same daemon: `Forbidden`, the same messages.
    let Some(python) = python_venv::python() else {
        return;
    };
    let package = tempfile::tempdir().unwrap();
    gen_python(&programs.spec, package.path());
    let python_script =
        |fixture: &str| python_fixture(python, fixture, package.path(), sockets.path());
    let mut python_app = python_script("student_access_app.py");
    assert_eq!(run_app("Python app", &mut python_app, &COMMANDS), expected);
    drop(daemon);

    // The Python daemon from the same spec enforces the same rules on the Rust app.
    let mut daemon = start_daemon(
        "Python daemon",
        &mut python_script("student_daemon.py"),
        sockets.path(),
    );
    assert_eq!(run_app("Rust app", &mut rust_app(), &COMMANDS), expected);
    let call = daemon.wait_for_line("a call", |line| line.starts_with("call "));
    assert!(call.starts_with("call update_student "), "{call}");
}

#[test]
fn peers_of_different_uids_get_what_their_rules_allow_when_run_as_root() {
    if my_uid() != 0 {
        eprintln!("skipping: not root, so no child can take another uid to be a second peer");
        return;
    }
    let programs = &built().other_uid;
    // Where a process of another uid can reach the app binary and the socket: the checkout
    // may be under a home folder only root can enter, and temp dirs are made 0700.
    let shared = tempfile::tempdir().unwrap();
    fs::set_permissions(shared.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let app = shared.path().join("app");
    // Copied by `cp`, not `fs::copy`: a process the other test forks meanwhile would inherit
    // our open copy and make executing it fail with "Text file busy".
    run_ok(
        "cp",
        Command::new("cp")
            .arg(&programs.app)
            .arg(&app)
            .output()
            .expect("cp runs"),
    );
    let sockets = shared.path().join("sockets");
    let socket_folder = sockets.join(NAMESPACE);
    fs::create_dir_all(&socket_folder).unwrap();
    for folder in [&sockets, &socket_folder] {
        fs::set_permissions(folder, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let _daemon = start_daemon("daemon", &mut Command::new(&programs.daemon), &sockets);
    // The daemon makes its socket 0600 (its `socket_mode`); the rules, not the file mode,
    // are what this test is about.
    fs::set_permissions(
        socket_folder.join("socket"),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let app_as = |uid: u32| {
        let mut command = Command::new(&app);
        // `uid` also clears the supplementary groups (root's) before dropping privileges.
        command
            .current_dir(shared.path())
            .env("MEDIUM_SOCKET_DIR", &sockets)
            .uid(uid)
            .gid(uid);
        command
    };

    // Root may update (storing s1) but neither get nor subscribe; uid 1234 the other way round.
    assert_eq!(
        run_app("app as root", &mut app_as(0), &COMMANDS),
        refused_get_and_subscribe(0)
    );
    assert_eq!(
        run_app(
            &format!("app as uid {OTHER_UID}"),
            &mut app_as(OTHER_UID),
            &["get s1", "update s2", "subscribe"]
        ),
        [
            "get s1: student s1 Ada".to_owned(),
            format!(
                "update s2: forbidden (code 14): uid {OTHER_UID} may not call `update_student`"
            ),
            "subscribe: subscribed".to_owned(),
        ]
    );
}
