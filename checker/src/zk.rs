//! `coord zk create|get|set|delete|ls|stat|watch`: ZooKeeper's command-line calls, each run
//! as one call of a script by the model-checked client (`ZkClient`), in a session of its
//! own that sends keepalives while the command runs and expires after it ends.

use crate::client::{run_until, Cluster, Target};
use crate::logging;
use crate::system::{System, ZK_MAX_DATA, ZK_MAX_PATH};
use coord::net::Runtime;
use coord::znode::client::{Call, Script, ZkClient};
use coord::znode::watch::WatchEvent;
use coord::znode::Change;
use coord_specs::znode::build::{create, delete, exists, get, kids, set};
use coord_specs::znode::{
    parent, validate_path, CreateMode, Stat, Version, ZkError, ZkOp, ZkRet, ANY_VERSION,
};
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum ZkCommand {
    /// Create a node at PATH holding DATA (`create [-e] [-s] path [data]`).
    Create {
        /// Ephemeral: the node goes when this command's session expires.
        #[arg(short = 'e', long)]
        ephemeral: bool,
        /// Sequential: the parent's next sequence number, ten digits, is appended to PATH.
        #[arg(short = 's', long)]
        sequential: bool,
        path: String,
        #[arg(default_value = "")]
        data: String,
        #[command(flatten)]
        target: Target,
    },
    /// Print the data of the node at PATH (`get [-s] path`).
    Get {
        path: String,
        /// Also print the node's stat.
        #[arg(short = 's', long)]
        stat: bool,
        #[command(flatten)]
        read: Read,
    },
    /// Replace the data of the node at PATH (`set [-v version] path data`).
    Set {
        path: String,
        data: String,
        /// Only if the node's data version is this (-1: any).
        #[arg(short = 'v', long, default_value_t = ANY_VERSION, allow_negative_numbers = true)]
        version: Version,
        #[command(flatten)]
        target: Target,
    },
    /// Delete the node at PATH, which must have no children (`delete [-v version] path`).
    Delete {
        path: String,
        /// Only if the node's data version is this (-1: any).
        #[arg(short = 'v', long, default_value_t = ANY_VERSION, allow_negative_numbers = true)]
        version: Version,
        #[command(flatten)]
        target: Target,
    },
    /// List the children of the node at PATH, one name per line (`ls path`).
    Ls {
        path: String,
        #[command(flatten)]
        read: Read,
    },
    /// Print the stat of the node at PATH (`stat path`).
    Stat {
        path: String,
        #[command(flatten)]
        read: Read,
    },
    /// Leave a watch on PATH, then wait for it to fire and print the event (`stat -w
    /// path`, or `ls -w path` with --children).
    Watch {
        path: String,
        /// Watch the children (created or deleted) rather than the node itself (created,
        /// deleted or set).
        #[arg(long)]
        children: bool,
        /// Give up after this many seconds without an event [default: wait until killed].
        #[arg(long)]
        wait: Option<f64>,
        #[command(flatten)]
        target: Target,
    },
}

/// How a read is served.
#[derive(clap::Args, Debug)]
pub struct Read {
    /// Read after a `sync`: through the leader, reflecting every write committed before
    /// the call. Without it a read is answered by the server the client reaches, and may
    /// miss recent writes.
    #[arg(long)]
    sync: bool,
    #[command(flatten)]
    target: Target,
}

impl ZkCommand {
    fn path(&self) -> &str {
        match self {
            ZkCommand::Create { path, .. }
            | ZkCommand::Get { path, .. }
            | ZkCommand::Set { path, .. }
            | ZkCommand::Delete { path, .. }
            | ZkCommand::Ls { path, .. }
            | ZkCommand::Stat { path, .. }
            | ZkCommand::Watch { path, .. } => path,
        }
    }

    fn target(&self) -> &Target {
        match self {
            ZkCommand::Create { target, .. }
            | ZkCommand::Set { target, .. }
            | ZkCommand::Delete { target, .. }
            | ZkCommand::Watch { target, .. } => target,
            ZkCommand::Get { read, .. }
            | ZkCommand::Ls { read, .. }
            | ZkCommand::Stat { read, .. } => &read.target,
        }
    }

    /// The call this command makes (an ephemeral node belongs to the client's session).
    fn call(&self) -> Call {
        let path = self.path();
        let read = |op, read: &Read| match read.sync {
            true => Call::synced(op),
            false => Call::plain(op),
        };
        match self {
            ZkCommand::Create {
                ephemeral,
                sequential,
                data,
                ..
            } => {
                let mode = match (ephemeral, sequential) {
                    (false, false) => CreateMode::Persistent,
                    (true, false) => CreateMode::Ephemeral,
                    (false, true) => CreateMode::Sequential,
                    (true, true) => CreateMode::EphemeralSequential,
                };
                Call::plain(create(path, data, mode, 0))
            }
            ZkCommand::Get { read: r, .. } => read(get(path), r),
            ZkCommand::Set { data, version, .. } => Call::plain(set(path, data, *version)),
            ZkCommand::Delete { version, .. } => Call::plain(delete(path, *version)),
            ZkCommand::Ls { read: r, .. } => read(kids(path), r),
            ZkCommand::Stat { read: r, .. } => read(exists(path), r),
            ZkCommand::Watch { children: true, .. } => Call::watched(kids(path)),
            ZkCommand::Watch { .. } => Call::watched(exists(path)),
        }
    }

    /// What this command prints for the answer `ret`, or the error it reports.
    fn report(&self, op: &ZkOp, ret: &ZkRet) -> Result<String, String> {
        let path = self.path();
        Ok(match (self, ret) {
            (_, ZkRet::Err(error)) => return Err(explain(*error, op)),
            (ZkCommand::Stat { .. }, ZkRet::Exists(None)) => {
                return Err(explain(ZkError::NoNode, op))
            }
            (ZkCommand::Create { .. }, ZkRet::Created { path, .. }) => format!("created {path}\n"),
            (ZkCommand::Get { stat: false, .. }, ZkRet::Data { data, .. }) => {
                format!("{}\n", String::from_utf8_lossy(data))
            }
            (ZkCommand::Get { stat: true, .. }, ZkRet::Data { data, stat }) => {
                format!("{}\n{}", String::from_utf8_lossy(data), stat_lines(stat))
            }
            (ZkCommand::Set { .. }, ZkRet::Set(stat)) => {
                format!("ok: {path} is at version {}\n", stat.version)
            }
            (ZkCommand::Delete { .. }, ZkRet::Deleted) => format!("deleted {path}\n"),
            (ZkCommand::Ls { .. }, ZkRet::Children { names, .. }) => {
                names.iter().map(|name| format!("{name}\n")).collect()
            }
            (ZkCommand::Stat { .. }, ZkRet::Exists(Some(stat))) => stat_lines(stat),
            (ZkCommand::Watch { .. }, ZkRet::Exists(None)) => format!("watching {path}: no node\n"),
            (ZkCommand::Watch { .. }, ZkRet::Exists(Some(stat))) => {
                format!("watching {path}: version {}\n", stat.version)
            }
            (ZkCommand::Watch { .. }, ZkRet::Children { names, .. }) => {
                format!("watching {path}: {} children\n", names.len())
            }
            (_, other) => return Err(format!("unexpected answer to {op}: {other}")),
        })
    }
}

pub fn run(command: &ZkCommand) -> Result<bool, String> {
    logging::init();
    check_path(command.path())?;
    if let ZkCommand::Create { data, .. } | ZkCommand::Set { data, .. } = command {
        if data.len() > ZK_MAX_DATA {
            return Err(format!(
                "data of {} bytes is too long (at most {ZK_MAX_DATA})",
                data.len()
            ));
        }
    }
    let cluster = command.target().resolve(System::Zk)?;
    let call = command.call();
    let (mut client, answer) = call_once(&cluster, call.clone())?;
    let op = call.op().expect("every command is a tree operation");
    let needs_leader = !op.is_read() || call.sync;
    let never = AtomicBool::new(false);
    let ret = match answer {
        Some(ret) => ret,
        None => {
            let what = if needs_leader { "leader" } else { "server" };
            eprintln!("error: {}", cluster.unreachable(what));
            return Ok(false);
        }
    };
    match command.report(op, &ret) {
        Ok(text) => print_now(&text),
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(false);
        }
    }
    let ZkCommand::Watch { wait, .. } = command else {
        return Ok(true);
    };
    let wait = wait.map(|secs| Duration::from_secs_f64(secs.max(0.0)));
    let deadline = wait.map(|wait| Instant::now() + wait);
    let fired = run_until(
        &mut client,
        &never,
        deadline,
        |state| !state.events.is_empty(),
        |_, _| {},
    )?;
    match client.state().events.first() {
        Some((_, event)) if fired => {
            print_now(&event_line(event));
            Ok(true)
        }
        _ => {
            eprintln!("error: no event within {:?}", wait.unwrap_or_default());
            Ok(false)
        }
    }
}

/// Rejects, before anything is sent, a path that ZooKeeper's client would reject.
/// Runs `call` as the only call of a fresh client, until its answer or the cluster's
/// timeout: the client, still in its session (a watch is yet to fire), and the answer if
/// one came.
pub fn call_once(
    cluster: &Cluster,
    call: Call,
) -> Result<(Runtime<ZkClient<Script>>, Option<ZkRet>), String> {
    let mut client = cluster.zk_client(|_| Script(vec![call.clone()]))?;
    let never = AtomicBool::new(false);
    let deadline = Some(cluster.deadline());
    let answered = run_until(&mut client, &never, deadline, |s| s.done, |_, _| {})?;
    let answer = (client.state().program.first())
        .filter(|_| answered)
        .cloned();
    Ok((client, answer))
}

pub fn check_path(path: &str) -> Result<(), String> {
    if !validate_path(path) {
        return Err(format!(
            "invalid path {path:?}: a path is / or /name/name..., without empty names, . or .."
        ));
    }
    if path.len() > ZK_MAX_PATH {
        return Err(format!(
            "path too long ({} bytes, at most {ZK_MAX_PATH})",
            path.len()
        ));
    }
    Ok(())
}

/// A clear message for `error`, the answer to `op`.
pub fn explain(error: ZkError, op: &ZkOp) -> String {
    let op = op.caller().1;
    let (path, version) = match op {
        ZkOp::Create { path, .. }
        | ZkOp::Exists { path }
        | ZkOp::GetData { path }
        | ZkOp::GetChildren { path }
        | ZkOp::Sync { path }
        | ZkOp::GetAcl { path }
        | ZkOp::GetAllChildrenNumber { path }
        | ZkOp::GetEphemerals { prefix: path, .. } => (path.as_str(), ANY_VERSION),
        ZkOp::Delete { path, version }
        | ZkOp::SetData { path, version, .. }
        | ZkOp::Check { path, version }
        | ZkOp::SetAcl { path, version, .. } => (path.as_str(), *version),
        ZkOp::Multi { .. } | ZkOp::CloseSession { .. } | ZkOp::As { .. } => ("", ANY_VERSION),
    };
    let creating = matches!(op, ZkOp::Create { .. });
    match error {
        ZkError::NoNode if creating => format!(
            "no node {}: the parent of {path} does not exist",
            parent(path).unwrap_or("/")
        ),
        ZkError::NoNode => format!("no node {path}"),
        ZkError::NodeExists => format!("node {path} already exists"),
        ZkError::BadVersion => format!("bad version: {path} is not at version {version}"),
        ZkError::NotEmpty => format!("node {path} is not empty: delete its children first"),
        ZkError::NoChildrenForEphemerals => {
            format!("the parent of {path} is ephemeral, and ephemeral nodes have no children")
        }
        ZkError::BadArguments => format!("bad arguments: {op}"),
        ZkError::NoAuth => format!("not authorized: the ACL does not allow {op}"),
        ZkError::SessionExpired => "the session has expired".to_string(),
        ZkError::SessionMoved => "the session moved to another server".to_string(),
        ZkError::ConnectionLoss => "the connection was lost".to_string(),
        other => format!("{other} ({}): {op}", other.code()),
    }
}

/// A stat, one `name value` per line (times in milliseconds since the Unix epoch, the
/// owner's session id in hex, as ZooKeeper shows it).
fn stat_lines(stat: &Stat) -> String {
    format!(
        "czxid {}\nmzxid {}\nctime {}\nmtime {}\npzxid {}\nversion {}\ncversion {}\n\
         ephemeral_owner {:#x}\ndata_length {}\nnum_children {}\n",
        stat.czxid,
        stat.mzxid,
        stat.ctime,
        stat.mtime,
        stat.pzxid,
        stat.version,
        stat.cversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children
    )
}

fn event_line(event: &WatchEvent) -> String {
    let (what, path) = match &event.change {
        Change::Created(path) => ("created", path),
        Change::Deleted(path) => ("deleted", path),
        Change::DataChanged(path) => ("data changed", path),
        Change::ChildrenChanged(path) => ("children changed", path),
    };
    format!("{what} {path} (zxid {})\n", event.zxid)
}

/// Prints `text` and flushes it at once: a watcher's first line tells whoever reads it
/// that the watch is in place.
pub fn print_now(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
