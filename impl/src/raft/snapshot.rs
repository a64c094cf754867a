//! Log compaction and InstallSnapshot (Raft paper §7 and figure 13), as etcd's raft and
//! raft-rs do it: each server snapshots its own applied prefix; a leader that has
//! compacted away an entry a follower still needs sends its snapshot instead.
//!
//! A snapshot is the replica (the state machine and its session table, see [`Replica`])
//! as of the log's snapshot index, encoded as bytes: it is stored in [`RaftStorage`] and
//! sent in [`Msg::Snapshot`] as it is, and decoded only when a server starts from it or
//! installs it. The empty encoding stands for the empty replica at index 0.
//!
//! Rules, each enforced below:
//! - A server compacts only what it has applied, so only committed entries (figure 13:
//!   "snapshot ... of the state machine ... up to lastIncludedIndex").
//! - The session table goes into the snapshot: duplicate suppression must survive it.
//! - A follower installs a snapshot only past its commit index, so it never rolls back its
//!   state machine or drops a committed entry; a snapshot at or below it is answered as an
//!   AppendEntries that matched up to the commit index.
//! - A follower keeps the entries after a snapshot whose last entry it holds (figure 13,
//!   receiver rule 6); otherwise it discards its whole log (rule 7).
//!
//! [`RaftStorage`]: super::types::RaftStorage

use super::replica::{Replica, StateMachine};
use super::server::{RaftBug, RaftServer, RaftState};
use super::types::{Index, Msg, Term};
use bytes::Bytes;
use stateright::actor::{Id, Out};
use std::borrow::Cow;

/// Encodes a replica as a snapshot.
pub fn encode<SM: StateMachine>(replica: &Replica<SM>) -> Bytes {
    let bytes = postcard::to_stdvec(replica).expect("a replica always encodes");
    Bytes::from(bytes)
}

/// Decodes a snapshot made by [`encode`]; the empty snapshot is the empty replica. `None`
/// if the bytes are not a snapshot of this state machine.
pub fn decode<SM: StateMachine>(data: &Bytes) -> Option<Replica<SM>> {
    if data.is_empty() {
        return Some(Replica::default());
    }
    postcard::from_bytes(data).ok()
}

/// Whether two snapshots are one: the same bytes shared (the common case, found at once),
/// or equal bytes.
pub fn same(a: &Bytes, b: &Bytes) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

impl<SM: StateMachine> RaftServer<SM> {
    /// Log compaction (§7): once `compact_after` applied entries follow the last snapshot,
    /// snapshot the replica as of the applied index, forget the log up to it, and save.
    /// With [`RaftBug::SnapshotWithoutSessions`] the snapshot leaves the session table out.
    pub(super) fn compact_if_due(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let Some(after) = self.compact_after else {
            return;
        };
        let applied = state.replica.applied;
        if applied < state.log.snapshot_index() + after {
            return;
        }
        state.snapshot = if self.has_bug(RaftBug::SnapshotWithoutSessions) {
            encode(&Replica {
                sessions: im::OrdMap::new(),
                ..state.replica.clone()
            })
        } else {
            encode(&state.replica)
        };
        let term = state.term_at(applied);
        state.log.compact(applied, term);
        state.config_compacted();
        self.save(state, o);
    }

    /// The leader's InstallSnapshot for a follower whose next entry it has compacted
    /// away. It then expects the follower to have the snapshot, and sends the entries after
    /// it next; if the snapshot is lost, the follower refuses them with a hint at or below
    /// the snapshot, and the snapshot goes again (see `on_appended`).
    pub(super) fn snapshot_for(&self, state: &RaftState<SM>, round: u64) -> Msg<SM::Op, SM::Ret> {
        Msg::Snapshot {
            term: state.term,
            index: state.log.snapshot_index(),
            last_term: state.log.snapshot_term(),
            data: state.snapshot.clone(),
            round,
        }
    }

    /// InstallSnapshot receiver (figure 13), in the current term: recognize the sender as
    /// the term's leader; install the snapshot if it goes past the commit index (see
    /// [`RaftState::installs`]): keep the log after it or discard the log, take its state
    /// machine and session table, save; and answer as an AppendEntries that matched up to
    /// the commit index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_snapshot(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        index: Index,
        last_term: Term,
        data: Bytes,
        round: u64,
        o: &mut Out<Self>,
    ) {
        self.follow(id, state, src, o);
        if state.installs(index) {
            // A snapshot that is not one of this state machine at `index` is not answered.
            let Some(replica) = decode::<SM>(&data).filter(|r| r.applied == index) else {
                return;
            };
            let state = state.to_mut();
            state.log.compact(index, last_term);
            state.snapshot = data;
            state.replica = replica;
            state.commit = index;
            state.config = state.latest_config(id);
            self.save(state, o);
        }
        let reply = Msg::Appended {
            term: state.term,
            success: true,
            index: state.commit,
            round,
        };
        o.send(src, reply);
    }
}

impl<SM: StateMachine> RaftState<SM> {
    /// Whether a snapshot up to `index` is installed: only if it goes past the commit
    /// index. What a server has committed it never gives up, and a snapshot at or below
    /// its commit index holds nothing it lacks (its state machine would go back).
    pub(super) fn installs(&self, index: Index) -> bool {
        index > self.commit
    }
}
