//! File descriptors across the socket (PROTOCOL.md §3.1), over real sockets: a hand-written
//! protocol with `fd` arguments, return values and event arguments, and hostile peers attaching
//! descriptors where they may not. Leaks are checked per descriptor in `/proc/self/fd` (every
//! test of this binary shares the process, so a count of all of them would race).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream as StdStream;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use medium_runtime::{
    Call, CallError, CallRunner, Client, ClientOptions, Daemon, DaemonOptions, Dispatch, Error,
    ErrorCode, Fd, NoException, ProtocolInfo, Reply, Started,
};

use crate::support::{eventually, frame, wait_for_socket};

pub const FD_INFO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.descriptors",
    class: "Descriptors",
    fingerprint: "fd00000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &["opened"],
    access: &[],
    uses_fd: true,
};

/// A service taking and returning descriptors, written against `Dispatch` as generated code is.
struct FdService;

fn handle<A, T, F>(call: Call, f: F) -> BoxFuture<'static, Reply>
where
    A: serde::de::DeserializeOwned + Send + 'static,
    T: serde::Serialize + 'static,
    F: FnOnce(&Call, A) -> T + Send + 'static,
{
    async move {
        match call.decode_args::<A>() {
            Ok(args) => Reply::value(&f(&call, args)),
            Err(reply) => reply,
        }
    }
    .boxed()
}

impl Dispatch for FdService {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let future = match call.method() {
            // A pipe's read end with `text` waiting in it.
            "pipe_with" => handle(call, |_, (text,): (String,)| {
                let (reader, mut writer) = pipe();
                writer.write_all(text.as_bytes()).unwrap();
                Fd::from(reader)
            }),
            // Writes `text` into the descriptor it is given.
            "write_into" => handle(call, |_, (fd, text): (Fd, String)| {
                fd.into_file().write_all(text.as_bytes()).unwrap();
            }),
            // How many descriptors came in the list, and the list back.
            "bounce" => handle(call, |_, (fds,): (Vec<Fd>,)| fds),
            // Emits `opened` with a pipe holding `text` to every subscriber.
            "emit_pipe" => handle(call, |call, (text,): (String,)| {
                let (reader, mut writer) = pipe();
                writer.write_all(text.as_bytes()).unwrap();
                call.daemon().emit("opened", &(Fd::from(reader),)).unwrap()
            }),
            // Holds its descriptor until `release` is written into the pipe it is given.
            "hold" => async move {
                let (fd,): (Fd,) = match call.decode_args() {
                    Ok(args) => args,
                    Err(reply) => return reply,
                };
                let mut file = tokio::fs::File::from_std(fd.into_file());
                let mut byte = [0];
                let _ = tokio::io::AsyncReadExt::read(&mut file, &mut byte).await;
                Reply::value(&())
            }
            .boxed(),
            _ => return None,
        };
        Some(runner.run(future))
    }
}

pub fn pipe() -> (File, File) {
    let mut ends = [0; 2];
    // SAFETY: `ends` has room for the two descriptors pipe2 writes.
    assert_eq!(
        unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    // SAFETY: both are fresh descriptors nothing else owns.
    unsafe { (File::from_raw_fd(ends[0]), File::from_raw_fd(ends[1])) }
}

/// Descriptors of this process open on the same file as `fd`, `fd` itself not counted: a
/// descriptor sent away and closed by the receiver (in this process) leaves 0.
pub fn other_copies(fd: &impl AsRawFd) -> usize {
    let target = |n: &str| std::fs::read_link(format!("/proc/self/fd/{n}")).ok();
    let own = fd.as_raw_fd().to_string();
    let ours = target(&own).unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|n| *n != own && target(n).as_ref() == Some(&ours))
        .count()
}

/// Waits until no descriptor but `fd` is open on its file: nothing leaked a copy.
pub async fn no_copies_left(fd: &impl AsRawFd) {
    eventually(|| other_copies(fd) == 0).await;
}

pub struct FdDaemon {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl FdDaemon {
    pub async fn start() -> FdDaemon {
        FdDaemon::start_with(&FD_INFO, DaemonOptions::default()).await
    }

    pub async fn start_with(info: &'static ProtocolInfo, options: DaemonOptions) -> FdDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let daemon = Daemon::new(info, FdService)
            .socket_path(&path)
            .options(options);
        tokio::spawn(daemon.serve());
        wait_for_socket(&path).await;
        FdDaemon { path, _dir: dir }
    }

    pub async fn client(&self) -> Client {
        Client::connect_to(&FD_INFO, &self.path).await.unwrap()
    }
}

fn read_all(fd: Fd) -> String {
    let mut text = String::new();
    fd.into_file().read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn a_returned_descriptor_is_the_daemons_open_file() {
    let daemon = FdDaemon::start().await;
    let client = daemon.client().await;
    let fd: Fd = client
        .call::<_, _, NoException>("pipe_with", &("from the daemon",))
        .await
        .unwrap();
    // The daemon dropped its writer when the handler returned: the pipe reads to its end.
    assert_eq!(read_all(fd), "from the daemon");
}

#[tokio::test]
async fn a_descriptor_argument_reaches_the_handler_and_the_callers_copy_stays_open() {
    let daemon = FdDaemon::start().await;
    let client = daemon.client().await;
    let (mut reader, writer) = pipe();
    let writer = Fd::from(writer);
    client
        .call::<_, (), NoException>("write_into", &(&writer, "into the app's pipe"))
        .await
        .unwrap();
    // The caller's own descriptor is still open and usable: sending duplicated it.
    let mut writer = writer.into_file();
    writer.write_all(b"!").unwrap();
    drop(writer);
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    assert_eq!(text, "into the app's pipe!");
    no_copies_left(&reader).await;
}

#[tokio::test]
async fn a_list_of_descriptors_goes_and_comes_back_in_order() {
    let daemon = FdDaemon::start().await;
    let client = daemon.client().await;
    let pipes: Vec<(File, File)> = (0..5).map(|_| pipe()).collect();
    let readers: Vec<Fd> = pipes
        .iter()
        .map(|(reader, _)| Fd::from(reader.try_clone().unwrap()))
        .collect();
    let back: Vec<Fd> = client
        .call::<_, _, NoException>("bounce", &(&readers,))
        .await
        .unwrap();
    drop(readers);
    assert_eq!(back.len(), 5);
    for (i, ((_, mut writer), fd)) in pipes.into_iter().zip(back).enumerate() {
        writer.write_all(format!("pipe {i}").as_bytes()).unwrap();
        drop(writer);
        assert_eq!(read_all(fd), format!("pipe {i}"));
    }
}

#[tokio::test]
async fn many_calls_with_descriptors_in_flight_at_once_each_get_their_own() {
    let daemon = FdDaemon::start().await;
    let client = daemon.client().await;
    let calls = (0..200).map(|i| {
        let client = client.clone();
        async move {
            let fd: Fd = client
                .call::<_, _, NoException>("pipe_with", &(format!("call {i}"),))
                .await
                .unwrap();
            assert_eq!(read_all(fd), format!("call {i}"));
        }
    });
    futures::future::join_all(calls).await;
}

#[tokio::test]
async fn calls_sent_together_each_attach_their_own_descriptor() {
    let daemon = FdDaemon::start().await;
    let client = daemon.client().await;
    // Pending calls go out through the writer's batches: each frame with a descriptor alone.
    let calls = (0..100).map(|i| {
        let client = client.clone();
        async move {
            let (mut reader, writer) = pipe();
            client
                .call::<_, (), NoException>("write_into", &(Fd::from(writer), format!("{i}")))
                .await
                .unwrap();
            let mut text = String::new();
            reader.read_to_string(&mut text).unwrap();
            assert_eq!(text, i.to_string());
        }
    });
    futures::future::join_all(calls).await;
}

#[tokio::test]
async fn an_event_carries_its_descriptor_to_every_subscriber() {
    let daemon = FdDaemon::start().await;
    let first = daemon.client().await;
    let second = daemon.client().await;
    let mut streams = Vec::new();
    for client in [&first, &first, &second] {
        streams.push(client.subscribe::<(Fd,)>("opened").await.unwrap());
    }
    let reached: usize = first
        .call::<_, _, NoException>("emit_pipe", &("shared",))
        .await
        .unwrap();
    assert_eq!(reached, 2);
    // Each stream (two of them on one connection) owns a descriptor of the same pipe.
    for stream in &mut streams {
        let (fd,) = stream.next().await.unwrap().unwrap();
        let mut file = fd.into_file();
        let mut byte = [0];
        file.read_exact(&mut byte).unwrap();
        assert!(b"shared".contains(&byte[0]));
    }
}

#[tokio::test]
async fn a_call_whose_indices_disagree_with_its_descriptors_gets_error_15_and_they_are_closed() {
    let daemon = FdDaemon::start().await;
    let mut raw = raw_fd_client(&daemon.path).await;
    let (reader, writer) = pipe();
    // Index 1 of a set of 1; a set of 2 referenced once; index 0 twice; an index and no set.
    let cases: [(&str, &[u8], usize); 4] = [
        ("write_into", &[0x92, 0x01, 0xa1, b'x'], 1),
        ("write_into", &[0x92, 0x00, 0xa1, b'x'], 2),
        ("bounce", &[0x91, 0x92, 0x00, 0x00], 1),
        ("write_into", &[0x92, 0x00, 0xa1, b'x'], 0),
    ];
    for (id, (method, args, attached)) in (1u64..).zip(cases) {
        let fds: Vec<OwnedFd> = (0..attached)
            .map(|_| OwnedFd::from(reader.try_clone().unwrap()))
            .collect();
        send_frame(&raw, &call_frame(id, method, args), &fds);
        drop(fds);
        match read_answer(&mut raw).await {
            Answer::Error {
                id: answered,
                code,
                message,
            } => {
                assert_eq!((answered, code), (id, 15), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The connection goes on, and the daemon kept no copy of the read end.
    send_frame(&raw, &call_frame(9, "bounce", &[0x91, 0x90]), &[]);
    assert!(matches!(
        read_answer(&mut raw).await,
        Answer::Value { id: 9, .. }
    ));
    drop(reader);
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn an_fd_that_is_not_an_unsigned_integer_is_a_wrong_shape_error_2() {
    let daemon = FdDaemon::start().await;
    let mut raw = raw_fd_client(&daemon.path).await;
    let (reader, writer) = pipe();
    send_frame(
        &raw,
        &call_frame(1, "write_into", &[0x92, 0xa1, b'0', 0xa1, b'x']),
        &[OwnedFd::from(reader)],
    );
    match read_answer(&mut raw).await {
        Answer::Error { id: 1, code, .. } => assert_eq!(code, 2),
        other => panic!("{other:?}"),
    }
    no_copies_left(&writer).await;
}

// ---- raw peers ------------------------------------------------------------------------------

/// A blocking raw connection to `path` that completed the handshake for `FD_INFO`.
pub async fn raw_fd_client(path: &std::path::Path) -> StdStream {
    raw_client_for(path, &FD_INFO).await
}

pub async fn raw_client_for(path: &std::path::Path, info: &ProtocolInfo) -> StdStream {
    let path = path.to_owned();
    let hello = frame(&hello_for(info));
    tokio::task::spawn_blocking(move || {
        let mut stream = StdStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(&hello).unwrap();
        let welcome = read_body(&mut stream).unwrap();
        assert_eq!(&welcome[..2], &[0x94, 0x00], "expected a welcome");
        stream
    })
    .await
    .unwrap()
}

pub fn hello_for(info: &ProtocolInfo) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_array_len(&mut b, 6).unwrap();
    rmp::encode::write_uint(&mut b, 0).unwrap();
    rmp::encode::write_str(&mut b, "medium").unwrap();
    rmp::encode::write_uint(&mut b, 2).unwrap();
    rmp::encode::write_str(&mut b, info.namespace).unwrap();
    rmp::encode::write_str(&mut b, info.class).unwrap();
    rmp::encode::write_str(&mut b, info.fingerprint).unwrap();
    b
}

/// A whole CALL frame with `args` already encoded.
pub fn call_frame(id: u64, method: &str, args: &[u8]) -> Vec<u8> {
    frame(&crate::support::call_body(id, method, args))
}

/// Sends `bytes` with one `sendmsg`, `fds` attached (none: a plain send).
pub fn send_frame(stream: &StdStream, bytes: &[u8], fds: &[OwnedFd]) {
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    let space = unsafe { libc::CMSG_SPACE((raw.len() * 4) as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: all-zero is a valid msghdr; the buffers outlive the call.
    let written = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !raw.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN((raw.len() * 4) as u32) as _;
            std::ptr::copy_nonoverlapping(
                raw.as_ptr(),
                libc::CMSG_DATA(cmsg).cast::<i32>(),
                raw.len(),
            );
        }
        libc::sendmsg(stream.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    assert_eq!(
        written,
        bytes.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

fn read_body(stream: &mut StdStream) -> Option<Vec<u8>> {
    let mut len = [0; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body)
}

pub use crate::support::Answer;

/// The next reply or fatal error on a blocking raw connection.
pub async fn read_answer(stream: &mut StdStream) -> Answer {
    let mut reader = stream.try_clone().unwrap();
    let body = tokio::task::spawn_blocking(move || read_body(&mut reader))
        .await
        .unwrap()
        .expect("an answer");
    Answer::of(&body)
}

// ---- hostile applications -------------------------------------------------------------------

/// `FD_INFO` without `fd` anywhere in its spec.
const NO_FD_INFO: ProtocolInfo = ProtocolInfo {
    uses_fd: false,
    ..FD_INFO
};

/// Reads the `FATAL` the daemon ends the connection with: code 15, then the end of the stream.
async fn fatal_15(stream: &mut StdStream) -> String {
    match read_answer(stream).await {
        Answer::Fatal { code: 15, message } => {
            let mut reader = stream.try_clone().unwrap();
            let closed = tokio::task::spawn_blocking(move || read_body(&mut reader).is_none());
            assert!(closed.await.unwrap(), "disconnected after the FATAL");
            message
        }
        other => panic!("expected FATAL 15: {other:?}"),
    }
}

/// `n` read ends of one pipe, and its write end, which has no other copy once they are closed.
fn read_ends(n: usize) -> (Vec<OwnedFd>, File) {
    let (reader, writer) = pipe();
    let ends = (0..n)
        .map(|_| OwnedFd::from(reader.try_clone().unwrap()))
        .collect();
    (ends, writer)
}

/// Sends `bytes` with `n` descriptors attached as the application on `stream`, expects
/// `FATAL` 15 with a message containing `why`, and checks the daemon closed them all.
async fn refused_with_15(stream: &mut StdStream, bytes: &[u8], n: usize, why: &str) {
    let (ends, writer) = read_ends(n);
    send_frame(stream, bytes, &ends);
    drop(ends);
    let message = fatal_15(stream).await;
    assert!(message.contains(why), "{message}");
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn a_protocol_without_fd_refuses_any_descriptor_with_fatal_15() {
    let daemon = FdDaemon::start_with(&NO_FD_INFO, DaemonOptions::default()).await;
    let mut raw = raw_client_for(&daemon.path, &NO_FD_INFO).await;
    let call = call_frame(1, "bounce", &[0x91, 0x91, 0x00]);
    refused_with_15(&mut raw, &call, 1, "this protocol has no `fd` value").await;
}

#[tokio::test]
async fn descriptors_on_a_message_without_values_are_fatal_15() {
    let daemon = FdDaemon::start().await;
    let subscribe = frame(&crate::support::subscription(1, "opened", true));
    let mut raw = raw_fd_client(&daemon.path).await;
    refused_with_15(&mut raw, &subscribe, 1, "attached to a SUBSCRIBE").await;
    let mut builtin = vec![0x94, 0x04, 0x01];
    rmp::encode::write_str(&mut builtin, "introspect").unwrap();
    builtin.push(0x90);
    let mut raw = raw_fd_client(&daemon.path).await;
    refused_with_15(&mut raw, &frame(&builtin), 2, "attached to a BUILTIN").await;
    // On the hello itself.
    let mut raw = StdStream::connect(&daemon.path).unwrap();
    refused_with_15(&mut raw, &frame(&hello_for(&FD_INFO)), 1, "the handshake").await;
}

#[tokio::test]
async fn more_descriptors_than_max_fds_per_frame_are_fatal_15() {
    // Room for 4 in the control buffer (it is rounded up to 8 bytes): 4 arrive and are counted.
    let options = DaemonOptions {
        max_fds_per_frame: 3,
        ..DaemonOptions::default()
    };
    let daemon = FdDaemon::start_with(&FD_INFO, options).await;
    let call = call_frame(1, "bounce", &[0x91, 0x94, 0x00, 0x01, 0x02, 0x03]);
    let mut raw = raw_fd_client(&daemon.path).await;
    refused_with_15(
        &mut raw,
        &call,
        4,
        "exceed the limit of 3 (max_fds_per_frame)",
    )
    .await;
    // Far more than the buffer holds: the kernel truncates (MSG_CTRUNC).
    let mut raw = raw_fd_client(&daemon.path).await;
    refused_with_15(&mut raw, &call, 40, "descriptors lost").await;
}

#[tokio::test]
async fn descriptors_in_the_middle_of_a_frame_are_fatal_15() {
    let daemon = FdDaemon::start().await;
    let mut raw = raw_fd_client(&daemon.path).await;
    let call = call_frame(1, "bounce", &[0x91, 0x91, 0x00]);
    let (head, rest) = call.split_at(6);
    send_frame(&raw, head, &[]);
    // Until the daemon has read the head, so the rest comes in a read of its own.
    eventually(|| unread_by_peer(&raw) == 0).await;
    let (ends, writer) = read_ends(1);
    send_frame(&raw, rest, &ends);
    drop(ends);
    let message = fatal_15(&mut raw).await;
    assert!(message.contains("in the middle of a frame"), "{message}");
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn more_descriptors_held_by_running_calls_than_max_fds_in_flight_are_fatal_15() {
    let options = DaemonOptions {
        max_fds_in_flight: 2,
        ..DaemonOptions::default()
    };
    let daemon = FdDaemon::start_with(&FD_INFO, options).await;
    let mut raw = raw_fd_client(&daemon.path).await;
    // Each `hold` keeps its read end until a byte arrives: two stay running.
    let (ends, writer) = read_ends(3);
    for (id, end) in (1u64..).zip(&ends[..2]) {
        let call = call_frame(id, "hold", &[0x91, 0x00]);
        send_frame(&raw, &call, std::slice::from_ref(end));
    }
    let call = call_frame(3, "hold", &[0x91, 0x00]);
    send_frame(&raw, &call, &ends[2..]);
    drop(ends);
    let message = fatal_15(&mut raw).await;
    assert!(message.contains("(max_fds_in_flight)"), "{message}");
    // The running calls end (and close theirs) once they read a byte.
    (&writer).write_all(b"go").unwrap();
    no_copies_left(&writer).await;
}

/// Bytes `stream` sent that its peer has not read yet (`SIOCOUTQ`).
fn unread_by_peer(stream: &StdStream) -> i32 {
    let mut unread: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int.
    assert_eq!(
        unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut unread) },
        0
    );
    unread
}

// ---- hostile daemons ------------------------------------------------------------------------

/// A fake daemon on a socket in `dir`: welcomes one application, then answers its n-th frame
/// (from 0) with the frames and descriptors `answer(n)` gives, each sent by its own `sendmsg`.
fn fake_daemon(
    dir: &tempfile::TempDir,
    answer: impl Fn(usize) -> Vec<(Vec<u8>, Vec<OwnedFd>)> + Send + 'static,
) -> PathBuf {
    let path = dir.path().join("socket");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_body(&mut stream).unwrap();
        let mut welcome = vec![0x94, 0x00];
        rmp::encode::write_str(&mut welcome, "medium").unwrap();
        welcome.extend([0x02, 0xa1, b'x']);
        stream.write_all(&frame(&welcome)).unwrap();
        for n in 0.. {
            if read_body(&mut stream).is_none() {
                return;
            }
            for (bytes, fds) in answer(n) {
                send_frame(&stream, &bytes, &fds);
            }
        }
    });
    path
}

/// `VALUE [2, id, value]` with `value` encoded.
fn value_frame(id: u8, value: &[u8]) -> Vec<u8> {
    let mut body = vec![0x93, 0x02, id];
    body.extend_from_slice(value);
    frame(&body)
}

#[tokio::test]
async fn a_reply_whose_indices_disagree_with_its_descriptors_fails_that_call_only() {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_writer) = read_ends(2);
    let first = std::sync::Mutex::new(Some(first));
    let path = fake_daemon(&dir, move |n| match n {
        // Index 0 of a set of 2: one descriptor referenced by no value.
        0 => vec![(
            value_frame(1, &[0x00]),
            first.lock().unwrap().take().unwrap(),
        )],
        _ => {
            let (reader, mut writer) = pipe();
            writer.write_all(b"second").unwrap();
            vec![(value_frame(2, &[0x00]), vec![OwnedFd::from(reader)])]
        }
    });
    let client = Client::connect_to(&FD_INFO, &path).await.unwrap();
    let error = client
        .call::<_, Fd, NoException>("open", &())
        .await
        .unwrap_err();
    match error {
        CallError::Protocol(e) => {
            assert_eq!(e.code, ErrorCode::BadDescriptors);
            assert!(e.message.contains("referenced by no `fd` value"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    no_copies_left(&first_writer).await;
    let fd: Fd = client.call::<_, _, NoException>("open", &()).await.unwrap();
    assert_eq!(read_all(fd), "second");
}

#[tokio::test]
async fn descriptors_on_an_error_reply_close_the_clients_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (ends, writer) = read_ends(1);
    let ends = std::sync::Mutex::new(Some(ends));
    let path = fake_daemon(&dir, move |_| {
        let mut body = vec![0x94, 0x04, 0x01, 0x05];
        rmp::encode::write_str(&mut body, "no").unwrap();
        vec![(
            frame(&body),
            ends.lock().unwrap().take().unwrap_or_default(),
        )]
    });
    let client = Client::connect_to(&FD_INFO, &path).await.unwrap();
    let error = client
        .call::<_, (), NoException>("open", &())
        .await
        .unwrap_err();
    let CallError::Transport(Error::BadDescriptors(why)) = error else {
        panic!("{error:?}");
    };
    assert!(why.contains("carries no values"), "{why}");
    assert!(client.is_closed());
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn a_client_of_a_protocol_without_fd_closes_on_any_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let (ends, writer) = read_ends(1);
    let ends = std::sync::Mutex::new(Some(ends));
    let path = fake_daemon(&dir, move |_| {
        vec![(
            value_frame(1, &[0x00]),
            ends.lock().unwrap().take().unwrap_or_default(),
        )]
    });
    let client = Client::connect_to(&NO_FD_INFO, &path).await.unwrap();
    let error = client
        .call::<_, u8, NoException>("open", &())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CallError::Transport(Error::BadDescriptors(why)) if why.contains("no `fd`")),
        "{error:?}"
    );
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn a_client_over_its_max_fds_in_flight_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (ends, writer) = read_ends(3);
    let ends = std::sync::Mutex::new(Some(ends));
    // Three events nobody takes from the stream: each holds its descriptor in flight.
    let path = fake_daemon(&dir, move |_| {
        let mut frames = vec![(frame(&crate::support::acknowledgement(1)), Vec::new())];
        for end in ends.lock().unwrap().take().unwrap_or_default() {
            let mut body = vec![0x93, 0x05];
            rmp::encode::write_str(&mut body, "opened").unwrap();
            body.extend([0x91, 0x00]);
            frames.push((frame(&body), vec![end]));
        }
        frames
    });
    let options = ClientOptions {
        socket_path: Some(path),
        max_fds_in_flight: 2,
        ..ClientOptions::default()
    };
    let client = Client::connect_with(&FD_INFO, options).await.unwrap();
    let stream = client.subscribe::<(Fd,)>("opened").await.unwrap();
    eventually(|| client.is_closed()).await;
    drop(stream);
    no_copies_left(&writer).await;
}

#[tokio::test]
async fn an_event_whose_indices_disagree_is_an_error_on_its_stream_which_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (ends, writer) = read_ends(1);
    let ends = std::sync::Mutex::new(Some(ends));
    let path = fake_daemon(&dir, move |_| {
        let event = |index: u8| {
            let mut body = vec![0x93, 0x05];
            rmp::encode::write_str(&mut body, "opened").unwrap();
            body.extend([0x91, index]);
            frame(&body)
        };
        let (good, _) = read_ends(1);
        vec![
            (frame(&crate::support::acknowledgement(1)), Vec::new()),
            (event(3), ends.lock().unwrap().take().unwrap_or_default()),
            (event(0), good),
        ]
    });
    let client = Client::connect_to(&FD_INFO, &path).await.unwrap();
    let mut stream = client.subscribe::<(Fd,)>("opened").await.unwrap();
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&error, medium_runtime::EventError::BadDescriptors(why) if why.contains("fd index 3")),
        "{error}"
    );
    no_copies_left(&writer).await;
    assert!(stream.next().await.unwrap().is_ok());
}
