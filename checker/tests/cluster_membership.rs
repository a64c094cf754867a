//! `coord cluster add` and `coord cluster remove` change a running kv cluster's members
//! (Raft dissertation §4.1): while clients write, a killed member is replaced by a new
//! one, no acknowledged write is lost, and the new member is needed for every majority
//! afterwards.

mod common;

use common::{expect_ok, Cluster, CLIENT_TIMEOUT, COORD, WAIT};
use coord::net::admin::request_stats;
use coord::net::config::ClusterConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most puts one writer makes.
const MAX_PUTS: usize = 400;

/// Clients that write fresh keys through `coord kv put`, one at a time each, until
/// stopped (or dropped), and remember the writes that were acknowledged.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Writers {
    fn start(config: &Path, count: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..count)
            .map(|w| {
                let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
                let config = config.to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..MAX_PUTS {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let (key, value) = (format!("w{w}-{i}"), format!("v{i}"));
                        let out = Command::new(COORD)
                            .args(["kv", "put", &key, &value, "--config"])
                            .arg(&config)
                            .args(["--timeout", CLIENT_TIMEOUT])
                            .output()
                            .unwrap();
                        let said = String::from_utf8_lossy(&out.stdout);
                        if out.status.success() {
                            assert_eq!(said.trim(), format!("ok: {key} is at version 1"));
                            acked.lock().unwrap().push((key, value));
                        }
                    }
                })
            })
            .collect();
        Writers {
            stop,
            acked,
            threads,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Waits until `more` writes more than now are acknowledged; panics after `WAIT`.
    fn wait_for_more(&self, more: usize, what: &str) {
        let target = self.acked() + more;
        let deadline = Instant::now() + WAIT;
        while self.acked() < target {
            assert!(Instant::now() < deadline, "no {more} writes {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the writers; the writes they had acknowledged.
    fn finish(mut self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().expect("a writer saw a wrong answer");
        }
        std::mem::take(&mut *self.acked.lock().unwrap())
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The process of a member that `cluster add` started (not a child of the test): killed
/// when dropped, by the pid that `add` printed or, if it printed none, that the member
/// wrote.
struct Added {
    pid_file: PathBuf,
    printed: Option<u32>,
}

impl Drop for Added {
    fn drop(&mut self) {
        if std::thread::panicking() {
            print_logs(self.pid_file.parent().unwrap());
        }
        let written = std::fs::read_to_string(&self.pid_file).ok();
        let pids = self
            .printed
            .into_iter()
            .chain(written.and_then(|p| p.trim().parse().ok()));
        for pid in pids {
            // SAFETY: kill(2) on the pid of a node this test started has no memory effects.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

/// The end of every node's log in `dir`, to tell why a run failed.
fn print_logs(dir: &Path) {
    for i in 0..4 {
        let log = std::fs::read_to_string(dir.join(format!("node-{i}.log"))).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!(
            "node-{i}.log:\n{}",
            lines[lines.len().saturating_sub(20)..].join("\n")
        );
    }
}

/// `member 3: 127.0.0.1:PORT started (pid PID), joining`: the address and pid.
fn started(out: &str) -> Option<(SocketAddr, u32)> {
    let line = out.lines().find(|l| l.contains(" started (pid "))?;
    let addr = line.split_whitespace().nth(2)?.parse().ok()?;
    let pid = line
        .split("(pid ")
        .nth(1)?
        .split(')')
        .next()?
        .parse()
        .ok()?;
    Some((addr, pid))
}

/// A number in a status line.
fn number(status: &str, name: &str) -> u64 {
    Cluster::field(status, name)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {status:?}"))
}

#[test]
fn a_killed_member_is_replaced_by_a_new_one_while_clients_write() {
    let mut cluster = Cluster::start(3, None);
    cluster.put("warm", "up");
    let writers = Writers::start(&cluster.config, 2);
    writers.wait_for_more(4, "before a member was killed");

    let dead = cluster.leader();
    cluster.kill(dead);
    writers.wait_for_more(4, "after the leader was killed");

    // A fourth member joins: started, caught up, and in the configuration.
    let add = cluster.coord(&["cluster", "add"]);
    let output = String::from_utf8_lossy(&add.stdout).to_string();
    let _added = Added {
        pid_file: cluster.dir.path().join("node-3.pid"),
        printed: started(&output).map(|(_, pid)| pid),
    };
    let output = expect_ok(add);
    let (new_addr, _) = started(&output).expect("add names the new member's address");
    assert!(
        output.contains("member 3: added; the members are 0, 1, 2, 3"),
        "{output}"
    );
    writers.wait_for_more(4, "after the new member was added");

    // The dead member leaves the configuration.
    let dead_id = dead.to_string();
    let remove = expect_ok(cluster.coord(&["cluster", "remove", &dead_id]));
    let rest: Vec<String> = (0..4)
        .filter(|&i| i != dead)
        .map(|i| i.to_string())
        .collect();
    let members = format!(
        "member {dead}: removed; the members are {}",
        rest.join(", ")
    );
    assert!(remove.contains(&members), "{remove}");
    assert!(
        remove.contains(&format!("member {dead}: was not running")),
        "{remove}"
    );
    writers.wait_for_more(4, "after the dead member was removed");
    let acked = writers.finish();

    // The cluster file names the change; a member removed is no member to remove again.
    let file = ClusterConfig::load(&cluster.config).unwrap();
    assert_eq!((file.added, file.removed), (vec![3], vec![dead]));
    let again = cluster.coord(&["cluster", "remove", &dead_id]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains(&format!("no member {dead} in")), "{stderr}");

    // The new member applies the whole log in a configuration of three, committed.
    let live: Vec<usize> = (0..3).filter(|&i| i != dead).collect();
    let statuses: Vec<String> = (live.iter())
        .filter_map(|&i| Some(cluster.stats(i)?.status))
        .collect();
    let commit = (statuses.iter())
        .map(|s| number(s, "commit"))
        .max()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let status = request_stats(new_addr, Duration::from_secs(2)).map(|r| r.status);
        let caught_up = status.as_ref().is_ok_and(|s| {
            number(s, "applied") >= commit && s.contains("members=3 config=committed")
        });
        if caught_up {
            break;
        }
        assert!(Instant::now() < deadline, "the new member: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // With another old member down, the new one is needed for every majority: every
    // acknowledged write reads back through it.
    let follower = (live.iter().copied()).find(|&i| {
        cluster
            .stats(i)
            .is_some_and(|s| !s.status.contains("role=leader"))
    });
    cluster.kill(follower.unwrap_or(live[0]));
    assert!(acked.len() >= 16, "{} writes acknowledged", acked.len());
    for (key, value) in &acked {
        assert_eq!(cluster.get(key).trim(), format!("{value} (version 1)"));
    }
}
