//! kazoo's own test suite (Debian's `python3-kazoo`) run, unmodified, against a cluster
//! given by its connect string, by the harness in `checker/kazoo/`. The harness is built
//! into this program and written to a temporary directory for each run. When the cluster
//! is ours, its members are stopped and started for the tests that ask for it, through
//! a control address on 127.0.0.1 that only this run listens on.

use crate::members::Members;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HARNESS: &str = include_str!("../kazoo/harness.py");
const EXPECTATIONS: &str = include_str!("../kazoo/expectations.py");
/// Debian's Python, which sees the `python3-*` packages the harness needs.
pub const DEBIAN_PYTHON: &str = "/usr/bin/python3";
/// How long one control request (stop or start a member) may take to arrive.
const CONTROL_READ: Duration = Duration::from_secs(10);

/// How to run the suite.
#[derive(Clone, Debug)]
pub struct Options {
    /// Python with kazoo, pytest, mock and objgraph importable.
    pub python: PathBuf,
    /// Test modules or groups, comma separated (`recipes`, `client`, `all`, `test_lock`).
    pub modules: String,
    /// What the cluster is (`zookeeper`, `coord`): selects the known failures.
    pub target: String,
    /// Only the tests matching this pytest `-k` expression.
    pub filter: Option<String>,
    /// Seconds one test may take before it counts as failed.
    pub test_timeout: u64,
    /// How long the whole run may take before it is stopped.
    pub deadline: Duration,
}

/// Runs the suite against `connect`; with `members`, tests may stop and start them.
/// True if every test's outcome was the expected one (printed on stdout, per module);
/// an error if the suite cannot run or `stop` is set.
pub fn run(
    connect: &str,
    members: Option<&mut dyn Members>,
    options: &Options,
    stop: &AtomicBool,
) -> Result<bool, String> {
    check_python(&options.python)?;
    let dir = (tempfile::Builder::new().prefix("coord-kazoo-").tempdir())
        .map_err(|e| format!("cannot make a directory for the harness: {e}"))?;
    write(&dir.path().join("harness.py"), HARNESS)?;
    write(&dir.path().join("expectations.py"), EXPECTATIONS)?;
    let mut control = match members {
        Some(members) => Some(Control::new(members)?),
        None => None,
    };

    let mut command = Command::new(&options.python);
    command
        .arg(dir.path().join("harness.py"))
        .args(["--connect", connect])
        .args(["--target", &options.target])
        .args(["--modules", &options.modules])
        .args(["--test-timeout", &options.test_timeout.to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(filter) = &options.filter {
        command.args(["--filter", filter]);
    }
    if let Some(control) = &control {
        command.args(["--control", &control.addr()]);
    }
    let child =
        (command.spawn()).map_err(|e| format!("cannot start {}: {e}", options.python.display()))?;
    let mut harness = Harness(child);
    let deadline = Instant::now() + options.deadline;
    let status = loop {
        if let Some(status) = harness.0.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if stop.load(Ordering::Relaxed) {
            return Err("interrupted".into());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "kazoo's tests did not end within {:?}",
                options.deadline
            ));
        }
        match &mut control {
            Some(control) => control.serve_for(Duration::from_millis(100)),
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!("the kazoo harness failed ({status})")),
    }
}

/// Whether `python` can import what kazoo's tests need; if not, which packages to install.
fn check_python(python: &Path) -> Result<(), String> {
    let imports = "import kazoo.tests, pytest, mock, objgraph";
    let out = Command::new(python).args(["-c", imports]).output();
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{} cannot run kazoo's tests ({}): apt-get install python3-kazoo python3-pytest \
             python3-mock python3-objgraph",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => Err(format!(
            "cannot run {}: {e} (apt-get install python3)",
            python.display()
        )),
    }
}

/// The harness process, killed by its pid if the run ends early (error, panic, Ctrl-C).
struct Harness(Child);

impl Drop for Harness {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Where the harness asks for a member to be stopped or started: one line, `stop I` or
/// `start I`, answered `ok` once done or `error: WHY`.
struct Control<'a> {
    listener: TcpListener,
    members: &'a mut dyn Members,
}

impl<'a> Control<'a> {
    fn new(members: &'a mut dyn Members) -> Result<Self, String> {
        let listener = (TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen for the harness: {e}"))?;
        Ok(Control { listener, members })
    }

    fn addr(&self) -> String {
        (self.listener.local_addr()).map_or_else(|e| e.to_string(), |a| a.to_string())
    }

    /// Answers the requests that arrive within `time`.
    fn serve_for(&mut self, time: Duration) {
        let end = Instant::now() + time;
        while Instant::now() < end {
            match self.listener.accept() {
                Ok((stream, _)) => self.answer(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn answer(&mut self, stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(CONTROL_READ));
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).is_err() {
            return;
        }
        let request = line.trim();
        let answer = match self.perform(request) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        println!("[harness asked: {request}: {answer}]");
        let _ = (&stream).write_all(format!("{answer}\n").as_bytes());
    }

    fn perform(&mut self, request: &str) -> Result<(), String> {
        let members = &mut self.members;
        let (verb, index) = request.split_once(' ').unwrap_or((request, ""));
        let i: usize = index
            .parse()
            .map_err(|_| format!("bad request {request:?}"))?;
        if i >= members.count() {
            return Err(format!("no member {i}"));
        }
        match verb {
            "stop" => members.stop(i),
            "start" => members.start(i),
            _ => Err(format!("bad request {request:?}")),
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
