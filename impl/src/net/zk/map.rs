//! The znode server behind the client port: each jute request becomes one of its
//! [`ZkMsg`]s, and each of its messages to a connection one frame. The mapping follows
//! ZooKeeper's `FinalRequestProcessor`: which record answers which opcode, an error as the
//! header alone, a failed multi as a list of per-step errors under an OK header.

use super::door::{Asked, Outgoing, Speaker};
use super::four::Report;
use super::proto::{create_flag as flag, err, event, opcode as op, state, xid};
use super::records::{Acl as JuteAcl, Stat as JuteStat, WatcherEvent};
use super::records::{ClientInfo, ConnectRequest, ConnectResponse, Identity, ReplyHeader};
use super::reply::{Body, Reply as Frame, StepResult};
use super::request::{Create, Op, Request as JuteRequest, Watches};
use crate::znode::conn::{Call, Connect, Connected, Refused, Reply, Request, SetWatches};
use crate::znode::watch::{AddWatchMode, WatchEvent, WatcherType};
use crate::znode::{Change, ZkMsg, ZkServer, ZkServerState};
use coord_specs::znode::{
    failed_multi_results, Acl, CreateMode, Data, MultiOp, OpResult, Path, Stat, ZkError, ZkOp,
    ZkRet,
};
use stateright::actor::Id;
use std::collections::VecDeque;
use std::net::IpAddr;

impl Speaker for ZkServer {
    fn connect(request: ConnectRequest, ip: IpAddr) -> ZkMsg {
        let mut passwd = [0u8; 16];
        let n = request.passwd.len().min(16);
        passwd[..n].copy_from_slice(&request.passwd[..n]);
        ZkMsg::Connect(Connect {
            session: request.session_id as u64,
            passwd,
            timeout_ms: request.timeout.max(0) as u32,
            last_zxid: request.last_zxid_seen.max(0) as u64,
            client: ip.to_string().into(),
        })
    }

    fn request(request: JuteRequest, time_ms: u64) -> ZkMsg {
        let watch = matches!(
            request.op,
            Op::Exists { watch: true, .. }
                | Op::GetData { watch: true, .. }
                | Op::GetChildren { watch: true, .. }
                | Op::GetChildren2 { watch: true, .. }
        );
        let call = match request.op {
            Op::Ping => return ZkMsg::Ping,
            other => call(other),
        };
        ZkMsg::Request(Request {
            xid: request.xid,
            call,
            watch,
            time: time_ms as i64,
            once: None,
        })
    }

    fn unknown(xid: i32, opcode: i32, time_ms: u64) -> ZkMsg {
        ZkMsg::Request(Request {
            xid,
            call: Call::Refused(Refused::Unknown(opcode)),
            watch: false,
            time: time_ms as i64,
            once: None,
        })
    }

    fn disconnect() -> ZkMsg {
        ZkMsg::Disconnect
    }

    fn outgoing(msg: ZkMsg, asked: &VecDeque<Asked>) -> Option<Outgoing> {
        Some(match msg {
            ZkMsg::Connected(Connected {
                session,
                passwd,
                timeout_ms,
            }) => Outgoing::Connected(ConnectResponse {
                protocol_version: 0,
                timeout: timeout_ms as i32,
                session_id: session as i64,
                passwd: passwd.to_vec(),
                read_only: None,
            }),
            ZkMsg::Reply(reply) => Outgoing::Frame {
                reply: answer(reply, asked),
                answers: true,
            },
            ZkMsg::Pong(zxid) => Outgoing::Frame {
                reply: Frame {
                    header: ReplyHeader {
                        xid: xid::PING,
                        zxid: zxid as i64,
                        err: err::OK,
                    },
                    body: Body::Empty,
                },
                answers: false,
            },
            ZkMsg::Event(WatchEvent { change, .. }) => Outgoing::Frame {
                reply: Frame::event(watcher_event(&change)),
                answers: false,
            },
            ZkMsg::Closed(reason) => {
                tracing::debug!(?reason, "the server closes a client's connection");
                Outgoing::Close
            }
            _ => return None,
        })
    }

    fn report(id: Id, state: &ZkServerState, report: &mut Report) {
        let raft = &state.raft;
        report.mode = match raft.leader_hint(id) {
            Some(leader) if leader == id => Some("leader"),
            Some(_) => Some("follower"),
            None => None,
        };
        let tree = state.tree();
        report.zxid = tree.zxid();
        report.node_count = tree.node_count();
        report.ephemerals_count = (tree.open_sessions())
            .map(|(session, _)| tree.ephemerals(session).len() as u64)
            .sum();
        report.watch_count = state.watch_count() as u64;
        report.approximate_data_size = tree.approximate_data_size();
    }
}

/// The call a request makes.
fn call(request: Op) -> Call {
    let tree = Call::Op;
    match request {
        Op::Create(c) | Op::Create2(c) => match create_mode(c.flags) {
            Some(mode) => tree(create(c, mode)),
            None if is_ttl(c.flags) => Call::Refused(Refused::CreateTtl),
            None => Call::Refused(Refused::Error(ZkError::BadArguments)),
        },
        Op::CreateContainer(c) => tree(create(c, CreateMode::Container)),
        Op::CreateTtl(..) => Call::Refused(Refused::CreateTtl),
        Op::Delete { path, version } => tree(ZkOp::Delete {
            path: path.into(),
            version,
        }),
        Op::Exists { path, .. } => tree(ZkOp::Exists { path: path.into() }),
        Op::GetData { path, .. } => tree(ZkOp::GetData { path: path.into() }),
        Op::SetData {
            path,
            data,
            version,
        } => tree(ZkOp::SetData {
            path: path.into(),
            data: Data::from(data),
            version,
        }),
        Op::GetAcl { path } => tree(ZkOp::GetAcl { path: path.into() }),
        Op::SetAcl { path, acl, version } => tree(ZkOp::SetAcl {
            path: path.into(),
            acl: acl_list(acl),
            version,
        }),
        Op::GetChildren { path, .. } | Op::GetChildren2 { path, .. } => {
            tree(ZkOp::GetChildren { path: path.into() })
        }
        Op::Sync { path } => tree(ZkOp::Sync { path: path.into() }),
        Op::Check { path, version } => tree(ZkOp::Check {
            path: path.into(),
            version,
        }),
        Op::Multi(steps) => match steps.into_iter().map(multi_step).collect() {
            Some(ops) => tree(ZkOp::Multi { ops, session: 0 }),
            None => Call::Refused(Refused::CreateTtl),
        },
        Op::MultiRead(_) => Call::Refused(Refused::MultiRead),
        Op::Reconfig { .. } => Call::Refused(Refused::Reconfig),
        Op::CheckWatches { path, kind } => remove_watches(path, kind, false),
        Op::RemoveWatches { path, kind } => remove_watches(path, kind, true),
        Op::Auth { scheme, auth, .. } => Call::SetAuth {
            scheme: scheme.into(),
            auth: auth.unwrap_or_default(),
        },
        Op::SetWatches(ws) | Op::SetWatches2(ws) => Call::SetWatches(set_watches(ws)),
        Op::Sasl { .. } => Call::Refused(Refused::Unknown(op::SASL)),
        Op::GetEphemerals { prefix } => tree(ZkOp::GetEphemerals {
            prefix: prefix.into(),
            session: 0,
        }),
        Op::GetAllChildrenNumber { path } => tree(ZkOp::GetAllChildrenNumber { path: path.into() }),
        Op::AddWatch { path, mode } => {
            let mode = match mode {
                0 => AddWatchMode::Persistent,
                1 => AddWatchMode::PersistentRecursive,
                _ => return Call::Refused(Refused::Error(ZkError::MarshallingError)),
            };
            let path = path.into();
            Call::AddWatch { path, mode }
        }
        Op::WhoAmI => Call::WhoAmI,
        Op::CloseSession => tree(ZkOp::CloseSession { session: 0 }),
        Op::Ping => unreachable!("a ping is not a request"),
    }
}

/// `CreateMode.fromFlag` for the modes without a time to live.
fn create_mode(flags: i32) -> Option<CreateMode> {
    Some(match flags {
        flag::PERSISTENT => CreateMode::Persistent,
        flag::EPHEMERAL => CreateMode::Ephemeral,
        flag::PERSISTENT_SEQUENTIAL => CreateMode::Sequential,
        flag::EPHEMERAL_SEQUENTIAL => CreateMode::EphemeralSequential,
        flag::CONTAINER => CreateMode::Container,
        _ => return None,
    })
}

fn is_ttl(flags: i32) -> bool {
    matches!(
        flags,
        flag::PERSISTENT_WITH_TTL | flag::PERSISTENT_SEQUENTIAL_WITH_TTL
    )
}

fn create(c: Create, mode: CreateMode) -> ZkOp {
    ZkOp::Create {
        path: c.path.into(),
        data: Data::from(c.data),
        mode,
        acl: acl_list(c.acl),
        session: 0,
    }
}

/// One step of a multi; `None` for a step with a time to live, which this server refuses.
fn multi_step(step: Op) -> Option<MultiOp> {
    Some(match step {
        Op::Create(c) | Op::Create2(c) | Op::CreateContainer(c) => {
            let mode = match create_mode(c.flags) {
                Some(mode) => mode,
                None if is_ttl(c.flags) => return None,
                None => {
                    return Some(MultiOp::Create {
                        path: Path::default(),
                        data: Default::default(),
                        mode: CreateMode::Persistent,
                        acl: acl_list(c.acl),
                    })
                }
            };
            MultiOp::Create {
                path: c.path.into(),
                data: Data::from(c.data),
                mode,
                acl: acl_list(c.acl),
            }
        }
        Op::Delete { path, version } => MultiOp::Delete {
            path: path.into(),
            version,
        },
        Op::SetData {
            path,
            data,
            version,
        } => MultiOp::SetData {
            path: path.into(),
            data: Data::from(data),
            version,
        },
        Op::Check { path, version } => MultiOp::Check {
            path: path.into(),
            version,
        },
        _ => return None,
    })
}

/// `checkWatches`/`removeWatches`; a watcher type ZooKeeper does not know is its
/// `MarshallingError` (answered in order, the connection kept).
fn remove_watches(path: String, kind: i32, remove: bool) -> Call {
    let kind = match kind {
        1 => WatcherType::Children,
        2 => WatcherType::Data,
        3 => WatcherType::Any,
        _ => return Call::Refused(Refused::Error(ZkError::MarshallingError)),
    };
    Call::RemoveWatches {
        path: path.into(),
        kind,
        remove,
    }
}

fn set_watches(ws: Watches) -> SetWatches {
    let paths = |v: Vec<String>| v.into_iter().map(Path::from).collect();
    SetWatches {
        relative_zxid: ws.relative_zxid.max(0) as u64,
        data: paths(ws.data),
        exist: paths(ws.exist),
        child: paths(ws.child),
        persistent: paths(ws.persistent),
        persistent_recursive: paths(ws.persistent_recursive),
    }
}

/// The frame of a reply to the request `asked` holds with its xid.
fn answer(reply: Reply, asked: &VecDeque<Asked>) -> Frame {
    let request = asked.iter().find(|a| a.xid == reply.xid);
    let opcode = request.map_or(op::NOTIFICATION, |a| a.opcode);
    let steps = request.map_or(&[][..], |a| &a.steps[..]);
    let (code, body) = match reply.ret {
        ZkRet::Err(e) => (e.code(), Body::Empty),
        ZkRet::Exists(None) => (err::NO_NODE, Body::Empty),
        ret => (err::OK, body(ret, opcode, steps)),
    };
    Frame {
        header: ReplyHeader {
            xid: reply.xid,
            zxid: reply.zxid as i64,
            err: code,
        },
        body,
    }
}

/// The record that answers `opcode` with `ret`.
fn body(ret: ZkRet, opcode: i32, steps: &[i32]) -> Body {
    match ret {
        ZkRet::Created { path, .. } if opcode == op::CREATE => Body::Path(path.into()),
        ZkRet::Created { path, stat } => Body::Created(path.into(), jute_stat(stat)),
        ZkRet::Exists(Some(stat)) | ZkRet::Set(stat) | ZkRet::Checked(stat) => {
            Body::Stat(jute_stat(stat))
        }
        ZkRet::AclSet(stat) => Body::Stat(jute_stat(stat)),
        ZkRet::Data { data, stat } => Body::Data(data.bytes().map(|b| b.to_vec()), jute_stat(stat)),
        ZkRet::Children { names, stat } if opcode == op::GET_CHILDREN2 => {
            Body::Children2(strings(names), jute_stat(stat))
        }
        ZkRet::Children { names, .. } => Body::Names(strings(names)),
        ZkRet::Multi(results) => Body::Multi(
            (results.into_iter().enumerate())
                .map(|(i, r)| step_result(r, steps.get(i).copied()))
                .collect(),
        ),
        ZkRet::MultiFailed { index, error } => Body::Multi(
            (failed_multi_results(index, error, steps.len()).into_iter())
                .map(|e| StepResult::Error(e.map_or(err::OK, |e| e.code())))
                .collect(),
        ),
        ZkRet::Synced(path) => Body::Path(path.into()),
        ZkRet::Acl { acl, stat } => Body::Acl(acl.iter().map(jute_acl).collect(), jute_stat(stat)),
        ZkRet::Ephemerals(paths) => Body::Names(strings(paths)),
        ZkRet::Count(n) => Body::Int(n as i32),
        // addWatch answers with an ErrorResponse of 0; the others with the header alone.
        ZkRet::Done if opcode == op::ADD_WATCH => Body::Int(err::OK),
        ZkRet::WhoAmI(infos) => Body::ClientInfo(
            (infos.into_iter())
                .map(|(scheme, user)| ClientInfo {
                    auth_scheme: scheme.into(),
                    user: user.into(),
                })
                .collect(),
        ),
        ZkRet::Deleted | ZkRet::SessionClosed | ZkRet::Done => Body::Empty,
        ZkRet::Exists(None) | ZkRet::Err(_) => Body::Empty,
    }
}

/// A multi's step result. A `create2` step is answered as a `create` step, with the path
/// alone: ZooKeeper 3.8's multi makes both a create transaction, and answers what the
/// transaction was (found by `coord diff zk`).
fn step_result(result: OpResult, opcode: Option<i32>) -> StepResult {
    match result {
        OpResult::Created { path, .. } if matches!(opcode, Some(op::CREATE | op::CREATE2)) => {
            StepResult::Create(path.into())
        }
        OpResult::Created { path, stat } => StepResult::Create2(path.into(), jute_stat(stat)),
        OpResult::Checked => StepResult::Check,
        OpResult::Deleted => StepResult::Delete,
        OpResult::Set(stat) => StepResult::SetData(jute_stat(stat)),
    }
}

fn watcher_event(change: &Change) -> WatcherEvent {
    let kind = match change {
        Change::Created(_) => event::NODE_CREATED,
        Change::Deleted(_) => event::NODE_DELETED,
        Change::DataChanged(_) => event::NODE_DATA_CHANGED,
        Change::ChildrenChanged(_) => event::NODE_CHILDREN_CHANGED,
    };
    WatcherEvent {
        kind,
        state: state::SYNC_CONNECTED,
        path: change.path().to_string(),
    }
}

fn strings<S: Into<String>>(items: Vec<S>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

fn jute_stat(s: Stat) -> JuteStat {
    JuteStat {
        czxid: s.czxid as i64,
        mzxid: s.mzxid as i64,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner as i64,
        data_length: s.data_length as i32,
        num_children: s.num_children as i32,
        pzxid: s.pzxid as i64,
    }
}

/// A request's ACL as the tree takes it (the tree judges it: see `fixup_acl`).
fn acl_list(acl: Vec<JuteAcl>) -> Vec<Acl> {
    (acl.into_iter())
        .map(|entry| Acl {
            perms: entry.perms,
            scheme: entry.id.scheme.into(),
            id: entry.id.id.into(),
        })
        .collect()
}

fn jute_acl(acl: &Acl) -> JuteAcl {
    JuteAcl {
        perms: acl.perms,
        id: Identity {
            scheme: acl.scheme.to_string(),
            id: acl.id.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::zk::records::Acl as OpenAcl;
    use coord_specs::znode::ZkError;
    use std::time::Instant;

    fn asked(xid: i32, opcode: i32, steps: Vec<i32>) -> VecDeque<Asked> {
        VecDeque::from([Asked {
            xid,
            opcode,
            steps,
            at: Instant::now(),
        }])
    }

    fn frame(ret: ZkRet, asked: &VecDeque<Asked>) -> Frame {
        let reply = Reply {
            xid: asked[0].xid,
            zxid: 9,
            ret,
        };
        match ZkServer::outgoing(ZkMsg::Reply(reply), asked) {
            Some(Outgoing::Frame {
                reply,
                answers: true,
            }) => reply,
            other => panic!("not a reply frame: {other:?}"),
        }
    }

    fn stat() -> Stat {
        Stat {
            czxid: 3,
            data_length: 2,
            ..Stat::default()
        }
    }

    #[test]
    fn a_create_is_answered_by_its_opcodes_record() {
        let created = || ZkRet::Created {
            path: "/a".into(),
            stat: stat(),
        };
        let plain = frame(created(), &asked(1, op::CREATE, vec![]));
        assert_eq!(plain.body, Body::Path("/a".into()));
        let two = frame(created(), &asked(2, op::CREATE2, vec![]));
        assert_eq!(two.body, Body::Created("/a".into(), jute_stat(stat())));
        assert_eq!((two.header.xid, two.header.zxid, two.header.err), (2, 9, 0));
    }

    #[test]
    fn a_multis_create_and_create2_steps_are_both_answered_with_the_path_alone() {
        let created = |path: &str| OpResult::Created {
            path: path.into(),
            stat: stat(),
        };
        let results = ZkRet::Multi(vec![created("/a"), created("/b"), created("/c")]);
        let steps = vec![op::CREATE, op::CREATE2, op::CREATE_CONTAINER];
        let reply = frame(results, &asked(3, op::MULTI, steps));
        let expected = vec![
            StepResult::Create("/a".into()),
            StepResult::Create("/b".into()),
            StepResult::Create2("/c".into(), jute_stat(stat())),
        ];
        assert_eq!(reply.body, Body::Multi(expected));
    }

    #[test]
    fn null_data_is_a_null_buffer_and_empty_data_an_empty_one() {
        let asked = asked(1, op::GET_DATA, vec![]);
        let null = ZkRet::Data {
            data: Data::NULL,
            stat: Stat::default(),
        };
        let empty = ZkRet::Data {
            data: Data::new(),
            stat: Stat::default(),
        };
        let zero = jute_stat(Stat::default());
        assert_eq!(frame(null, &asked).body, Body::Data(None, zero));
        assert_eq!(frame(empty, &asked).body, Body::Data(Some(vec![]), zero));
    }

    #[test]
    fn errors_are_the_header_alone_and_a_missing_node_of_exists_is_no_node() {
        let missing = frame(ZkRet::Exists(None), &asked(1, op::EXISTS, vec![]));
        assert_eq!(
            (missing.header.err, missing.body),
            (err::NO_NODE, Body::Empty)
        );
        let failed = frame(
            ZkRet::Err(ZkError::BadVersion),
            &asked(1, op::SET_DATA, vec![]),
        );
        assert_eq!(
            (failed.header.err, failed.body),
            (err::BAD_VERSION, Body::Empty)
        );
    }

    #[test]
    fn a_failed_multi_lists_ok_the_error_then_runtime_inconsistency_under_an_ok_header() {
        let steps = vec![op::CHECK, op::CREATE, op::DELETE];
        let failed = ZkRet::MultiFailed {
            index: 1,
            error: ZkError::NodeExists,
        };
        let reply = frame(failed, &asked(4, op::MULTI, steps));
        assert_eq!(reply.header.err, err::OK);
        let expected = [err::OK, err::NODE_EXISTS, err::RUNTIME_INCONSISTENCY];
        assert_eq!(
            reply.body,
            Body::Multi(expected.into_iter().map(StepResult::Error).collect())
        );
    }

    #[test]
    fn add_watch_answers_an_error_response_and_set_watches_the_header_alone() {
        let add = frame(ZkRet::Done, &asked(1, op::ADD_WATCH, vec![]));
        assert_eq!(add.body, Body::Int(0));
        let set = frame(ZkRet::Done, &asked(1, op::SET_WATCHES, vec![]));
        assert_eq!(set.body, Body::Empty);
    }

    #[test]
    fn an_event_has_xid_minus_one_and_the_change_as_its_type() {
        let event = WatchEvent {
            change: Change::ChildrenChanged("/p".into()),
            zxid: 5,
        };
        let Some(Outgoing::Frame { reply, answers }) =
            ZkServer::outgoing(ZkMsg::Event(event), &VecDeque::new())
        else {
            panic!("an event is a frame");
        };
        assert!(!answers);
        assert_eq!(reply.header.xid, xid::NOTIFICATION);
        let expected = WatcherEvent {
            kind: event::NODE_CHILDREN_CHANGED,
            state: state::SYNC_CONNECTED,
            path: "/p".into(),
        };
        assert_eq!(reply.body, Body::Event(expected));
    }

    fn call_of(op: Op) -> Call {
        match ZkServer::request(JuteRequest { xid: 1, op }, 0) {
            ZkMsg::Request(request) => request.call,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn create_with(flags: i32) -> Create {
        Create {
            path: "/a".into(),
            data: None,
            acl: vec![OpenAcl::open()],
            flags,
        }
    }

    #[test]
    fn create_flags_choose_the_mode_and_ttl_modes_are_refused() {
        let Call::Op(ZkOp::Create { mode, data, .. }) = call_of(Op::Create(create_with(3))) else {
            panic!("a create");
        };
        assert_eq!(mode, CreateMode::EphemeralSequential);
        assert!(data.is_null(), "a null buffer is null data");
        let ttl = call_of(Op::Create2(create_with(flag::PERSISTENT_WITH_TTL)));
        assert_eq!(ttl, Call::Refused(Refused::CreateTtl));
        let unknown = call_of(Op::Create(create_with(42)));
        let bad = Call::Refused(Refused::Error(ZkError::BadArguments));
        assert_eq!(unknown, bad, "an unknown flag is a bad argument");
        let multi = call_of(Op::Multi(vec![Op::CreateTtl(create_with(5), 1)]));
        assert_eq!(multi, Call::Refused(Refused::CreateTtl));
    }

    #[test]
    fn a_ping_is_a_ping_and_a_watch_flag_is_carried() {
        let ping = ZkServer::request(
            JuteRequest {
                xid: -2,
                op: Op::Ping,
            },
            0,
        );
        assert_eq!(ping, ZkMsg::Ping);
        let read = JuteRequest {
            xid: 3,
            op: Op::GetChildren2 {
                path: "/".into(),
                watch: true,
            },
        };
        let ZkMsg::Request(request) = ZkServer::request(read, 77) else {
            panic!("a request");
        };
        assert!(request.watch);
        assert_eq!((request.xid, request.time), (3, 77));
        assert_eq!(
            request.call,
            Call::Op(ZkOp::GetChildren { path: "/".into() })
        );
    }

    #[test]
    fn values_outside_their_enum_are_marshalling_errors() {
        let error = Call::Refused(Refused::Error(ZkError::MarshallingError));
        let add = |mode| Op::AddWatch {
            path: "/a".into(),
            mode,
        };
        assert_eq!(call_of(add(2)), error);
        assert!(matches!(call_of(add(1)), Call::AddWatch { .. }));
        let check = |kind| Op::CheckWatches {
            path: "/a".into(),
            kind,
        };
        assert_eq!(call_of(check(4)), error);
        assert!(matches!(call_of(check(3)), Call::RemoveWatches { .. }));
    }
}
