//! `coord test kv|zk|chain`: a real cluster under kills, restarts, partitions and pauses,
//! with a recorded and checked history. A correct cluster passes (zk with `sync` reads); a
//! kv leader that serves reads without confirming it still leads is caught, and so are
//! zk's plain reads, which any server answers from what it has applied, a zk server that
//! ignores the version a conditional set expects, and chain nodes that act on messages of
//! an older epoch, append updates wherever they arrive or answer reads without a lease;
//! a follower cut off by a partition raises no term with pre-vote, and does without it;
//! Ctrl-C stops every node. coord's zk and a real ZooKeeper both pass over ZooKeeper's
//! own protocol when their leader is killed. No test asserts a time: each run is bounded by its own
//! duration and timeouts, and each wait here by `WAIT`.

mod common;

use common::coord_test::{coord_test, passes, summary};
use common::{COORD, WAIT};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A 20-second run of `system` with `faults` and `args` is reported not linearizable,
/// with the window that shows why, and exits with status 1; the fault hit `fault`.
fn caught(system: &str, faults: &str, args: &[&str], fault: &str) {
    let dir = tempfile::tempdir().unwrap();
    let args = [&["--duration", "20", "--faults", faults], args].concat();
    let out = coord_test(system, dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(summary(&stdout, "checked").starts_with("NOT linearizable"));
    assert!(
        stdout.contains("<- cannot be linearized"),
        "no window shown"
    );
    assert!(summary(&stdout, "verdict").starts_with("FAIL: not linearizable"));
    assert!(stdout.contains(fault), "no fault hit {fault}");
}

const EVERY_FAULT: &str = "kill,restart,partition,pause,failover-pause";

#[test]
fn a_correct_kv_cluster_passes_under_kills_restarts_partitions_and_pauses() {
    passes("kv", "kv", EVERY_FAULT, &[]);
}

/// Pre-vote at run time: without it, a follower cut off by a partition campaigns at every
/// election timeout, and its higher term deposes the leader when it returns; with it (the
/// default) the follower keeps its term, so the run ends in a lower one.
#[test]
fn pre_vote_keeps_a_cut_off_follower_from_raising_the_term() {
    let highest_term = |extra: &[&str]| -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let faults = [
            "--duration",
            "8",
            "--faults",
            "partition",
            "--target",
            "follower",
        ];
        let out = coord_test("kv", dir.path(), &[&faults, extra].concat());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(summary(&stdout, "verdict"), "PASS");
        assert!(stdout.contains("fault: partition"), "no partition");
        let elections = summary(&stdout, "elections");
        elections
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let with = highest_term(&[]);
    let without = highest_term(&["--no-pre-vote"]);
    assert!(
        with < without,
        "term {with} with pre-vote, {without} without"
    );
}

/// Without pre-vote and check-quorum: with them, a leader cut off steps down within about
/// two election timeouts, which narrows the window in which it answers stale reads (it
/// does not close it: leases need bounded clocks) to one that a loaded machine can miss.
/// Without them the cut-off leader keeps answering through the partition, and one key
/// makes every write at the new leader a write its reads miss.
#[test]
fn a_kv_leader_serving_stale_reads_in_a_partition_is_caught() {
    let leader = "(the leader) cut off";
    let args = [
        "--bug",
        "stale-read",
        "--target",
        "leader",
        "--no-pre-vote",
        "--keys",
        "1",
    ];
    caught("kv", "partition", &args, leader);
}

#[test]
fn zk_with_sync_reads_passes_under_kills_restarts_partitions_and_pauses() {
    passes("zk", "znode-data", EVERY_FAULT, &[]);
}

/// Over ZooKeeper's own protocol: the clients' sessions outlive each leader killed under
/// them, moving to another server with the last zxid they saw; what they were not
/// answered is unknown, and the history of writes and sync reads is linearizable.
#[test]
fn zk_over_zookeepers_protocol_passes_when_its_leader_is_killed() {
    let args = ["--protocol", "zookeeper", "--target", "leader"];
    passes("zk", "znode-data", "kill,restart", &args);
}

/// The same workload and client code against a real ZooKeeper 3.8 ensemble (Debian's
/// package), whose leader is found by `srvr` and killed.
#[test]
fn zookeeper_passes_when_its_leader_is_killed() {
    let args = ["--server", "zookeeper", "--target", "leader"];
    passes("zk", "znode-data", "kill,restart", &args);
}

/// A server that sets data whatever version the call expects lets a conditional write
/// succeed over another client's (no fault needed; the run injects partitions anyway).
#[test]
fn a_zk_server_ignoring_the_expected_version_is_caught() {
    caught("zk", "partition", &["--bug", "ignore-version"], "fault: ");
}

/// The stale-read hunt, with `--faults partition`: a follower cut off from the others
/// answers its sessions' plain reads from what it has while the others commit writes; its
/// clients leave it only at their first write, so the workload is nine reads in ten, of
/// one key, by 8 clients.
const STALE_HUNT: [&str; 10] = [
    "--reads",
    "local",
    "--target",
    "follower",
    "--keys",
    "1",
    "--clients",
    "8",
    "--read-share",
    "90",
];

#[test]
fn zk_plain_reads_at_any_server_are_caught_stale() {
    caught("zk", "partition", &STALE_HUNT, "(a follower) cut off");
}

/// The same hunt over ZooKeeper's protocol: its plain reads are judged as ZooKeeper
/// promises them, per session, and pass; judged linearizable, a stricter check than
/// ZooKeeper's promise (`coord history check` of the same history), a stale read from the
/// cut-off follower is flagged. So the run's own check is not blind to stale reads: they
/// are there, and are what ZooKeeper allows.
#[test]
fn zk_plain_reads_over_zookeepers_protocol_are_stale_yet_never_older_than_their_session_saw() {
    let dir = tempfile::tempdir().unwrap();
    let run = [
        "--duration",
        "20",
        "--faults",
        "partition",
        "--protocol",
        "zookeeper",
    ];
    let out = coord_test("zk", dir.path(), &[&run[..], &STALE_HUNT].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit status {}", out.status);
    assert_eq!(summary(&stdout, "verdict"), "PASS");
    assert!(
        stdout.contains("(a follower) cut off"),
        "no follower cut off"
    );
    let sessions = summary(&stdout, "sessions");
    assert!(
        sessions.ends_with("none older than its session had seen"),
        "{sessions}"
    );
    let strict = Command::new(COORD)
        .args(["history", "check", "--spec", "znode-data"])
        .arg(dir.path().join("history.jsonl"))
        .output()
        .unwrap();
    let verdict = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(1), "{verdict}");
    assert!(verdict.contains("get(/k0)") && verdict.contains("<- cannot be linearized"));
}

/// A node cut off or paused while the manager removes it learns so from the manager's
/// answer to its next heartbeat and joins again; meanwhile its lease has run out, so it
/// answers no read from a history the chain has moved past.
#[test]
fn a_chain_passes_under_kills_restarts_partitions_and_pauses() {
    passes("chain", "kv", EVERY_FAULT, &[]);
}

#[test]
fn craq_reads_pass_under_kills_restarts_partitions_and_pauses() {
    passes("chain", "kv", EVERY_FAULT, &["--reads", "craq"]);
}

/// A tail cut off or paused and removed meanwhile, answering reads without a lease,
/// returns values the rebuilt chain has overwritten.
#[test]
fn a_chain_answering_reads_without_a_lease_is_caught() {
    let args = ["--bug", "no-lease", "--target", "tail", "--settle", "5"];
    caught("chain", "partition,pause", &args, "(the tail)");
}

/// Nodes that append an update wherever it arrives, whatever its position, apply writes
/// twice: a node says what it holds on its resend timer, and the predecessor's resend
/// meets copies still in flight, or stale ones a paused node sends as it resumes.
#[test]
fn a_chain_appending_updates_wherever_they_arrive_is_caught() {
    let args = ["--bug", "no-position", "--target", "tail", "--settle", "5"];
    caught("chain", "pause", &args, "stopped");
}

/// A head paused until the manager has rebuilt the chain without it wakes with the writes
/// of the clients that waited on it, and forwards them in its old epoch. Nodes that act
/// on an older epoch append them at the new head: any of them that its client has retried
/// there meanwhile is applied twice. (Positions alone do not stop this: each stale update
/// comes at the new head's length.) Many clients make many such writes.
#[test]
fn a_chain_acting_on_messages_of_an_older_epoch_is_caught() {
    let args = [
        "--bug",
        "old-epoch",
        "--target",
        "head",
        "--clients",
        "16",
        "--settle",
        "5",
    ];
    caught(
        "chain",
        "failover-pause",
        &args,
        "(the head) stopped until it is replaced",
    );
}

/// The `coord test` process: interrupted, then killed, when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: kill(2) on our own running child's pid has no memory effects.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + WAIT;
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ctrl_c_stops_the_run_and_every_node() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    let mut run = Running(
        Command::new(COORD)
            .args([
                "test",
                "kv",
                "--duration",
                "600",
                "--faults",
                "kill,restart",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(File::create(&out_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + WAIT;
    let read = || std::fs::read_to_string(&out_path).unwrap();
    while !read().contains("operations: ") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        read().contains("operations: "),
        "the run did not start: {}",
        read()
    );
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(run.0.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + WAIT;
    while matches!(run.0.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = run.0.try_wait().unwrap().expect("coord test stopped");
    assert_eq!(status.code(), Some(2));
    let out = read();
    assert!(out.contains("interrupted; the history so far"), "{out}");
    assert_stopped(summary(&out, "nodes"));
}

/// Every node of a `nodes:` line (addresses on 127.0.0.1) has stopped: its port is free.
fn assert_stopped(nodes: &str) {
    for addr in nodes.split_whitespace() {
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        assert!(
            UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "node {addr} is still running"
        );
    }
}

/// A reader of the output that goes away (`coord test ... | head`) ends the run, and the
/// run stops every node it started rather than die of the broken pipe and leave them.
#[test]
fn a_run_whose_output_is_closed_stops_every_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running(
        Command::new(COORD)
            .args(["test", "kv", "--duration", "3", "--settle", "5"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = run.0.stdout.take().unwrap();
    let nodes = (BufReader::new(stdout).lines().map_while(Result::ok))
        .find_map(|line| Some(line.strip_prefix("nodes:")?.to_string()))
        .expect("a nodes: line");
    // The reader is gone: the output's pipe is closed.
    let deadline = Instant::now() + WAIT;
    while matches!(run.0.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = run.0.try_wait().unwrap().expect("coord test ended");
    assert!(!status.success(), "{status}");
    assert_stopped(&nodes);
}
