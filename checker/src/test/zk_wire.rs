//! The znode workload's calls over ZooKeeper's own client protocol, with coord's jute
//! client ([`jute_client`](coord_checker::jute_client)): the same code for coord's client
//! ports and for a real ZooKeeper. A client keeps its session from call to call at one
//! server; when the connection is lost it takes the session to the next server with the
//! last zxid it saw, as ZooKeeper's client does (a server that has not seen that zxid
//! refuses it, and it tries the next), and only if the session expired does it open a
//! new one, asking the server to have seen that zxid too. So whatever a client read or
//! wrote, it never reads older again: ZooKeeper's promise to a session holds for each
//! client of the workload, which is what the per-session check of plain reads relies on.
//!
//! Rule (an answer that was lost): a write whose connection broke after it was sent may
//! or may not have happened, and is left open (unknown); a read changes nothing, and is
//! made again on the next server.

use super::zk::Transport;
use coord::net::zk::proto::{create_flag, err};
use coord::net::zk::records::Stat as JuteStat;
use coord::net::zk::reply::{Body, Reply};
use coord::net::zk::request::Op;
use coord_checker::jute_client::{create, is_expired, Session};
use coord_specs::znode::{CreateMode, Data, Stat, ZkError, ZkOp, ZkRet};
use rand::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The session timeout a client asks for: longer than any fault is held, so that a
/// session outlives the loss of its server (ZooKeeper's default tick allows 4 to 40 s).
const SESSION_MS: i32 = 10_000;
/// How long one read or write of a connection may take before the connection counts as
/// lost (ZooKeeper's client gives up at two thirds of the session timeout).
const IO_WAIT: Duration = Duration::from_secs(3);
/// The pause before trying the next server when none took the session.
const RETRY: Duration = Duration::from_millis(100);

/// The client addresses of the servers (coord's client ports, or ZooKeeper's).
pub struct Wire {
    pub servers: Vec<SocketAddr>,
}

/// One client's session, the server it is at, and whether its connection was lost.
pub struct Link {
    session: Session,
    at: usize,
    lost: bool,
}

impl Transport for Wire {
    type Conn = Option<Link>;

    fn call(
        &self,
        conn: &mut Option<Link>,
        op: ZkOp,
        synced: bool,
        stop: &AtomicBool,
        deadline: Instant,
    ) -> Result<Option<ZkRet>, String> {
        let request = request(&op)?;
        let sync = match (&op, synced) {
            (ZkOp::GetData { path }, true) => Some(path.to_string()),
            _ => None,
        };
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            let Some(link) = self.connected(conn) else {
                std::thread::sleep(RETRY);
                continue;
            };
            match answer(&mut link.session, sync.as_deref(), request.clone()) {
                Ok(reply) => {
                    let ret = ret(&op, reply)?;
                    if ret == ZkRet::Err(ZkError::SessionExpired) {
                        *conn = None;
                    }
                    return Ok(Some(ret));
                }
                Err(_) => {
                    link.lost = true;
                    if !op.is_read() {
                        return Ok(None);
                    }
                }
            }
        }
        Ok(None)
    }
}

impl Wire {
    /// The client's session on a live connection: a new one at a random server if it has
    /// none, or its own, taken to the next server if its connection was lost (a new one
    /// there if it expired); `None` if that server did not take it.
    fn connected<'a>(&self, conn: &'a mut Option<Link>) -> Option<&'a mut Link> {
        let n = self.servers.len();
        if conn.is_none() {
            let at = rand::rng().random_range(0..n);
            let session = Session::connect(self.servers[at], SESSION_MS, IO_WAIT).ok()?;
            let lost = false;
            *conn = Some(Link { session, at, lost });
        }
        let link = conn.as_mut()?;
        if link.lost {
            link.at = (link.at + 1) % n;
            let server = self.servers[link.at];
            match link.session.resume(server) {
                Err(e) if is_expired(&e) => link.session.renew(server).ok()?,
                other => other.ok()?,
            }
            link.lost = false;
        }
        Some(link)
    }
}

/// The reply to `request`, after a `sync` of path `sync` if there is one.
fn answer(session: &mut Session, sync: Option<&str>, request: Op) -> std::io::Result<Reply> {
    if let Some(path) = sync {
        let path = path.to_string();
        session.call(Op::Sync { path })?;
    }
    Ok(session.call(request)?.1)
}

/// The jute request of one of the workload's calls.
fn request(op: &ZkOp) -> Result<Op, String> {
    Ok(match op {
        ZkOp::Create {
            path,
            data,
            mode: CreateMode::Persistent,
            ..
        } => create(path, data, create_flag::PERSISTENT),
        ZkOp::SetData {
            path,
            data,
            version,
        } => Op::SetData {
            path: path.to_string(),
            data: data.bytes().map(|b| b.to_vec()),
            version: *version,
        },
        ZkOp::GetData { path } => Op::GetData {
            path: path.to_string(),
            watch: false,
        },
        other => return Err(format!("the workload makes no {other} over the wire")),
    })
}

/// The errors the workload's calls may meet, by their codes.
const ERRORS: [ZkError; 5] = [
    ZkError::NoNode,
    ZkError::NodeExists,
    ZkError::BadVersion,
    ZkError::SessionExpired,
    ZkError::SessionMoved,
];

/// What `reply` says `op` returned, as the znode spec writes results.
fn ret(op: &ZkOp, reply: Reply) -> Result<ZkRet, String> {
    let code = reply.header.err;
    if code != err::OK {
        let error = ERRORS.into_iter().find(|e| e.code() == code);
        return error
            .map(ZkRet::Err)
            .ok_or_else(|| format!("{op} answered error {code}"));
    }
    Ok(match (op, reply.body) {
        (ZkOp::Create { .. }, Body::Created(path, stat)) => ZkRet::Created {
            path: path.into(),
            stat: spec_stat(stat),
        },
        (ZkOp::SetData { .. }, Body::Stat(stat)) => ZkRet::Set(spec_stat(stat)),
        (ZkOp::GetData { .. }, Body::Data(data, stat)) => ZkRet::Data {
            data: Data::from(data),
            stat: spec_stat(stat),
        },
        (op, body) => return Err(format!("{op} answered {body:?}")),
    })
}

/// A jute `Stat` as the spec's.
fn spec_stat(s: JuteStat) -> Stat {
    Stat {
        czxid: s.czxid as u64,
        mzxid: s.mzxid as u64,
        ctime: s.ctime,
        mtime: s.mtime,
        pzxid: s.pzxid as u64,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner as u64,
        data_length: s.data_length as u32,
        num_children: s.num_children as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coord::net::zk::records::ReplyHeader;
    use coord_specs::znode::build::{get, set};

    fn reply(err: i32, body: Body) -> Reply {
        let header = ReplyHeader {
            xid: 1,
            zxid: 7,
            err,
        };
        Reply { header, body }
    }

    #[test]
    fn replies_read_as_the_specs_results_and_errors_by_their_codes() {
        let stat = JuteStat {
            mzxid: 7,
            version: 3,
            data_length: 1,
            ..JuteStat::default()
        };
        let got = ret(&get("/k0"), reply(0, Body::Data(Some(b"v".to_vec()), stat)));
        let ZkRet::Data { data, stat } = got.unwrap() else {
            panic!("not data");
        };
        assert_eq!((&data[..], stat.version, stat.mzxid), (&b"v"[..], 3, 7));
        let conflict = ret(&set("/k0", "v", 2), reply(-103, Body::Empty));
        assert_eq!(conflict, Ok(ZkRet::Err(ZkError::BadVersion)));
        assert!(ret(&set("/k0", "v", 2), reply(-7, Body::Empty)).is_err());
        assert!(ret(&get("/k0"), reply(0, Body::Empty)).is_err());
    }

    #[test]
    fn the_workloads_calls_go_out_as_their_jute_requests() {
        let Op::SetData {
            path,
            data,
            version,
        } = request(&set("/k1", "x", 4)).unwrap()
        else {
            panic!("not a setData");
        };
        assert_eq!(
            (path.as_str(), data, version),
            ("/k1", Some(b"x".to_vec()), 4)
        );
        assert!(request(&coord_specs::znode::build::delete("/k1", 0)).is_err());
    }
}
