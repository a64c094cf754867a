//! `coord bench zk --connect ...` and `coord bench zk --both`: the same load, from the same
//! client code (coord's jute codec on blocking sockets, [`Session`]), against any server
//! that speaks ZooKeeper's client protocol, coord's client port and a real ZooKeeper
//! alike. Each client is a session of its own, at member `c mod N`, with one request in
//! flight; each row runs after a warm-up, for a fixed time.
//!
//! The rows: sequential creates (64-byte data, under a parent per client), setData of
//! 64 bytes and of 1 KiB, getData at the client's own member, and getData after a sync
//! (one operation: the sync and the read), for each count of clients.

use crate::bench::{cpu_seconds, percentile};
use coord::net::zk::proto::{create_flag, err};
use coord::net::zk::request::Op;
use coord_checker::jute_client::{create, Session};
use std::net::SocketAddr;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The session timeout each bench client asks for.
const TIMEOUT_MS: i32 = 30_000;
/// How long a call may take before the bench gives up.
const WAIT: Duration = Duration::from_secs(30);
/// How many times a client's connection may be lost in a row (and its session resumed at
/// another member) before the row fails.
const MAX_LOST: usize = 5;
/// The pause before a client tries the next member after one refused it.
const PAUSE: Duration = Duration::from_millis(100);

/// A new session at `servers[first]`, or, as ZooKeeper's client goes through its connect
/// string, at the next member when one refuses (a member closes the connections it gets
/// while it knows no leader); at most `MAX_LOST` tries.
fn connect_any(servers: &[SocketAddr], first: usize) -> Result<Session, String> {
    let mut refused = String::new();
    for attempt in 0..MAX_LOST {
        let server = servers[(first + attempt) % servers.len()];
        match Session::connect(server, TIMEOUT_MS, WAIT) {
            Ok(session) => return Ok(session),
            Err(e) => refused = format!("cannot connect to {server}: {e}"),
        }
        std::thread::sleep(PAUSE);
    }
    Err(refused)
}

/// What a row does in a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireLoad {
    Create,
    Set64,
    Set1k,
    Get,
    SyncedGet,
}

impl WireLoad {
    pub const ALL: [WireLoad; 5] = [
        WireLoad::Create,
        WireLoad::Set64,
        WireLoad::Set1k,
        WireLoad::Get,
        WireLoad::SyncedGet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WireLoad::Create => "create seq 64 B",
            WireLoad::Set64 => "setData 64 B",
            WireLoad::Set1k => "setData 1 KiB",
            WireLoad::Get => "getData",
            WireLoad::SyncedGet => "sync+getData",
        }
    }

    /// One operation of client `node`'s loop; false if the server answered an error.
    fn once(self, session: &mut Session, node: &str) -> Result<bool, String> {
        let call = |session: &mut Session, op: Op| {
            let (_, reply) = session
                .call(op)
                .map_err(|e| format!("{}: {e}", session.server))?;
            Ok::<bool, String>(reply.header.err == err::OK)
        };
        let set = |size: usize| Op::SetData {
            path: node.to_string(),
            data: Some(vec![b'x'; size]),
            version: -1,
        };
        let get = || Op::GetData {
            path: node.to_string(),
            watch: false,
        };
        match self {
            WireLoad::Create => {
                let op = create(
                    &format!("{node}/n-"),
                    &[b'c'; 64],
                    create_flag::PERSISTENT_SEQUENTIAL,
                );
                call(session, op)
            }
            WireLoad::Set64 => call(session, set(64)),
            WireLoad::Set1k => call(session, set(1024)),
            WireLoad::Get => call(session, get()),
            WireLoad::SyncedGet => {
                let sync = Op::Sync {
                    path: node.to_string(),
                };
                Ok(call(session, sync)? && call(session, get())?)
            }
        }
    }
}

/// What one row measured.
pub struct Row {
    pub ops: usize,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The client's CPU time over the measured time, in cores.
    pub client_cores: f64,
    /// Connections lost (and their sessions resumed at another member) in the row.
    pub lost: usize,
}

/// How rows are run.
pub struct WireBench {
    pub warmup: Duration,
    pub duration: Duration,
    /// Names the bench's nodes apart from an earlier run's on the same cluster.
    pub tag: String,
}

impl WireBench {
    /// The bench's root, `/bench-wire-TAG`, and one node per client under it (holding
    /// 64 bytes, the parent of its sequential creates); what is there already stays.
    pub fn prepare(&self, servers: &[SocketAddr], clients: u16) -> Result<(), String> {
        let mut session = connect_any(servers, 0)?;
        let root = format!("/bench-wire-{}", self.tag);
        let nodes = (0..clients).map(|c| format!("{root}/c{c}"));
        for path in std::iter::once(root.clone()).chain(nodes) {
            let (_, reply) = (session.call(create(&path, &[b'x'; 64], create_flag::PERSISTENT)))
                .map_err(|e| format!("create {path}: {e}"))?;
            if !matches!(reply.header.err, err::OK | err::NODE_EXISTS) {
                return Err(format!("create {path}: error {}", reply.header.err));
            }
        }
        let _ = session.close();
        Ok(())
    }

    /// Runs `load` with `clients` sessions spread over `servers`: each connects, all
    /// start together, warm up, then count for the row's duration.
    pub fn row(&self, servers: &[SocketAddr], load: WireLoad, clients: u16) -> Result<Row, String> {
        self.prepare(servers, clients)?;
        let barrier = Barrier::new(usize::from(clients) + 1);
        let (results, cpu, seconds) = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..clients)
                .map(|c| {
                    let barrier = &barrier;
                    let first = usize::from(c) % servers.len();
                    let node = format!("/bench-wire-{}/c{c}", self.tag);
                    scope.spawn(move || self.client(servers, first, &node, load, barrier))
                })
                .collect();
            barrier.wait();
            let start = Instant::now() + self.warmup;
            std::thread::sleep(self.warmup);
            let cpu_before = cpu_seconds();
            std::thread::sleep(self.duration);
            let cpu = cpu_seconds() - cpu_before;
            let seconds = start.elapsed().as_secs_f64();
            let results: Vec<Result<(Vec<Duration>, usize), String>> = handles
                .into_iter()
                .map(|h| h.join().expect("a bench client panicked"))
                .collect();
            (results, cpu, seconds)
        });
        let (mut latencies, mut lost) = (Vec::new(), 0);
        for result in results {
            let (answered, lost_here) = result?;
            latencies.extend(answered);
            lost += lost_here;
        }
        if latencies.is_empty() {
            return Err(format!("no {} completed", load.name()));
        }
        Ok(Row {
            ops: latencies.len(),
            rate: latencies.len() as f64 / seconds,
            p50_ms: percentile(&latencies, 50.0),
            p99_ms: percentile(&latencies, 99.0),
            client_cores: cpu / seconds,
            lost,
        })
    }

    /// One client: connect, wait for the others, warm up, then time each operation
    /// until the row ends.
    fn client(
        &self,
        servers: &[SocketAddr],
        first: usize,
        node: &str,
        load: WireLoad,
        barrier: &Barrier,
    ) -> Result<(Vec<Duration>, usize), String> {
        let session = connect_any(servers, first);
        barrier.wait();
        let mut session = session?;
        let start = Instant::now();
        let (counted, end) = (start + self.warmup, start + self.warmup + self.duration);
        let mut latencies = Vec::new();
        let mut lost = 0;
        loop {
            let before = Instant::now();
            if before >= end {
                break;
            }
            match load.once(&mut session, node) {
                Ok(true) => {}
                Ok(false) => {
                    let server = session.server;
                    return Err(format!("{} at {server} answered an error", load.name()));
                }
                // As ZooKeeper's client: the session goes on at the next member (and if
                // that one refuses, the next call fails and the one after it is tried).
                Err(e) if lost < MAX_LOST => {
                    lost += 1;
                    let next = servers[(lost + first) % servers.len()];
                    eprintln!("{}: {e}; the session goes on at {next}", session.server);
                    if let Err(e) = session.resume(next) {
                        eprintln!("cannot resume at {next}: {e}");
                        std::thread::sleep(PAUSE);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
            if before >= counted {
                latencies.push(before.elapsed());
            }
        }
        let _ = session.close();
        Ok((latencies, lost))
    }
}
