//! ZooKeeper's client protocol as a znode server sees it: what a connection sends to the
//! server it is connected to, and what it gets back. A connection is an actor id: a model
//! client, a UDP client of the `coord` command line, or one TCP connection of the
//! ZooKeeper front door in a node process. All three send these same messages, so the
//! rules the models check are the rules a ZooKeeper client meets.
//!
//! The order of messages on a connection is the protocol: a connection sends `Connect`
//! first and waits for `Connected`; then any number of `Request`s (pipelined) and `Ping`s.
//! The server answers the requests in the order they came, each `Reply` after every
//! `Event` for a change that the reply's data shows, and closes the connection with
//! `Closed` when a rule says so (see [`CloseReason`]).

use super::watch::{AddWatchMode, WatcherType};
use coord_specs::znode::{Millis, Path, SessionId, ZkError, ZkOp, ZkRet, Zxid};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// A session's password: 16 bytes, as ZooKeeper's.
pub type Passwd = [u8; 16];

/// A client's handshake (ZooKeeper's `ConnectRequest`; the protocol version and the
/// read-only flag are the front door's business).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Connect {
    /// The session to resume, or 0 for a new one.
    pub session: SessionId,
    /// The session's password (ignored for a new session).
    pub passwd: Passwd,
    /// The session timeout the client asks for, in milliseconds.
    pub timeout_ms: u32,
    /// The highest zxid the client has seen (ZooKeeper's `lastZxidSeen`).
    pub last_zxid: Zxid,
    /// Who the client is, for `whoAmI` (the front door: its IP address; ZooKeeper's
    /// `ip` scheme).
    pub client: SmolStr,
}

/// The server's answer to a `Connect` (ZooKeeper's `ConnectResponse`). A session that is
/// expired, unknown, or whose password is wrong gets timeout 0, session 0 and a zero
/// password, and then `Closed(SessionExpired)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Connected {
    pub session: SessionId,
    pub passwd: Passwd,
    /// The negotiated session timeout in milliseconds; 0 for an expired session.
    pub timeout_ms: u32,
}

/// What a request asks, beyond the tree operations of the spec.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Call {
    /// An operation on the tree (reads, writes, `sync`, `check`, ACLs, `closeSession`...).
    /// The server puts the connection's session into it, whatever the client wrote.
    Op(ZkOp),
    /// Re-register watches after a reconnect (ZooKeeper's `setWatches` and `setWatches2`;
    /// the first has no persistent lists).
    SetWatches(SetWatches),
    /// ZooKeeper's `addWatch`: a persistent or persistent recursive watch on `path`.
    AddWatch { path: Path, mode: AddWatchMode },
    /// ZooKeeper's `removeWatches` (`remove: true`) and `checkWatches` (`remove: false`).
    RemoveWatches {
        path: Path,
        kind: WatcherType,
        remove: bool,
    },
    /// ZooKeeper's `setAuth` (the auth packet): only the `digest` scheme is known.
    SetAuth { scheme: SmolStr, auth: Vec<u8> },
    /// ZooKeeper's `whoAmI`.
    WhoAmI,
    /// An operation a default ZooKeeper refuses or does not implement: `reconfig`
    /// (`ReconfigDisabled`), `createTTL` and `multiRead` (`Unimplemented`), a request it
    /// answers with an error (see [`Refused::Error`]), and any other opcode
    /// (`Unimplemented`, and the connection closes).
    Refused(Refused),
}

/// See [`Call::Refused`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Refused {
    Reconfig,
    CreateTtl,
    MultiRead,
    /// An opcode ZooKeeper does not know (the number as it came).
    Unknown(i32),
    /// A request ZooKeeper answers with this error, keeping the connection: a create flag
    /// it does not know (`BadArguments`), a value outside its enum or a record that does
    /// not decode (`MarshallingError`).
    Error(ZkError),
}

/// ZooKeeper's `SetWatches2` (relative zxid and five lists of paths).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SetWatches {
    /// The last zxid the client saw: a change after it fires the watch at once.
    pub relative_zxid: Zxid,
    pub data: Vec<Path>,
    pub exist: Vec<Path>,
    pub child: Vec<Path>,
    pub persistent: Vec<Path>,
    pub persistent_recursive: Vec<Path>,
}

/// A request on a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Request {
    /// The client's number for it, echoed in the reply (any value; ZooKeeper's clients
    /// count from 1 on each connection).
    pub xid: i32,
    pub call: Call,
    /// A read also leaves a watch (the `watch` flag of `exists`, `getData`,
    /// `getChildren`, `getChildren2`).
    pub watch: bool,
    /// When the request arrived, by the clock of the server it arrived at (the front
    /// door's wall clock in milliseconds; a model client's logical time). A write is
    /// stamped with it, made monotone by the leader (see `Txn::time`).
    pub time: Millis,
    /// For a client that sends a call again after a lost connection: the call's key, so
    /// that it applies once. ZooKeeper's clients do not resend (the front door sends
    /// `None`); coord's own clients do.
    pub once: Option<Once>,
}

/// Rule (exactly-once across connections, as a Raft client session): a write with key
/// `id` that the session has applied already is not applied again; its first result is
/// the answer. The session keeps the results of its keys from `floor` up (the client
/// awaits no call below `floor`, so older results go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Once {
    pub id: u64,
    pub floor: u64,
}

/// The answer to request `xid`: `ret` (an error is `ZkRet::Err`), and the zxid of the
/// server's tree when it answered (the reply header's zxid).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reply {
    pub xid: i32,
    pub zxid: Zxid,
    pub ret: ZkRet,
}

/// Why the server closes a connection. The front door sends what came before `Closed`,
/// then closes the socket; a model client takes it as the connection lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CloseReason {
    /// The server's tree is older than the client's `lastZxidSeen`: no answer to the
    /// `Connect` at all (ZooKeeper closes without a response; the client tries another).
    Behind,
    /// The session is expired, unknown, or the password is wrong (after `Connected` with
    /// timeout 0), or it expired while connected here.
    SessionExpired,
    /// A request came from a connection that no longer owns its session: it has
    /// reconnected elsewhere (ZooKeeper tears the connection down without an answer).
    SessionMoved,
    /// The client closed its session (after the reply to `closeSession`).
    SessionClosed,
    /// An opcode ZooKeeper does not know (after the `Unimplemented` reply).
    Unimplemented,
    /// `setAuth` with an unknown scheme (after the `AuthFailed` reply).
    AuthFailed,
    /// A request carried more than `MAX_DATA` bytes of data (ZooKeeper closes the
    /// connection without an answer).
    TooLarge,
    /// The server's leader changed: ZooKeeper's servers drop their clients then; they
    /// reconnect elsewhere.
    Lost,
}
