//! A client's requests after the handshake: `RequestHeader` (xid and opcode) followed by
//! the opcode's record, as `zookeeper.jute` and `MultiOperationRecord` lay them out.

use super::jute::{JuteError, Reader, Result, Writer};
use super::proto::opcode as op;
use super::records::{read_all, write_all, Acl};
use std::fmt;

/// One request frame: the client's request number and what it asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub xid: i32,
    pub op: Op,
}

/// A `create` of any flavour (`CreateRequest`, or `CreateTTLRequest` with a `ttl`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Create {
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub acl: Vec<Acl>,
    pub flags: i32,
}

/// The watches a client had when it lost its connection, set again on the new one
/// (`SetWatches`; `SetWatches2` adds the persistent ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watches {
    pub relative_zxid: i64,
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub persistent_recursive: Vec<String>,
}

/// What a request asks, one variant per opcode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create(Create),
    Create2(Create),
    CreateContainer(Create),
    CreateTtl(Create, i64),
    Delete {
        path: String,
        version: i32,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    SetData {
        path: String,
        data: Option<Vec<u8>>,
        version: i32,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    GetChildren2 {
        path: String,
        watch: bool,
    },
    Sync {
        path: String,
    },
    Ping,
    Check {
        path: String,
        version: i32,
    },
    /// Writes (and checks), all or none. Each step is one of the create, delete, setData
    /// and check variants.
    Multi(Vec<Op>),
    /// Reads: each step is `GetChildren` or `GetData`.
    MultiRead(Vec<Op>),
    Reconfig {
        joining: Option<String>,
        leaving: Option<String>,
        new_members: Option<String>,
        config_id: i64,
    },
    CheckWatches {
        path: String,
        kind: i32,
    },
    RemoveWatches {
        path: String,
        kind: i32,
    },
    /// `setAuth` (`AuthPacket`, sent with xid -4).
    Auth {
        kind: i32,
        scheme: String,
        auth: Option<Vec<u8>>,
    },
    SetWatches(Watches),
    SetWatches2(Watches),
    Sasl {
        token: Option<Vec<u8>>,
    },
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    AddWatch {
        path: String,
        mode: i32,
    },
    WhoAmI,
    CloseSession,
}

/// Why a request frame was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Not even the header reads: nothing can be answered.
    NoHeader(JuteError),
    /// An opcode this protocol does not have: ZooKeeper answers ZUNIMPLEMENTED and closes.
    UnknownOpcode { xid: i32, opcode: i32 },
    /// The header reads but the record does not: ZooKeeper answers ZMARSHALLINGERROR.
    BadRecord {
        xid: i32,
        opcode: i32,
        error: JuteError,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NoHeader(e) => write!(f, "no request header: {e}"),
            RequestError::UnknownOpcode { xid, opcode } => {
                write!(f, "unknown opcode {opcode} (xid {xid})")
            }
            RequestError::BadRecord { xid, opcode, error } => {
                write!(f, "opcode {opcode} (xid {xid}): {error}")
            }
        }
    }
}

impl Request {
    /// Reads one request frame (without its length prefix). Bytes after the record are
    /// ignored, as ZooKeeper ignores them.
    pub fn decode(frame: &[u8]) -> std::result::Result<Request, RequestError> {
        let mut r = Reader::new(frame);
        let header = (r.int(), r.int());
        let (Ok(xid), Ok(opcode)) = header else {
            return Err(RequestError::NoHeader(JuteError::Truncated));
        };
        if !Op::known(opcode) {
            return Err(RequestError::UnknownOpcode { xid, opcode });
        }
        let op = Op::read(opcode, &mut r).map_err(|error| RequestError::BadRecord {
            xid,
            opcode,
            error,
        })?;
        Ok(Request { xid, op })
    }

    /// The frame's bytes (without its length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.int(self.xid).int(self.op.opcode());
        self.op.write(&mut w);
        w.into_bytes()
    }
}

impl Op {
    /// The opcodes [`Op::read`] knows.
    fn known(opcode: i32) -> bool {
        matches!(
            opcode,
            op::CREATE..=op::SYNC
                | op::PING..=op::CREATE_CONTAINER
                | op::CREATE_TTL
                | op::MULTI_READ
                | op::AUTH..=op::WHO_AM_I
                | op::CLOSE_SESSION
        )
    }

    /// This request's opcode.
    pub fn opcode(&self) -> i32 {
        match self {
            Op::Create(_) => op::CREATE,
            Op::Create2(_) => op::CREATE2,
            Op::CreateContainer(_) => op::CREATE_CONTAINER,
            Op::CreateTtl(..) => op::CREATE_TTL,
            Op::Delete { .. } => op::DELETE,
            Op::Exists { .. } => op::EXISTS,
            Op::GetData { .. } => op::GET_DATA,
            Op::SetData { .. } => op::SET_DATA,
            Op::GetAcl { .. } => op::GET_ACL,
            Op::SetAcl { .. } => op::SET_ACL,
            Op::GetChildren { .. } => op::GET_CHILDREN,
            Op::GetChildren2 { .. } => op::GET_CHILDREN2,
            Op::Sync { .. } => op::SYNC,
            Op::Ping => op::PING,
            Op::Check { .. } => op::CHECK,
            Op::Multi(_) => op::MULTI,
            Op::MultiRead(_) => op::MULTI_READ,
            Op::Reconfig { .. } => op::RECONFIG,
            Op::CheckWatches { .. } => op::CHECK_WATCHES,
            Op::RemoveWatches { .. } => op::REMOVE_WATCHES,
            Op::Auth { .. } => op::AUTH,
            Op::SetWatches(_) => op::SET_WATCHES,
            Op::SetWatches2(_) => op::SET_WATCHES2,
            Op::Sasl { .. } => op::SASL,
            Op::GetEphemerals { .. } => op::GET_EPHEMERALS,
            Op::GetAllChildrenNumber { .. } => op::GET_ALL_CHILDREN_NUMBER,
            Op::AddWatch { .. } => op::ADD_WATCH,
            Op::WhoAmI => op::WHO_AM_I,
            Op::CloseSession => op::CLOSE_SESSION,
        }
    }

    /// Reads the record of `opcode`.
    fn read(opcode: i32, r: &mut Reader) -> Result<Op> {
        let path_watch = |r: &mut Reader| Ok::<_, JuteError>((r.string()?, r.bool()?));
        let path_int = |r: &mut Reader| Ok::<_, JuteError>((r.string()?, r.int()?));
        Ok(match opcode {
            op::CREATE => Op::Create(read_create(r)?),
            op::CREATE2 => Op::Create2(read_create(r)?),
            op::CREATE_CONTAINER => Op::CreateContainer(read_create(r)?),
            op::CREATE_TTL => Op::CreateTtl(read_create(r)?, r.long()?),
            op::DELETE => {
                let (path, version) = path_int(r)?;
                Op::Delete { path, version }
            }
            op::EXISTS => {
                let (path, watch) = path_watch(r)?;
                Op::Exists { path, watch }
            }
            op::GET_DATA => {
                let (path, watch) = path_watch(r)?;
                Op::GetData { path, watch }
            }
            op::SET_DATA => Op::SetData {
                path: r.string()?,
                data: r.buffer()?,
                version: r.int()?,
            },
            op::GET_ACL => Op::GetAcl { path: r.string()? },
            op::SET_ACL => Op::SetAcl {
                path: r.string()?,
                acl: read_all(r)?,
                version: r.int()?,
            },
            op::GET_CHILDREN => {
                let (path, watch) = path_watch(r)?;
                Op::GetChildren { path, watch }
            }
            op::GET_CHILDREN2 => {
                let (path, watch) = path_watch(r)?;
                Op::GetChildren2 { path, watch }
            }
            op::SYNC => Op::Sync { path: r.string()? },
            op::PING => Op::Ping,
            op::CHECK => {
                let (path, version) = path_int(r)?;
                Op::Check { path, version }
            }
            op::MULTI => Op::Multi(read_steps(r, Op::is_write_step)?),
            op::MULTI_READ => Op::MultiRead(read_steps(r, Op::is_read_step)?),
            op::RECONFIG => Op::Reconfig {
                joining: r.ustring()?,
                leaving: r.ustring()?,
                new_members: r.ustring()?,
                config_id: r.long()?,
            },
            op::CHECK_WATCHES => {
                let (path, kind) = path_int(r)?;
                Op::CheckWatches { path, kind }
            }
            op::REMOVE_WATCHES => {
                let (path, kind) = path_int(r)?;
                Op::RemoveWatches { path, kind }
            }
            op::AUTH => Op::Auth {
                kind: r.int()?,
                scheme: r.string()?,
                auth: r.buffer()?,
            },
            op::SET_WATCHES => Op::SetWatches(Watches {
                relative_zxid: r.long()?,
                data: r.vector(Reader::string)?,
                exist: r.vector(Reader::string)?,
                child: r.vector(Reader::string)?,
                ..Watches::default()
            }),
            op::SET_WATCHES2 => Op::SetWatches2(Watches {
                relative_zxid: r.long()?,
                data: r.vector(Reader::string)?,
                exist: r.vector(Reader::string)?,
                child: r.vector(Reader::string)?,
                persistent: r.vector(Reader::string)?,
                persistent_recursive: r.vector(Reader::string)?,
            }),
            op::SASL => Op::Sasl { token: r.buffer()? },
            op::GET_EPHEMERALS => Op::GetEphemerals {
                prefix: r.string()?,
            },
            op::GET_ALL_CHILDREN_NUMBER => Op::GetAllChildrenNumber { path: r.string()? },
            op::ADD_WATCH => {
                let (path, mode) = path_int(r)?;
                Op::AddWatch { path, mode }
            }
            op::WHO_AM_I => Op::WhoAmI,
            op::CLOSE_SESSION => Op::CloseSession,
            other => return Err(JuteError::Invalid("opcode", other.into())),
        })
    }

    /// Writes this request's record (not its header).
    fn write(&self, w: &mut Writer) {
        match self {
            Op::Create(c) | Op::Create2(c) | Op::CreateContainer(c) => write_create(w, c),
            Op::CreateTtl(c, ttl) => {
                write_create(w, c);
                w.long(*ttl);
            }
            Op::Delete { path, version } | Op::Check { path, version } => {
                w.string(path).int(*version);
            }
            Op::Exists { path, watch }
            | Op::GetData { path, watch }
            | Op::GetChildren { path, watch }
            | Op::GetChildren2 { path, watch } => {
                w.string(path).bool(*watch);
            }
            Op::SetData {
                path,
                data,
                version,
            } => {
                w.string(path).buffer(data.as_deref()).int(*version);
            }
            Op::GetAcl { path }
            | Op::Sync { path }
            | Op::GetAllChildrenNumber { path }
            | Op::GetEphemerals { prefix: path } => {
                w.string(path);
            }
            Op::SetAcl { path, acl, version } => {
                w.string(path);
                write_all(w, acl);
                w.int(*version);
            }
            Op::Ping | Op::WhoAmI | Op::CloseSession => {}
            Op::Multi(steps) | Op::MultiRead(steps) => write_steps(w, steps),
            Op::Reconfig {
                joining,
                leaving,
                new_members,
                config_id,
            } => {
                for s in [joining, leaving, new_members] {
                    w.buffer(s.as_deref().map(str::as_bytes));
                }
                w.long(*config_id);
            }
            Op::CheckWatches { path, kind }
            | Op::RemoveWatches { path, kind }
            | Op::AddWatch { path, mode: kind } => {
                w.string(path).int(*kind);
            }
            Op::Auth { kind, scheme, auth } => {
                w.int(*kind).string(scheme).buffer(auth.as_deref());
            }
            Op::SetWatches(ws) | Op::SetWatches2(ws) => {
                w.long(ws.relative_zxid);
                w.strings(&ws.data).strings(&ws.exist).strings(&ws.child);
                if let Op::SetWatches2(_) = self {
                    w.strings(&ws.persistent).strings(&ws.persistent_recursive);
                }
            }
            Op::Sasl { token } => {
                w.buffer(token.as_deref());
            }
        }
    }

    /// A step a `multi` may hold.
    fn is_write_step(&self) -> bool {
        matches!(
            self,
            Op::Create(_)
                | Op::Create2(_)
                | Op::CreateContainer(_)
                | Op::CreateTtl(..)
                | Op::Delete { .. }
                | Op::SetData { .. }
                | Op::Check { .. }
        )
    }

    /// A step a `multiRead` may hold.
    fn is_read_step(&self) -> bool {
        matches!(self, Op::GetChildren { .. } | Op::GetData { .. })
    }
}

fn read_create(r: &mut Reader) -> Result<Create> {
    Ok(Create {
        path: r.string()?,
        data: r.buffer()?,
        acl: read_all(r)?,
        flags: r.int()?,
    })
}

fn write_create(w: &mut Writer, c: &Create) {
    w.string(&c.path).buffer(c.data.as_deref());
    write_all(w, &c.acl);
    w.int(c.flags);
}

/// A multi's steps: each a `MultiHeader` (type, done = false, err = -1) and the step's
/// record, then a closing header with done = true. A step `allowed` refuses is an error
/// (ZooKeeper refuses to mix reads and writes).
fn read_steps(r: &mut Reader, allowed: fn(&Op) -> bool) -> Result<Vec<Op>> {
    let mut steps = Vec::new();
    loop {
        let (kind, done, _err) = (r.int()?, r.bool()?, r.int()?);
        if done {
            return Ok(steps);
        }
        // Each step takes at least its header's nine bytes, so the loop ends with the input.
        let step = match Op::known(kind) {
            true => Op::read(kind, r)?,
            false => return Err(JuteError::Invalid("multi step", kind.into())),
        };
        if !allowed(&step) {
            return Err(JuteError::Invalid("multi step", kind.into()));
        }
        steps.push(step);
    }
}

fn write_steps(w: &mut Writer, steps: &[Op]) {
    for step in steps {
        w.int(step.opcode()).bool(false).int(-1);
        step.write(w);
    }
    w.int(-1).bool(true).int(-1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::zk::proto::create_flag;

    fn create() -> Create {
        Create {
            path: "/a".into(),
            data: Some(b"hi".to_vec()),
            acl: vec![Acl::open()],
            flags: create_flag::EPHEMERAL,
        }
    }

    /// One request of every opcode.
    pub fn every_op() -> Vec<Op> {
        let path = || "/p".to_string();
        vec![
            Op::Create(create()),
            Op::Create2(create()),
            Op::CreateContainer(create()),
            Op::CreateTtl(create(), 5_000),
            Op::Delete {
                path: path(),
                version: -1,
            },
            Op::Exists {
                path: path(),
                watch: true,
            },
            Op::GetData {
                path: path(),
                watch: false,
            },
            Op::SetData {
                path: path(),
                data: None,
                version: 3,
            },
            Op::GetAcl { path: path() },
            Op::SetAcl {
                path: path(),
                acl: vec![Acl::open()],
                version: 0,
            },
            Op::GetChildren {
                path: path(),
                watch: true,
            },
            Op::GetChildren2 {
                path: path(),
                watch: false,
            },
            Op::Sync { path: path() },
            Op::Ping,
            Op::Check {
                path: path(),
                version: 1,
            },
            Op::Multi(vec![
                Op::Create(create()),
                Op::Check {
                    path: path(),
                    version: 0,
                },
                Op::Delete {
                    path: path(),
                    version: 0,
                },
            ]),
            Op::MultiRead(vec![
                Op::GetData {
                    path: path(),
                    watch: false,
                },
                Op::GetChildren {
                    path: path(),
                    watch: false,
                },
            ]),
            Op::Reconfig {
                joining: Some("server.4=h:1:2".into()),
                leaving: None,
                new_members: None,
                config_id: -1,
            },
            Op::CheckWatches {
                path: path(),
                kind: 3,
            },
            Op::RemoveWatches {
                path: path(),
                kind: 1,
            },
            Op::Auth {
                kind: 0,
                scheme: "digest".into(),
                auth: Some(b"u:p".to_vec()),
            },
            Op::SetWatches(Watches {
                relative_zxid: 7,
                data: vec![path()],
                exist: vec![],
                child: vec!["/c".into()],
                ..Watches::default()
            }),
            Op::SetWatches2(Watches {
                relative_zxid: 7,
                data: vec![],
                exist: vec![path()],
                child: vec![],
                persistent: vec!["/q".into()],
                persistent_recursive: vec!["/".into()],
            }),
            Op::Sasl { token: None },
            Op::GetEphemerals { prefix: path() },
            Op::GetAllChildrenNumber { path: path() },
            Op::AddWatch {
                path: path(),
                mode: 1,
            },
            Op::WhoAmI,
            Op::CloseSession,
        ]
    }

    #[test]
    fn every_request_round_trips() {
        for (i, op) in every_op().into_iter().enumerate() {
            let request = Request {
                xid: i as i32 + 1,
                op,
            };
            let bytes = request.encode();
            assert_eq!(Request::decode(&bytes), Ok(request.clone()), "{request:?}");
            // A frame cut anywhere short does not decode, and does not panic.
            for cut in 0..bytes.len() {
                assert!(
                    Request::decode(&bytes[..cut]).is_err(),
                    "{request:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn a_get_data_request_is_laid_out_as_the_jute_file_says() {
        let bytes = Request {
            xid: 5,
            op: Op::GetData {
                path: "/ab".into(),
                watch: true,
            },
        }
        .encode();
        let expected = [0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 3, b'/', b'a', b'b', 1];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_multi_is_framed_by_multi_headers() {
        let bytes = Request {
            xid: 1,
            op: Op::Multi(vec![Op::Check {
                path: "/".into(),
                version: 2,
            }]),
        }
        .encode();
        let mut expected = vec![0, 0, 0, 1, 0, 0, 0, 14];
        expected.extend([0, 0, 0, 13, 0, 255, 255, 255, 255]); // check, not done, -1
        expected.extend([0, 0, 0, 1, b'/', 0, 0, 0, 2]);
        expected.extend([255, 255, 255, 255, 1, 255, 255, 255, 255]); // done
        assert_eq!(bytes, expected);
    }

    #[test]
    fn unknown_opcodes_and_bad_records_are_told_apart() {
        let unknown = [0, 0, 0, 9, 0, 0, 0, 99];
        assert_eq!(
            Request::decode(&unknown),
            Err(RequestError::UnknownOpcode { xid: 9, opcode: 99 })
        );
        let short = [0, 0, 0, 9, 0, 0, 0, 4, 0, 0];
        assert!(matches!(
            Request::decode(&short),
            Err(RequestError::BadRecord {
                xid: 9,
                opcode: 4,
                ..
            })
        ));
        assert!(matches!(
            Request::decode(&[0, 0]),
            Err(RequestError::NoHeader(_))
        ));
        // A read inside a multi is refused, as ZooKeeper refuses to mix reads and writes.
        let mixed = Request {
            xid: 1,
            op: Op::MultiRead(vec![Op::Check {
                path: "/".into(),
                version: 0,
            }]),
        };
        assert!(Request::decode(&mixed.encode()).is_err());
    }

    /// Random bytes, and valid requests with random bytes changed, never make a decoder
    /// panic; whatever decodes encodes again to a request that decodes the same.
    #[test]
    fn random_and_mangled_bytes_never_panic() {
        use crate::net::zk::records::{ConnectRequest, Record};
        use crate::net::zk::reply::Reply;
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(15);
        let valid: Vec<Vec<u8>> = (every_op().into_iter())
            .map(|op| Request { xid: 1, op }.encode())
            .collect();
        for round in 0..50_000 {
            let bytes: Vec<u8> = match round % 2 {
                0 => (0..rng.random_range(0..48)).map(|_| rng.random()).collect(),
                _ => {
                    let mut bytes = valid[rng.random_range(0..valid.len())].clone();
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    }
                    bytes.truncate(rng.random_range(0..=bytes.len()));
                    bytes
                }
            };
            if let Ok(request) = Request::decode(&bytes) {
                assert_eq!(Request::decode(&request.encode()), Ok(request));
            }
            let _ = ConnectRequest::from_bytes(&bytes);
            let _ = Reply::decode(&bytes, rng.random_range(-12..110));
        }
    }

    #[test]
    fn trailing_bytes_are_ignored_as_zookeeper_ignores_them() {
        let request = Request {
            xid: 2,
            op: Op::Ping,
        };
        let mut bytes = request.encode();
        bytes.push(0);
        assert_eq!(Request::decode(&bytes), Ok(request));
    }
}
