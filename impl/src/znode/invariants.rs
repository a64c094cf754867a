//! What a znode server and a ZooKeeper client keep.
//!
//! A server: everything its Raft server keeps; only writes and synced reads wait for the
//! log, each for a client; no watch of a closed session is left (unless the deliberate
//! bug that keeps them is on); the tree's zxid counts no more writes than were applied,
//! and from one step to the next it rises by one for each write applied that succeeded.
//!
//! A client: one of its servers as target, no call in flight once done, a numbered call
//! in flight; from one step to the next, call numbers, the highest zxid seen and the
//! resend count never go down, a halted client stays halted, and events are only added.

use super::client::{Program, ZkClient, ZkClientState};
use super::server::{session_of, ZkServer, ZkServerState};
use super::ZkBug;
use crate::invariants::{ensure, Broken, Invariants};
use coord_specs::znode::ZkRet;

impl Invariants for ZkServer {
    fn invariants(&self, s: &ZkServerState) -> Result<(), Broken> {
        self.raft.invariants(&s.raft)?;
        ensure(
            "only writes and synced reads wait for the log",
            s.waiting.values().all(|w| !w.op.is_read() || w.serve.sync),
            || format!("waiting {:?}", s.waiting),
        )?;
        ensure(
            "every waiting call belongs to a client",
            s.waiting.keys().all(|c| !self.raft.peers.contains(c)),
            || format!("waiting {:?}, servers {:?}", s.waiting, self.raft.peers),
        )?;
        let tree = s.tree();
        let outlive = self.bug == Some(ZkBug::WatchesOutliveSession);
        ensure(
            "no watch of a closed session is left",
            outlive
                || s.watches
                    .iter()
                    .all(|w| !tree.is_closed(session_of(w.client))),
            || format!("watches {:?}", s.watches),
        )?;
        let applied = s.raft.replica.applied;
        ensure(
            "the tree's zxid counts no more writes than were applied",
            tree.zxid() <= applied,
            || format!("zxid {}, {applied} entries applied", tree.zxid()),
        )
    }

    fn step_invariants(&self, before: &ZkServerState, after: &ZkServerState) -> Result<(), Broken> {
        let (was, now) = (before.tree().zxid(), after.tree().zxid());
        let writes = successful_writes(before, after);
        ensure(
            "the tree's zxid rises by one per successful write applied",
            now == was + writes,
            || format!("zxid {now} after {was}, {writes} successful writes applied"),
        )?;
        self.raft.step_invariants(&before.raft, &after.raft)
    }
}

/// How many of the entries `after` applied beyond `before` were writes that succeeded
/// (ZooKeeper's rule: each takes the next zxid; a failed write, a read and a duplicate
/// take none), replayed on a copy of `before`'s replica.
fn successful_writes(before: &ZkServerState, after: &ZkServerState) -> u64 {
    let (was, now) = (before.raft.replica.applied, after.raft.replica.applied);
    let mut replay = before.raft.replica.clone();
    let entries = after
        .raft
        .log
        .from(was + 1)
        .take(now.saturating_sub(was) as usize);
    let applied = entries.filter_map(|entry| {
        let write = !entry.op.is_read();
        replay.apply_with(entry, true, |tree, op| {
            (tree.apply_with_changes(op).0, write)
        })
    });
    let failed = |ret: &ZkRet| matches!(ret, ZkRet::Err(_) | ZkRet::MultiFailed { .. });
    applied
        .filter(|(ret, write)| *write && !failed(ret))
        .count() as u64
}

impl<P: Program> Invariants for ZkClient<P> {
    fn invariants(&self, s: &ZkClientState<P::State>) -> Result<(), Broken> {
        ensure(
            "the client talks to one of its servers",
            self.servers.contains(&s.target),
            || format!("target {:?}, servers {:?}", s.target, self.servers),
        )?;
        ensure(
            "a done client has no call in flight",
            !s.done || s.call.is_none(),
            || format!("call {:?}", s.call),
        )?;
        ensure(
            "a call in flight is numbered",
            s.call.is_none() || s.seq >= 1,
            || format!("call {:?} numbered {}", s.call, s.seq),
        )
    }

    fn step_invariants(
        &self,
        before: &ZkClientState<P::State>,
        after: &ZkClientState<P::State>,
    ) -> Result<(), Broken> {
        let never_down = [
            ("call numbers never go down", before.seq, after.seq),
            (
                "the highest zxid seen never goes down",
                before.zxid,
                after.zxid,
            ),
            (
                "the resend count never goes down",
                before.resends.into(),
                after.resends.into(),
            ),
        ];
        for (invariant, was, now) in never_down {
            ensure(invariant, now >= was, || format!("{now} after {was}"))?;
        }
        ensure(
            "a halted client stays halted",
            !before.halted || after.halted,
            || "it runs again".into(),
        )?;
        ensure(
            "watch events are only added",
            after.events.starts_with(&before.events),
            || format!("{:?} after {:?}", after.events, before.events),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientMsg;
    use crate::invariants::assert_kept;
    use crate::raft::{Entry, RaftServer, StateMachine};
    use crate::test_util::{me, p1, p2};
    use crate::znode::client::{Call, Script};
    use crate::znode::server::Waiting;
    use crate::znode::watch::{Watch, WatchEvent, WatchKind};
    use crate::znode::{Change, Serve, ZkMsg};
    use coord_specs::znode::build::{create, get, set};
    use coord_specs::znode::{CreateMode, ZkOp};
    use stateright::actor::{Actor, Id, Out};
    use std::borrow::Cow;
    use std::time::Duration;

    fn timeout() -> std::ops::Range<Duration> {
        Duration::from_millis(150)..Duration::from_millis(300)
    }

    fn server() -> ZkServer {
        ZkServer::new(RaftServer::new(vec![p1(), p2()], timeout()))
    }

    fn started(s: &ZkServer) -> ZkServerState {
        s.on_start(me(), &None, &mut Out::new())
    }

    fn c() -> Id {
        Id::from(7)
    }

    fn broken(r: Result<(), Broken>) -> &'static str {
        r.unwrap_err().invariant
    }

    #[test]
    fn a_fresh_server_keeps_every_invariant() {
        assert_eq!(server().invariants(&started(&server())), Ok(()));
    }

    #[test]
    fn a_broken_raft_invariant_of_the_server_is_caught() {
        let mut state = started(&server());
        state.raft.commit = 3;
        let found = broken(server().invariants(&state));
        assert_eq!(found, "the commit index is within the log");
    }

    #[test]
    fn a_plain_read_waiting_for_the_log_is_caught() {
        let mut state = started(&server());
        let (op, serve) = (get("/"), Serve::default());
        state.waiting.insert(c(), Waiting { seq: 1, op, serve });
        let found = broken(server().invariants(&state));
        assert_eq!(found, "only writes and synced reads wait for the log");
    }

    #[test]
    fn a_call_waiting_for_a_server_is_caught() {
        let mut state = started(&server());
        let (op, serve) = (set("/", "x", -1), Serve::default());
        state.waiting.insert(p1(), Waiting { seq: 1, op, serve });
        let found = broken(server().invariants(&state));
        assert_eq!(found, "every waiting call belongs to a client");
    }

    /// A server whose tree has applied the close of `c()`'s session, through the log.
    fn closed_session(s: &ZkServer) -> ZkServerState {
        let mut state = started(s);
        let close = ZkOp::CloseSession {
            session: session_of(c()),
        };
        let entry = Entry {
            term: 0,
            client: me(),
            seq: 1,
            op: close,
        };
        state.raft.log.push(entry.clone());
        state.raft.commit = 1;
        state.raft.replica.apply(&entry, true);
        state
    }

    #[test]
    fn a_watch_of_a_closed_session_is_caught_unless_the_bug_keeps_it() {
        let watch = Watch {
            path: "/".into(),
            kind: WatchKind::Data,
            client: c(),
            seq: 1,
        };
        let mut state = closed_session(&server());
        assert_eq!(server().invariants(&state), Ok(()));
        state.watches.insert(watch);
        let found = broken(server().invariants(&state));
        assert_eq!(found, "no watch of a closed session is left");
        let buggy = server().with_bug(Some(ZkBug::WatchesOutliveSession));
        assert_eq!(buggy.invariants(&state), Ok(()));
    }

    #[test]
    fn a_zxid_ahead_of_the_applied_entries_is_caught() {
        let mut state = started(&server());
        state.raft.replica.sm.apply(&set("/", "x", -1));
        let found = broken(server().invariants(&state));
        assert_eq!(
            found,
            "the tree's zxid counts no more writes than were applied"
        );
    }

    #[test]
    fn a_zxid_that_does_not_rise_with_each_successful_write_is_caught() {
        let s = server();
        let before = started(&s);
        let mut after = closed_session(&s);
        assert_eq!(s.step_invariants(&before, &after), Ok(()));
        // A second write shows in the tree without its entry.
        after.raft.replica.sm.apply(&set("/", "x", -1));
        let found = broken(s.step_invariants(&before, &after));
        assert_eq!(
            found,
            "the tree's zxid rises by one per successful write applied"
        );
    }

    #[test]
    fn a_failed_write_and_a_read_take_no_zxid() {
        let s = server();
        let mut state = started(&s);
        let before = state.clone();
        let ops = [get("/"), create("/a/b", "", CreateMode::Persistent, 0)];
        for (seq, op) in (1..).zip(ops) {
            let entry = Entry {
                term: 0,
                client: c(),
                seq,
                op,
            };
            state.raft.log.push(entry.clone());
            state.raft.commit += 1;
            state.raft.replica.apply(&entry, true);
        }
        assert_eq!(state.tree().zxid(), 0);
        assert_eq!(s.step_invariants(&before, &state), Ok(()));
    }

    #[test]
    #[should_panic(expected = "invariant broken: every waiting call belongs to a client")]
    fn a_broken_server_invariant_panics_naming_it() {
        let mut state = started(&server());
        let (op, serve) = (set("/", "x", -1), Serve::default());
        state.waiting.insert(p2(), Waiting { seq: 1, op, serve });
        assert_kept(&server(), None, &state);
    }

    fn client() -> ZkClient<Script> {
        let script = Script(vec![Call::plain(get("/"))]);
        ZkClient::new(vec![me(), p1()], 0, script, timeout())
    }

    fn client_started() -> ZkClientState<Vec<ZkRet>> {
        client().on_start(c(), &None, &mut Out::new())
    }

    #[test]
    fn a_client_talking_to_a_stranger_is_caught() {
        let mut state = client_started();
        assert_eq!(client().invariants(&state), Ok(()));
        state.target = p2();
        let found = broken(client().invariants(&state));
        assert_eq!(found, "the client talks to one of its servers");
    }

    #[test]
    fn a_done_client_with_a_call_in_flight_is_caught() {
        let mut state = client_started();
        state.done = true;
        let found = broken(client().invariants(&state));
        assert_eq!(found, "a done client has no call in flight");
    }

    #[test]
    fn an_unnumbered_call_is_caught() {
        let mut state = client_started();
        state.seq = 0;
        let found = broken(client().invariants(&state));
        assert_eq!(found, "a call in flight is numbered");
    }

    /// The invariant broken by a step from the started client changed by `was` to the
    /// started client changed by `now`.
    fn step_found(
        was: impl FnOnce(&mut ZkClientState<Vec<ZkRet>>),
        now: impl FnOnce(&mut ZkClientState<Vec<ZkRet>>),
    ) -> &'static str {
        let (mut before, mut after) = (client_started(), client_started());
        was(&mut before);
        now(&mut after);
        broken(client().step_invariants(&before, &after))
    }

    #[test]
    fn a_call_number_going_down_is_caught() {
        let found = step_found(|s| s.seq = 2, |_| {});
        assert_eq!(found, "call numbers never go down");
    }

    #[test]
    fn a_highest_zxid_going_down_is_caught() {
        let found = step_found(|s| s.zxid = 4, |s| s.zxid = 2);
        assert_eq!(found, "the highest zxid seen never goes down");
    }

    #[test]
    fn a_resend_count_going_down_is_caught() {
        let found = step_found(|s| s.resends = 2, |s| s.resends = 1);
        assert_eq!(found, "the resend count never goes down");
    }

    #[test]
    fn a_client_that_runs_again_after_halting_is_caught() {
        let found = step_found(|s| s.halted = true, |_| {});
        assert_eq!(found, "a halted client stays halted");
    }

    #[test]
    fn a_client_that_loses_a_watch_event_is_caught() {
        let event = WatchEvent {
            seq: 1,
            change: Change::Deleted("/".into()),
            zxid: 1,
        };
        let found = step_found(|s| s.events = vec![(me(), event)], |_| {});
        assert_eq!(found, "watch events are only added");
    }

    #[test]
    fn a_client_reply_keeps_the_client_invariants_in_a_real_step() {
        let c0 = client();
        let state = client_started();
        let mut cow = Cow::Borrowed(&state);
        let reply = ClientMsg::Reply {
            seq: 1,
            ret: ZkRet::Deleted,
        };
        let msg = ZkMsg::Client(reply, Serve::default());
        c0.on_msg(c(), &mut cow, p1(), msg, &mut Out::new());
        assert_kept(&c0, Some(&state), &cow);
    }
}
