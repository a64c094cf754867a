//! What a server sends after the handshake: a `ReplyHeader` and, unless the header carries
//! an error, the record that answers the request's opcode (`FinalRequestProcessor`); or a
//! watch event (xid -1).

use super::jute::{JuteError, Reader, Result, Writer};
use super::proto::{err, opcode as op, xid};
use super::records::{
    read_all, write_all, Acl, ClientInfo, Record, ReplyHeader, Stat, WatcherEvent,
};

/// One frame from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub header: ReplyHeader,
    pub body: Body,
}

/// The record after a reply's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Nothing: an error, or a request whose answer is the header alone (delete, ping,
    /// setWatches, checkWatches, removeWatches, setAuth, closeSession).
    Empty,
    /// `create`'s `CreateResponse` and `sync`'s `SyncResponse`.
    Path(String),
    /// `create2`, `createContainer` and `createTTL`: `Create2Response`.
    Created(String, Stat),
    /// `exists` (`ExistsResponse`), `setData` and `check` (`SetDataResponse`), `setACL`
    /// (`SetACLResponse`).
    Stat(Stat),
    /// `getData` and `reconfig`: `GetDataResponse`.
    Data(Option<Vec<u8>>, Stat),
    /// `getACL`: `GetACLResponse`.
    Acl(Vec<Acl>, Stat),
    /// `getChildren`: `GetChildrenResponse`; `getEphemerals`: `GetEphemeralsResponse`.
    Names(Vec<String>),
    /// `getChildren2`: `GetChildren2Response`.
    Children2(Vec<String>, Stat),
    /// `getAllChildrenNumber`: `GetAllChildrenNumberResponse`; `addWatch`: `ErrorResponse`.
    Int(i32),
    /// `multi` and `multiRead`: `MultiResponse`.
    Multi(Vec<StepResult>),
    /// `whoAmI`: `WhoAmIResponse`.
    ClientInfo(Vec<ClientInfo>),
    /// A watch fired (xid -1).
    Event(WatcherEvent),
}

/// The result of one step of a multi (`OpResult`), framed by a `MultiHeader`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepResult {
    Create(String),
    Create2(String, Stat),
    Delete,
    SetData(Stat),
    Check,
    GetChildren(Vec<String>),
    GetData(Option<Vec<u8>>, Stat),
    /// A failed multi reports one of these per step: 0 for the steps before the one that
    /// failed, its error at it, and ZRUNTIMEINCONSISTENCY after it.
    Error(i32),
}

impl Reply {
    /// A watch event frame: xid -1, zxid -1, as ZooKeeper's server sends it.
    pub fn event(event: WatcherEvent) -> Reply {
        Reply {
            header: ReplyHeader {
                xid: xid::NOTIFICATION,
                zxid: -1,
                err: err::OK,
            },
            body: Body::Event(event),
        }
    }

    /// The frame's bytes (without the length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.header.write(&mut w);
        self.body.write(&mut w);
        w.into_bytes()
    }

    /// Reads a reply to a request of `opcode` (what a client does: it knows which request
    /// a reply answers from the order of its requests); a watch event needs no opcode.
    pub fn decode(frame: &[u8], opcode: i32) -> Result<Reply> {
        let mut r = Reader::new(frame);
        let header = ReplyHeader::read(&mut r)?;
        let body = match header.xid {
            xid::NOTIFICATION => Body::Event(WatcherEvent::read(&mut r)?),
            _ if header.err != err::OK => Body::Empty,
            _ => Body::read(opcode, &mut r)?,
        };
        r.finish()?;
        Ok(Reply { header, body })
    }
}

impl Body {
    fn write(&self, w: &mut Writer) {
        match self {
            Body::Empty => {}
            Body::Path(path) => {
                w.string(path);
            }
            Body::Created(path, stat) => {
                w.string(path);
                stat.write(w);
            }
            Body::Stat(stat) => stat.write(w),
            Body::Data(data, stat) => {
                w.buffer(data.as_deref());
                stat.write(w);
            }
            Body::Acl(acl, stat) => {
                write_all(w, acl);
                stat.write(w);
            }
            Body::Names(names) => {
                w.strings(names);
            }
            Body::Children2(names, stat) => {
                w.strings(names);
                stat.write(w);
            }
            Body::Int(n) => {
                w.int(*n);
            }
            Body::Multi(results) => {
                for result in results {
                    result.write(w);
                }
                w.int(-1).bool(true).int(-1);
            }
            Body::ClientInfo(infos) => write_all(w, infos),
            Body::Event(event) => event.write(w),
        }
    }

    /// Reads the record that answers `opcode`.
    fn read(opcode: i32, r: &mut Reader) -> Result<Body> {
        Ok(match opcode {
            op::CREATE | op::SYNC => Body::Path(r.string()?),
            op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                Body::Created(r.string()?, Stat::read(r)?)
            }
            op::EXISTS | op::SET_DATA | op::CHECK | op::SET_ACL => Body::Stat(Stat::read(r)?),
            op::GET_DATA | op::RECONFIG => Body::Data(r.buffer()?, Stat::read(r)?),
            op::GET_ACL => Body::Acl(read_all(r)?, Stat::read(r)?),
            op::GET_CHILDREN | op::GET_EPHEMERALS => Body::Names(r.vector(Reader::string)?),
            op::GET_CHILDREN2 => Body::Children2(r.vector(Reader::string)?, Stat::read(r)?),
            op::GET_ALL_CHILDREN_NUMBER | op::ADD_WATCH => Body::Int(r.int()?),
            op::MULTI | op::MULTI_READ => Body::Multi(read_results(r)?),
            op::WHO_AM_I => Body::ClientInfo(read_all(r)?),
            _ => Body::Empty,
        })
    }
}

impl StepResult {
    fn write(&self, w: &mut Writer) {
        let (kind, code) = match self {
            StepResult::Create(_) => (op::CREATE, 0),
            StepResult::Create2(..) => (op::CREATE2, 0),
            StepResult::Delete => (op::DELETE, 0),
            StepResult::SetData(_) => (op::SET_DATA, 0),
            StepResult::Check => (op::CHECK, 0),
            StepResult::GetChildren(_) => (op::GET_CHILDREN, 0),
            StepResult::GetData(..) => (op::GET_DATA, 0),
            StepResult::Error(code) => (op::ERROR, *code),
        };
        w.int(kind).bool(false).int(code);
        match self {
            StepResult::Create(path) => {
                w.string(path);
            }
            StepResult::Create2(path, stat) => {
                w.string(path);
                stat.write(w);
            }
            StepResult::Delete | StepResult::Check => {}
            StepResult::SetData(stat) => stat.write(w),
            StepResult::GetChildren(names) => {
                w.strings(names);
            }
            StepResult::GetData(data, stat) => {
                w.buffer(data.as_deref());
                stat.write(w);
            }
            StepResult::Error(code) => {
                w.int(*code);
            }
        }
    }
}

fn read_results(r: &mut Reader) -> Result<Vec<StepResult>> {
    let mut results = Vec::new();
    loop {
        let (kind, done, _err) = (r.int()?, r.bool()?, r.int()?);
        if done {
            return Ok(results);
        }
        results.push(match kind {
            op::CREATE => StepResult::Create(r.string()?),
            op::CREATE2 => StepResult::Create2(r.string()?, Stat::read(r)?),
            op::DELETE => StepResult::Delete,
            op::SET_DATA => StepResult::SetData(Stat::read(r)?),
            op::CHECK => StepResult::Check,
            op::GET_CHILDREN => StepResult::GetChildren(r.vector(Reader::string)?),
            op::GET_DATA => StepResult::GetData(r.buffer()?, Stat::read(r)?),
            op::ERROR => StepResult::Error(r.int()?),
            other => return Err(JuteError::Invalid("multi result", other.into())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::zk::proto::{event, state};

    fn stat() -> Stat {
        Stat {
            czxid: 3,
            mzxid: 4,
            ctime: 1_700_000_000_000,
            mtime: 1_700_000_000_001,
            version: 1,
            data_length: 2,
            pzxid: 3,
            ..Stat::default()
        }
    }

    fn ok(xid: i32, body: Body) -> Reply {
        Reply {
            header: ReplyHeader {
                xid,
                zxid: 9,
                err: 0,
            },
            body,
        }
    }

    #[test]
    fn every_reply_round_trips_with_its_opcode() {
        let names = || vec!["a".to_string(), "b".to_string()];
        let cases = [
            (op::CREATE, Body::Path("/a".into())),
            (op::CREATE2, Body::Created("/a".into(), stat())),
            (op::EXISTS, Body::Stat(stat())),
            (op::GET_DATA, Body::Data(Some(b"hi".to_vec()), stat())),
            (op::GET_DATA, Body::Data(None, stat())),
            (op::GET_ACL, Body::Acl(vec![Acl::open()], stat())),
            (op::GET_CHILDREN, Body::Names(names())),
            (op::GET_CHILDREN2, Body::Children2(names(), stat())),
            (op::GET_ALL_CHILDREN_NUMBER, Body::Int(7)),
            (op::DELETE, Body::Empty),
            (
                op::MULTI,
                Body::Multi(vec![
                    StepResult::Create("/a".into()),
                    StepResult::Create2("/b".into(), stat()),
                    StepResult::Delete,
                    StepResult::SetData(stat()),
                    StepResult::Check,
                ]),
            ),
            (
                op::MULTI_READ,
                Body::Multi(vec![
                    StepResult::GetChildren(names()),
                    StepResult::GetData(None, stat()),
                    StepResult::Error(err::NO_NODE),
                ]),
            ),
            (
                op::WHO_AM_I,
                Body::ClientInfo(vec![ClientInfo {
                    auth_scheme: "ip".into(),
                    user: "127.0.0.1".into(),
                }]),
            ),
        ];
        for (opcode, body) in cases {
            let reply = ok(4, body);
            let bytes = reply.encode();
            assert_eq!(
                Reply::decode(&bytes, opcode),
                Ok(reply.clone()),
                "{reply:?}"
            );
            for cut in 0..bytes.len() {
                assert!(Reply::decode(&bytes[..cut], opcode).is_err());
            }
        }
    }

    #[test]
    fn a_failed_multi_lists_each_steps_error() {
        let reply = ok(
            2,
            Body::Multi(vec![
                StepResult::Error(0),
                StepResult::Error(err::NO_NODE),
                StepResult::Error(err::RUNTIME_INCONSISTENCY),
            ]),
        );
        let bytes = reply.encode();
        let mut expected = vec![0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0];
        for code in [0i32, -101, -2] {
            expected.extend([255, 255, 255, 255, 0]); // type -1 (error), not done
            expected.extend(code.to_be_bytes());
            expected.extend(code.to_be_bytes()); // ErrorResponse
        }
        expected.extend([255, 255, 255, 255, 1, 255, 255, 255, 255]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn an_error_reply_is_the_header_alone() {
        let reply = Reply {
            header: ReplyHeader {
                xid: 3,
                zxid: 9,
                err: err::NO_NODE,
            },
            body: Body::Empty,
        };
        let bytes = reply.encode();
        assert_eq!(
            bytes,
            [0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 255, 255, 255, 0x9b]
        );
        assert_eq!(Reply::decode(&bytes, op::GET_DATA), Ok(reply));
    }

    #[test]
    fn a_watch_event_has_xid_and_zxid_minus_one() {
        let reply = Reply::event(WatcherEvent {
            kind: event::NODE_DATA_CHANGED,
            state: state::SYNC_CONNECTED,
            path: "/a".into(),
        });
        let bytes = reply.encode();
        let mut expected = vec![255; 12];
        expected.extend([0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a']);
        assert_eq!(bytes, expected);
        assert_eq!(Reply::decode(&bytes, op::NOTIFICATION), Ok(reply));
    }
}
