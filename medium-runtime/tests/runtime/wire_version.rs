//! Wire version 2: a daemon refuses a hello of any other version with `REFUSED` code 9, saying
//! both versions, and the client reports that refusal as what it is.

use medium_runtime::{Client, Error};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use crate::support::{INFO, TestDaemon, frame, hello_body_speaking, read_frame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_of_another_wire_version_is_refused_with_code_9_naming_both_versions() {
    let daemon = TestDaemon::start().await;
    let mut raw = UnixStream::connect(&daemon.path).await.unwrap();
    raw.write_all(&frame(&hello_body_speaking(1)))
        .await
        .unwrap();
    let refused = read_frame(&mut raw).await.expect("a refusal");
    let mut r = &refused[..];
    assert_eq!(rmp::decode::read_array_len(&mut r).unwrap(), 6);
    assert_eq!(
        rmp::decode::read_int::<u8, _>(&mut r).unwrap(),
        1,
        "REFUSED"
    );
    assert_eq!(rmp::decode::read_int::<u8, _>(&mut r).unwrap(), 9);
    let (message, _) = rmp::decode::read_str_from_slice(r).unwrap();
    assert_eq!(
        message,
        "this daemon speaks wire version 2; the application speaks version 1: rebuild it with \
         the same medium-runtime / cargo-medium version"
    );
    assert!(read_frame(&mut raw).await.is_none(), "then it closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reports_a_refused_wire_version_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let listener = UnixListener::bind(&path).unwrap();
    // A daemon of another wire version, refusing this client's hello as it would.
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        read_frame(&mut s).await.unwrap();
        let mut refused = vec![0x96, 0x01, 0x09];
        rmp::encode::write_str(
            &mut refused,
            "this daemon speaks wire version 3; the application speaks version 2: rebuild it \
             with the same medium-runtime / cargo-medium version",
        )
        .unwrap();
        for field in [INFO.namespace, INFO.class, INFO.fingerprint] {
            rmp::encode::write_str(&mut refused, field).unwrap();
        }
        s.write_all(&frame(&refused)).await.unwrap();
    });
    let err = Client::connect_to(&INFO, &path).await.unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedVersion { app_version: 2, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "daemon at {} refused wire version 2: this daemon speaks wire version 3; the \
             application speaks version 2: rebuild it with the same medium-runtime / \
             cargo-medium version",
            path.display()
        )
    );
}
