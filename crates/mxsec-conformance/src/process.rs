//! Programs the harness runs: finding them, running them to completion, and keeping a
//! long-running one with its output collected.

use std::borrow::BorrowMut;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;

/// The path of a program, from `PATH` or the system directories.
///
/// # Errors
///
/// [`Error::Missing`], naming the Debian package that has it.
pub fn program(name: &str) -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::Missing {
            program: name.to_owned(),
            package: match name {
                "ip" => "iproute2",
                "unbound" => "unbound",
                "python3" => "python3-venv",
                _ => "postfix",
            },
        })
}

/// Runs a command to completion.
///
/// # Errors
///
/// [`Error::Command`] with its output when it cannot start or exits with a failure.
pub fn run(mut command: impl BorrowMut<Command>) -> Result<Output, Error> {
    let command = command.borrow_mut();
    let output = command.output().map_err(|e| Error::Command {
        command: format!("{command:?}"),
        output: e.to_string(),
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(Error::Command {
            command: format!("{command:?}"),
            output: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// A long-running program, with its output collected line by line; killed on drop.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
}

impl Process {
    /// Starts `command`, collecting what it prints on stdout and stderr.
    ///
    /// # Errors
    ///
    /// [`Error::Command`] when it cannot start.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self, Error> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Command {
                command: format!("{command:?}"),
                output: e.to_string(),
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let (tx, log) = (tx.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
            lines,
        })
    }

    /// Waits up to `limit` for a line containing `text`.
    ///
    /// # Errors
    ///
    /// [`Error::NotReady`] with the output so far when it does not come.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(text) => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Err(self.not_ready(&format!("did not print {text:?}")))
                }
            }
        }
    }

    /// [`Error::NotReady`] for this program, saying `why`, with its exit status and output.
    pub fn not_ready(&mut self, why: &str) -> Error {
        Error::NotReady {
            program: self.name.clone(),
            why: format!(
                "{why} (exit status {:?})",
                self.child.try_wait().ok().flatten()
            ),
            output: self.output(),
        }
    }

    /// Everything the program printed so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .join("\n")
    }
}

impl Process {
    /// Sends the program `SIGHUP` (a daemon's reload).
    ///
    /// # Errors
    ///
    /// [`Error::Command`] when the signal cannot be sent.
    pub fn hang_up(&self) -> Result<(), Error> {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::HUP,
        )
        .map_err(|e| Error::Command {
            command: format!("kill -HUP {} ({})", self.child.id(), self.name),
            output: e.to_string(),
        })
    }

    /// Kills the program and waits for it to end.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}
