//! `coord lock acquire PATH`: the scalable lock recipe (`coord::recipes::scalable_lock`),
//! the very client program the `lock-scalable` checks run, as one client session. It
//! queues for the lock under PATH, prints when it holds the lock and its fencing token,
//! holds it until Ctrl-C (or for `--hold-ms`), then releases it by deleting its node.
//! Interrupted while it waits, it leaves the queue the same way.

use crate::client::{run_until, Cluster, Target};
use crate::logging;
use crate::system::System;
use crate::zk::{call_once, check_path, explain, print_now};
use coord::net::Runtime;
use coord::recipes::lock::{Hold, LockState, Phase};
use coord::recipes::scalable_lock::ScalableLock;
use coord::znode::client::{Call, ZkClient, ZkClientState, ZkClientTimer};
use coord_specs::znode::build::{create, delete};
use coord_specs::znode::{CreateMode, ZkError, ZkRet, ANY_VERSION};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum LockCommand {
    /// Wait for the lock at PATH (a lock node, created if missing), print its fencing
    /// token, hold it until Ctrl-C (or for --hold-ms), then release it.
    Acquire {
        path: String,
        /// Release after holding the lock this many milliseconds, rather than at Ctrl-C.
        #[arg(long)]
        hold_ms: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
}

type LockClient = Runtime<ZkClient<ScalableLock>>;

pub fn run(command: &LockCommand) -> Result<bool, String> {
    logging::init();
    let LockCommand::Acquire {
        path,
        hold_ms,
        target,
    } = command;
    check_path(path)?;
    let cluster = target.resolve(System::Zk)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut client = cluster.zk_client(|guid| ScalableLock::new(path, guid, Hold::UntilWoken))?;
    if !acquire(&mut client, &cluster, &stop, path)? {
        return Ok(false);
    }
    let lock = &client.state().program;
    let node = lock.node.clone().unwrap_or_default();
    let token = lock.held_token().map_or("none".into(), |t| t.to_string());
    print_now(&format!(
        "holding {path}: node {node}, fencing token {token}\n"
    ));
    let until = hold_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
    run_until(&mut client, &stop, until, |_| false, |_, _| {})?;
    release(&mut client, &cluster, path)
}

/// Queues for the lock and waits until this client holds it (true). The queue must be
/// joined (the client's node created and listed) within the cluster's timeout; the wait
/// behind other holders is unbounded, until Ctrl-C.
fn acquire(
    client: &mut LockClient,
    cluster: &Cluster,
    stop: &AtomicBool,
    path: &str,
) -> Result<bool, String> {
    let deadline = Some(cluster.deadline());
    let queued = |s: &ZkClientState<LockState>| s.done || s.program.node.is_some();
    if !run_until(client, stop, deadline, queued, |_, _| {})? {
        return give_up(client, cluster, stop, path);
    }
    let lock = &client.state().program;
    if let (false, Some(node)) = (lock.phase.holds(), &lock.node) {
        print_now(&format!("waiting for {path}: node {node}\n"));
    }
    let holds = |s: &ZkClientState<LockState>| s.done || s.program.phase.holds();
    if !run_until(client, stop, None, holds, |_, _| {})? {
        return give_up(client, cluster, stop, path);
    }
    match client.state().program.phase {
        phase if phase.holds() => Ok(true),
        _ => give_up(client, cluster, stop, path),
    }
}

/// The error of a client that did not get the lock.
fn give_up(
    client: &LockClient,
    cluster: &Cluster,
    stop: &AtomicBool,
    path: &str,
) -> Result<bool, String> {
    let lock = &client.state().program;
    let error = match (lock.phase, &lock.node) {
        (Phase::Failed(error), _) => {
            // The lock node's own creation fails for want of a parent; the client's
            // node's, for an ephemeral lock node.
            let at = match error {
                ZkError::NoNode => path.to_string(),
                _ => format!("{}/lock-", path.trim_end_matches('/')),
            };
            explain(error, &create(&at, "", CreateMode::Persistent, 0))
        }
        (Phase::Lost, _) => "the session expired before the lock was acquired".into(),
        (_, Some(node)) if stop.load(Ordering::Relaxed) => withdraw(cluster, path, node)?,
        _ if stop.load(Ordering::Relaxed) => format!("interrupted while joining {path}"),
        _ => cluster.unreachable("leader"),
    };
    eprintln!("error: {error}");
    Ok(false)
}

/// Leaves the queue for the lock at `path` on an interrupt: deletes the client's node
/// `node`, as its session's expiry would later, so that its successor need not wait that
/// long (the recipe's successor sees its predecessor's node go, as after an expiry, and
/// looks again). Says what became of the node.
fn withdraw(cluster: &Cluster, path: &str, node: &str) -> Result<String, String> {
    let (_, answer) = call_once(cluster, Call::plain(delete(node, ANY_VERSION)))?;
    Ok(match answer {
        Some(ZkRet::Deleted | ZkRet::Err(ZkError::NoNode)) => {
            format!("interrupted while waiting for {path}; node {node} deleted")
        }
        _ => format!(
            "interrupted while waiting for {path}; node {node} goes when this session expires"
        ),
    })
}

/// Wakes the holder, which deletes its node, and waits for the deletion.
fn release(client: &mut LockClient, cluster: &Cluster, path: &str) -> Result<bool, String> {
    client
        .fire(ZkClientTimer::Wake)
        .map_err(|e| e.to_string())?;
    let never = AtomicBool::new(false);
    let deadline = Some(cluster.deadline());
    run_until(client, &never, deadline, |s| s.done, |_, _| {})?;
    match client.state().program.phase {
        Phase::Released => {
            print_now(&format!("released {path}\n"));
            Ok(true)
        }
        _ => {
            eprintln!("error: releasing: {}", cluster.unreachable("leader"));
            Ok(false)
        }
    }
}
