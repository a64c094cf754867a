//! `coord lock acquire` on a real 3-process znode cluster: two processes contend for one
//! lock, and the second gets it only after the first releases, with a higher fencing
//! token; a waiter interrupted leaves the queue at once; with no server to reach, the
//! command fails clearly.

mod common;

use common::{expect_ok, free_ports, Background, Cluster, COORD, WAIT};
use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Command};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long the waiter is watched, while the first process holds the lock, for a grant
/// that must not come.
const HELD: Duration = Duration::from_millis(1_500);

/// The lines `stdout` prints, as they come (read by a thread that ends with the process).
fn lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line, which must come within [`WAIT`] and start with `prefix`.
fn expect_line(lines: &Receiver<String>, prefix: &str) -> String {
    let line = lines
        .recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("no line {prefix:?}: {e}"));
    assert!(line.starts_with(prefix), "{line:?} is not {prefix:?}...");
    line
}

/// The fencing token of a `holding ...` line.
fn token(holding: &str) -> u64 {
    let (_, token) = holding.rsplit_once("fencing token ").expect("a token");
    token.parse().unwrap()
}

#[test]
fn a_second_holder_gets_the_lock_only_after_the_first_releases_with_a_higher_token() {
    let cluster = Cluster::start_with("zk", 3, None, |_| {});

    let mut first = Background::spawn(cluster.client(&["lock", "acquire", "/l"]));
    let first_lines = lines(first.stdout());
    let first_token = token(&expect_line(&first_lines, "holding /l: node /l/lock-"));

    let mut second =
        Background::spawn(cluster.client(&["lock", "acquire", "/l", "--hold-ms", "0"]));
    let second_lines = lines(second.stdout());
    expect_line(&second_lines, "waiting for /l: node /l/lock-");
    // While the first holds the lock, the second is not granted it.
    match second_lines.recv_timeout(HELD) {
        Err(RecvTimeoutError::Timeout) => {}
        got => panic!("the second client, while the first held the lock: {got:?}"),
    }

    first.interrupt();
    expect_line(&first_lines, "released /l");
    let holding = expect_line(&second_lines, "holding /l: node /l/lock-");
    assert!(
        token(&holding) > first_token,
        "{holding}: not after {first_token}"
    );
    expect_line(&second_lines, "released /l");
    for process in [first, second] {
        let out = process.finish();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", out.status);
    }
}

/// A waiter interrupted deletes its node, and the waiter behind it, which watched that
/// node, looks again and gets the lock when the holder releases it.
#[test]
fn a_waiter_interrupted_leaves_the_queue_and_the_next_one_moves_up() {
    let cluster = Cluster::start_with("zk", 3, None, |_| {});
    let acquire = |hold: &[&str]| {
        let mut process =
            Background::spawn(cluster.client(&[&["lock", "acquire", "/l"], hold].concat()));
        let lines = lines(process.stdout());
        (process, lines)
    };
    let (holder, holder_lines) = acquire(&[]);
    expect_line(&holder_lines, "holding /l: node /l/lock-");
    let (middle, middle_lines) = acquire(&[]);
    let waiting = expect_line(&middle_lines, "waiting for /l: node /l/lock-");
    let (last, last_lines) = acquire(&["--hold-ms", "0"]);
    expect_line(&last_lines, "waiting for /l: node /l/lock-");

    middle.interrupt();
    let out = middle.finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let node = waiting.rsplit_once("node ").expect("a node").1;
    let withdrawn = format!("error: interrupted while waiting for /l; node {node} deleted");
    assert!(stderr.contains(&withdrawn), "{stderr}");
    let queue = expect_ok(cluster.client(&["zk", "ls", "/l"]).output().unwrap());
    assert_eq!(queue.lines().count(), 2, "{queue}");
    assert!(!queue.contains(node.trim_start_matches("/l/")), "{queue}");

    holder.interrupt();
    expect_line(&holder_lines, "released /l");
    expect_line(&last_lines, "holding /l: node /l/lock-");
    expect_line(&last_lines, "released /l");
    for process in [holder, last] {
        let out = process.finish();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", out.status);
    }
}

#[test]
fn with_no_server_to_reach_the_command_fails_clearly() {
    let nobody = format!("127.0.0.1:{}", free_ports(1)[0]);
    let mut command = Command::new(COORD);
    command.args([
        "lock",
        "acquire",
        "/l",
        "--cluster",
        &nobody,
        "--timeout",
        "1",
    ]);
    let out = Background::spawn(command).finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: no leader reachable within 1s"),
        "{stderr}"
    );
}
