//! What the znode service's Raft log holds: transactions, each a tree operation of a
//! connection or a change to the session table, stamped with a time.

use super::conn::{Once, Passwd};
use coord_specs::znode::{Millis, SessionId, ZkOp, ZkRet};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use stateright::actor::Id;

/// The connection a transaction came from: the server it is connected to, and its id
/// there. Only that server answers it, when it applies the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Origin {
    pub server: Id,
    pub conn: Id,
}

/// A write's place: its session, and its number among the writes of its connection (`n`,
/// counted by the connection's server from 1). With the connection it came from
/// ([`Origin`]; a connection id is never used twice), it names the write that the
/// connection's server waits to answer, and lets the leader append a connection's writes
/// in their order, each once (see `ZkServer::propose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Seat {
    pub session: SessionId,
    pub n: u64,
}

/// One transaction of the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TxnKind {
    /// A new session with this negotiated timeout (ZooKeeper's `createSession`), for the
    /// connection `from`; the tree gives it its id.
    CreateSession { timeout_ms: u32, from: Origin },
    /// A request of a connection, in its seat, with its exactly-once key if it has one.
    Request {
        op: ZkOp,
        seat: Seat,
        once: Option<Once>,
        from: Origin,
    },
    /// The leader expires a session that it has not heard from in time.
    Expire { session: SessionId },
}

/// A transaction with the time it is stamped with: the time its request arrived, raised
/// by the leader to the time of the entry before it, so that times never go back in log
/// order. Applying it stamps `ctime`/`mtime` with this time on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Txn {
    pub kind: TxnKind,
    pub time: Millis,
}

/// What applying a transaction did, for the server that answers it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Outcome {
    /// A request was applied to the tree with this result.
    Ret(ZkRet),
    /// A session was opened: its id.
    Session(SessionId),
}

/// A session in the tree's session table (replicated: every server knows every session,
/// as in ZooKeeper).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionEntry {
    /// The negotiated timeout (0 for a session the table learned of only by its close).
    pub timeout_ms: u32,
    /// The results of the session's requests by exactly-once key (see [`Once`]).
    pub results: im::OrdMap<u64, ZkRet>,
    /// The session has been closed (expired, or closed by its client): it stays closed.
    pub closed: bool,
}

/// Rule: a session's password is the first 16 bytes of HMAC-SHA256 of its id under the
/// cluster's `secret`. A pure function, so any server checks a reconnect's password with
/// nothing stored per session and no random number drawn (ZooKeeper likewise derives it
/// from the id and a server secret); only those who know the secret can forge one.
pub fn password(secret: &[u8], session: SessionId) -> Passwd {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&session.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let mut passwd = [0; 16];
    passwd.copy_from_slice(&digest[..16]);
    passwd
}

/// Rule (ZooKeeper's `processConnectRequest`): the negotiated timeout is the requested one
/// bounded to 2 to 20 ticks.
pub fn negotiate(requested_ms: u32, tick_ms: u32) -> u32 {
    requested_ms.clamp(2 * tick_ms, 20 * tick_ms)
}
