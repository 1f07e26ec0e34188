//! Values survive a real round trip through the generated code: a daemon implementing the
//! generated trait and the async and blocking clients, over a Unix socket, for the spec with
//! the trickiest encodings (`tests/specs/valid/lists.lmspc`: nested lists, lists of models,
//! `binary` alone and in lists, a call without arguments, an event with lists, an exception),
//! and the paced event emitters.

use cargo_medium::check::check_source;
use cargo_medium::codegen::{CrateNames, GeneratedFile, rust};

use crate::support::{TestWorkspace, checkout_root, run_ok, unique_name};

/// The check program: serves the protocol in a task and calls every method.
const CHECK_MAIN: &str = r#"
use medium_runtime::futures::StreamExt;
use medium_runtime::Binary;
use protocol::ListsContext as Cx;
use protocol::ListsResult as Res;

struct Echo;

impl protocol::Lists for Echo {
    async fn tags(&self, _cx: &Cx) -> Res<Vec<String>> {
        Ok(vec!["a".to_owned(), "b".to_owned()])
    }
    async fn nested(&self, _cx: &Cx, rows: Vec<Vec<String>>) -> Res<Vec<Vec<String>>> {
        Ok(rows)
    }
    async fn models(&self, cx: &Cx, items: Vec<protocol::Tagged>) -> Res<Vec<protocol::Tagged>> {
        // The paced emitter (it waits while a subscriber's queue is half full, never here).
        cx.events().batch_paced(&items, &[Binary::from(vec![1, 2])]).await?;
        Ok(items)
    }
    async fn blobs(&self, _cx: &Cx, items: Vec<Binary>) -> Res<Vec<Binary>> {
        if items.is_empty() {
            return Err(protocol::ListsError::EmptyInput("no blobs".to_owned()).into());
        }
        Ok(items)
    }
    async fn blob(&self, _cx: &Cx, data: Binary) -> Res<Binary> {
        Ok(data.iter().rev().copied().collect::<Vec<u8>>().into())
    }
    async fn grid(&self, _cx: &Cx, cells: Vec<Vec<Vec<f64>>>) -> Res<Vec<Vec<Vec<f64>>>> {
        Ok(cells)
    }
}

#[tokio::main]
async fn main() {
    let dir = std::env::args().nth(1).expect("socket dir argument");
    let path = std::path::Path::new(&dir).join("lists.sock");
    let server = protocol::ListsServer::new(Echo).socket_path(&path);
    let events = server.events();
    let serving = tokio::spawn(server.serve());
    let connection = loop {
        match protocol::ListsConnection::connect_to(&path).await {
            Ok(connection) => break connection,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };

    assert_eq!(connection.tags().await.unwrap(), ["a", "b"]);
    let rows = vec![vec!["x".to_owned()], vec![], vec!["y".to_owned(), "z".to_owned()]];
    assert_eq!(connection.nested(&rows).await.unwrap(), rows);
    let blobs = vec![Binary::from(vec![0, 255]), Binary::default()];
    assert_eq!(connection.blobs(&blobs).await.unwrap(), blobs);
    match connection.blobs(&[]).await {
        Err(medium_runtime::CallError::Exception(protocol::ListsError::EmptyInput(message))) => {
            assert_eq!(message, "no blobs")
        }
        other => panic!("expected the EmptyInput exception, got {other:?}"),
    }
    assert_eq!(connection.blob(&[1, 2, 3]).await.unwrap(), [3, 2, 1]);
    // Large enough to travel as a frame chunk of its own, both ways.
    let large: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let reversed: Vec<u8> = large.iter().rev().copied().collect();
    assert_eq!(connection.blob(&large).await.unwrap(), reversed);
    let cells = vec![vec![vec![1.5, -2.0]], vec![]];
    assert_eq!(connection.grid(&cells).await.unwrap(), cells);

    // Returns once the daemon confirms: the event the next call fires reaches the stream.
    let mut batches = connection.batch().await.unwrap();
    let tagged = protocol::Tagged {
        name: "t".to_owned(),
        tags: vec!["x".to_owned()],
        matrix: vec![vec![1, -2], vec![]],
        blobs: vec![Binary::from(vec![7])],
        grid: vec![vec![Binary::from(vec![8, 9])]],
    };
    let items = vec![tagged];
    assert_eq!(connection.models(&items).await.unwrap(), items);
    let batch = batches.next().await.expect("an event").expect("a valid event");
    assert_eq!(batch.items, items);
    assert_eq!(batch.raw, [Binary::from(vec![1, 2])]);
    // The paced emitter to one application.
    let app = events.applications()[0].id();
    assert!(events.to(app).batch_paced(&[], &[Binary::from(vec![3])]).await.unwrap());
    let batch = batches.next().await.expect("an event").expect("a valid event");
    assert_eq!((batch.items, batch.raw), (vec![], vec![Binary::from(vec![3])]));

    let blocking_path = path.clone();
    let blocking = std::thread::spawn(move || {
        let connection = protocol::blocking::ListsConnection::connect_to(&blocking_path).unwrap();
        let mut batches = connection.batch().unwrap();
        assert_eq!(connection.models(&items).unwrap(), items);
        let batch = batches.next().expect("an event").expect("a valid event");
        assert_eq!(batch.items, items);
        connection.blob(&[4, 5]).unwrap()
    });
    assert_eq!(blocking.join().unwrap(), [5, 4]);

    events.handle().shutdown();
    serving.await.unwrap().unwrap();
    println!("round trip ok");
}
"#;

#[test]
fn lists_models_and_binary_round_trip_through_generated_daemon_and_clients() {
    let path = checkout_root().join("tests/specs/valid/lists.lmspc");
    let text = std::fs::read_to_string(&path).expect("spec is readable");
    let spec = check_source("lists.lmspc", &text).expect("lists.lmspc is valid");
    let stem = unique_name("roundtrip", "lists");
    let names = CrateNames {
        protocol: format!("{stem}-protocol"),
        daemon: format!("{stem}-daemon"),
        app: format!("{stem}-check"),
    };
    let mut workspace = TestWorkspace::new(&stem);
    let protocol = rust::protocol_crate(&spec, &names).expect("the templates render");
    workspace.add_protocol_crate(&names.protocol, &protocol.files);
    let manifest = format!(
        "[package]\nname = \"{}\"\nversion.workspace = true\nedition.workspace = true\n\n\
         [dependencies]\nprotocol = {{ package = \"{}\", path = \"../{}\" }}\n\
         medium-runtime.workspace = true\ntokio.workspace = true\n",
        names.app, names.protocol, names.protocol
    );
    workspace.add_crate(
        &names.app,
        &[
            GeneratedFile {
                path: "Cargo.toml".into(),
                contents: manifest,
            },
            GeneratedFile {
                path: "src/main.rs".into(),
                contents: CHECK_MAIN.to_owned(),
            },
        ],
    );
    let cargo = workspace.finish();
    let sockets = tempfile::tempdir().expect("socket dir");
    let socket_dir = sockets.path().to_str().expect("utf-8 temp path");
    let stdout = run_ok(
        "the round-trip check",
        cargo.run(["run", "-q", "-p", &names.app, "--", socket_dir]),
    );
    assert!(
        stdout.contains("round trip ok"),
        "unexpected output: {stdout}"
    );
}
