//! The `dsvcr` binary as a child process: start it, wait for its ready line, signal it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const READY_PREFIX: &str = "dsvcr listening on ";

/// `dsvcr ARGS` with piped output and the default log level.
pub(crate) fn dsvcr(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dsvcr"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `dsvcr ARGS` run in `folder`, so relative paths in ARGS are relative to it.
pub(crate) fn dsvcr_in(folder: &Path, args: &[&str]) -> Command {
    let mut command = dsvcr(args);
    command.current_dir(folder);
    command
}

/// Runs a command that is expected to exit quickly; returns (exit code, stdout, stderr).
pub(crate) fn run_to_exit(args: &[&str]) -> (i32, String, String) {
    output_of(dsvcr(args))
}

fn output_of(mut command: Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().expect("exited, not signalled"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A dsvcr process that has printed its ready line; killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) ready_line: String,
    stdout: Option<BufReader<ChildStdout>>,
    /// Reads stderr as it comes, so a chatty child never blocks on a full pipe.
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    pub(crate) fn start(args: &[&str]) -> Running {
        Self::spawn(dsvcr(args))
    }

    /// Starts with `RUST_LOG` set to `level`.
    pub(crate) fn start_logging(args: &[&str], level: &str) -> Running {
        let mut command = dsvcr(args);
        command.env("RUST_LOG", level);
        Self::spawn(command)
    }

    /// Starts in `folder`, so relative paths in `args` are relative to it.
    pub(crate) fn start_in(folder: &Path, args: &[&str]) -> Running {
        Self::spawn(dsvcr_in(folder, args))
    }

    /// Starts `command`, any command that ends up as dsvcr (e.g. a shell that execs it).
    pub(crate) fn spawn_command(command: Command) -> Running {
        Self::spawn(command)
    }

    fn spawn(mut command: Command) -> Running {
        let mut child = command.spawn().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            stderr_pipe.read_to_string(&mut text).unwrap();
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready_line = String::new();
        stdout.read_line(&mut ready_line).unwrap();
        if !ready_line.starts_with(READY_PREFIX) {
            let _ = child.kill();
            let stderr = stderr.join().unwrap();
            panic!("dsvcr did not start: {ready_line:?}\n{stderr}");
        }
        Running {
            child,
            ready_line,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// The URL from the ready line, e.g. `http://127.0.0.1:41237`.
    pub(crate) fn url(&self) -> String {
        self.ready_line.trim_end()[READY_PREFIX.len()..].to_owned()
    }

    /// The address from the ready line, e.g. `127.0.0.1:41237`.
    pub(crate) fn addr(&self) -> String {
        let url = self.url();
        url.split_once("://")
            .map_or(url.clone(), |(_, addr)| addr.to_owned())
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Everything printed on stdout after the ready line, once the process has exited.
    pub(crate) fn rest_of_stdout(&mut self) -> String {
        let mut rest = String::new();
        if let Some(stdout) = self.stdout.as_mut() {
            stdout.read_to_string(&mut rest).unwrap();
        }
        rest
    }

    /// Waits up to 15 s for the process to exit; returns its exit code and stderr.
    pub(crate) fn wait(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = self.stderr.take().unwrap().join().unwrap();
                return (status.code().expect("exited, not killed"), stderr);
            }
            assert!(Instant::now() < deadline, "dsvcr did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then [`Self::wait`].
    pub(crate) fn stop(self) -> (i32, String) {
        self.signal("TERM");
        self.wait()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
