//! Which connection owns a session, and which of its writes the leader has appended
//! (ZooKeeper's session owner, kept by the leader).
//!
//! Rules (ZooKeeper's `revalidateSession` and `checkSession`, and the FIFO order of a
//! client's requests):
//! - A connection that resumes a session tells the leader (`Own`); from then on it owns
//!   the session, and a write of any other connection of the session reaching the leader
//!   is refused: that connection is closed (`SessionMoved`), nothing of it applied. So a
//!   client that moved to another server does not have late writes of its old connection
//!   applied after its new one's.
//! - A connection that opens a session owns it when the creation is applied at the leader.
//! - The leader appends the writes of the owning connection in their order, each once:
//!   write `n` only right after write `n - 1`. A write sent again (its server resends what
//!   waits too long, as a forward may be lost) is dropped if it was appended already, and
//!   one whose predecessor has not arrived waits to be sent again. A leader elected since
//!   the connection's first write knows nothing of it (its server closes its connections
//!   when the leader changes): such a connection is closed (`Lost`).
//! - A resumed session the leader knows to be closed is refused too (`SessionExpired`).

use super::conn::CloseReason;
use super::msg::ZkMsg;
use super::server::{ZkServer, ZkServerState};
use super::txn::{Origin, Seat};
use coord_specs::znode::SessionId;
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::borrow::Cow;

/// At the leader: the connection that owns a session, and the number of its last write
/// appended to the log (0 for none yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Owner {
    pub from: Origin,
    pub n: u64,
}

impl ZkServer {
    /// Connection `from` resumed `session`: at the leader it owns it now (and the session
    /// is alive), unless the session is closed.
    pub(super) fn on_own(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        from: Origin,
        o: &mut Out<Self>,
    ) {
        if !state.raft.is_leader() {
            return;
        }
        if state.tree().is_closed(session) {
            return self.refuse(id, state, from, None, CloseReason::SessionExpired, o);
        }
        self.set_owner(state, session, from);
        self.heard_from(state, session, o);
    }

    /// Connection `from` owns `session` from now on (a new owner has appended nothing).
    pub(super) fn set_owner(
        &self,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        from: Origin,
    ) {
        if state.owners.get(&session).map(|o| o.from) != Some(from) {
            state.to_mut().owners.insert(session, Owner { from, n: 0 });
        }
    }

    /// At the leader: whether the write in `seat` of connection `from` is appended now
    /// (see the module's rules). A write refused closes its connection; one that is
    /// dropped (appended already, or early) changes nothing.
    pub(super) fn admits(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        seat: Seat,
        from: Origin,
        o: &mut Out<Self>,
    ) -> bool {
        let refused = match state.owners.get(&seat.session) {
            Some(owner) if owner.from != from => Some(CloseReason::SessionMoved),
            Some(owner) if seat.n != owner.n + 1 => return false,
            None if seat.n != 1 => Some(CloseReason::Lost),
            _ => None,
        };
        if let Some(reason) = refused {
            self.refuse(id, state, from, Some(seat), reason, o);
            return false;
        }
        let owner = Owner { from, n: seat.n };
        state.to_mut().owners.insert(seat.session, owner);
        true
    }

    /// At the leader: connection `from` is to be closed for `reason` (its server closes
    /// it; this may be the leader itself).
    pub(super) fn refuse(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        from: Origin,
        seat: Option<Seat>,
        reason: CloseReason,
        o: &mut Out<Self>,
    ) {
        if from.server == id {
            return self.on_refuse(id, state, from, seat, reason, o);
        }
        o.send(from.server, ZkMsg::Refuse { from, seat, reason });
    }

    /// The leader refused connection `from` here: it is closed, if it still waits for the
    /// refused write (`seat`), or is still resuming its session.
    pub(super) fn on_refuse(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        from: Origin,
        seat: Option<Seat>,
        reason: CloseReason,
        o: &mut Out<Self>,
    ) {
        let Some(c) = state.conns.get(&from.conn).filter(|_| from.server == id) else {
            return;
        };
        let same = match &seat {
            Some(seat) => c.queue.iter().any(|p| p.n == seat.n && p.done.is_none()),
            None => true,
        };
        if same {
            o.send(from.conn, ZkMsg::Closed(reason));
            self.forget_conn(state, from.conn);
        }
    }
}
