//! [`Spawned`]: a daemon or app process a test runs. The test waits for its stdout lines with
//! a deadline, writes commands to its stdin, and the process is killed when dropped, so a
//! failed assertion never leaves a daemon or app running.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for one expected line or exit: generous, as the machine may be busy
/// building other tests' workspaces.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running child process with piped stdin, stdout and stderr.
#[derive(Debug)]
pub struct Spawned {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line received so far, for failure messages.
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Spawned {
    /// Starts `command`; `name` says which process it is in failure messages.
    pub fn spawn(name: &str, command: &mut Command) -> Spawned {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start the {name}: {err}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        // Threads, not polling: a pipe nobody reads fills up and blocks the child.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            // A read error just ends the capture; the text so far is still worth showing.
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Spawned {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `line` and a newline to the process's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        let written = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        if let Err(err) = written {
            self.fail(&format!("does not read its stdin: {err}"));
        }
    }

    /// The next stdout line for which `wanted` holds, skipping the others; panics with all
    /// output so far when none comes within the deadline or the process closes stdout.
    pub fn wait_for_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail(&format!("printed no {what} in time")),
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("ended without printing {what}"))
                }
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit on its own; returns its status, every stdout line and its
    /// stderr.
    pub fn wait_for_exit(&mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => self.fail("did not exit in time"),
                Err(err) => panic!("cannot wait for the {}: {err}", self.name),
            }
        };
        // The reader thread ends at end of file, after sending every line.
        self.seen.extend(self.lines.iter());
        let stderr = self.take_stderr();
        (status, self.seen.clone(), stderr)
    }

    /// The stderr text, once the process has closed it.
    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Panics saying what went wrong, with what the process printed so far. Stderr only once
    /// it exited (reading it earlier would wait for the process to end).
    fn fail(&mut self, problem: &str) -> ! {
        self.seen.extend(self.lines.try_iter());
        let stderr = if self.is_running() {
            "(still running)".to_owned()
        } else {
            self.take_stderr()
        };
        panic!(
            "the {name} {problem}\n--- {name} stdout ---\n{}\n--- {name} stderr ---\n{stderr}",
            self.seen.join("\n"),
            name = self.name,
        )
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Killing an exited process fails harmlessly; waiting reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
