//! What a znode server and a ZooKeeper client keep.
//!
//! A server: everything its Raft server keeps; its connections are not servers; only
//! writes of a connection go to the log, numbered in arrival order, none answered before
//! it was sent; syncs are counted until asked; only a leader confirms syncs, in rounds it
//! started; no connection of a closed session is left, and no watch of a connection
//! that is gone (unless the deliberate bug that keeps them is on); the tree's zxid counts
//! no more writes than were applied, and from one step to the next it never goes down
//! and rises by at most one per entry applied.
//!
//! A client: one of its servers as target, its calls in flight numbered in order and
//! made already; from one step to the next, call numbers, the highest zxid seen and the
//! resend count never go down, a halted client stays halted, and events are only added.

use super::client::{Program, ZkClient, ZkClientState};
use super::conn::Call;
use super::connection::is_sync;
use super::server::{ZkServer, ZkServerState};
use super::ZkBug;
use crate::invariants::{ensure, Broken, Invariants};
use crate::raft::Role;

impl Invariants for ZkServer {
    fn invariants(&self, s: &ZkServerState) -> Result<(), Broken> {
        self.raft.invariants(&s.raft)?;
        ensure(
            "every connection is a client's, not a server's",
            s.conns.keys().all(|c| !self.raft.peers.contains(c)),
            || format!("connections {:?}", s.conns.keys()),
        )?;
        let numbered = s.conns.values().all(|c| {
            let writes: Vec<u64> = (c.queue.iter()).map(|p| p.n).filter(|&n| n != 0).collect();
            let sync = |p: &super::connection::Pending| is_sync(&p.request.call);
            let to_log = |p: &super::connection::Pending| {
                matches!(&p.request.call, Call::Op(op) if !op.is_read()) && !sync(p)
            };
            let unasked = (c.queue.iter()).filter(|p| p.sync == Some(0)).count();
            c.queue
                .iter()
                .all(|p| (p.n != 0) == to_log(p) && p.sync.is_some() == sync(p))
                && unasked as u64 == c.unasked
                && writes.is_sorted_by(|a, b| a < b)
                && writes.last().is_none_or(|&n| n <= c.writes)
                && c.sent <= c.writes
                && c.queue.iter().all(|p| p.done.is_none() || p.n <= c.sent)
        });
        ensure(
            "only writes go to the log, numbered in order, answered only once sent; syncs \
             are counted until asked",
            numbered,
            || format!("connections {:?}", s.conns),
        )?;
        let tree = s.tree();
        ensure(
            "no connection of a closed session is left",
            (s.conns.values()).all(|c| c.session == 0 || !tree.is_closed(c.session)),
            || format!("connections {:?}", s.conns),
        )?;
        let outlive = self.bug == Some(ZkBug::WatchesOutliveSession);
        ensure(
            "every watch belongs to a connection here",
            outlive || s.watches.iter().all(|w| s.conns.contains_key(&w.conn)),
            || format!("watches {:?}", s.watches),
        )?;
        let round = match &s.raft.role {
            Role::Leader(leader) => leader.round,
            _ => 0,
        };
        ensure(
            "only a leader confirms syncs, each in a round it started, numbered by its server",
            (s.confirming.iter()).all(|c| c.round >= 1 && c.round <= round)
                && s.ripening.iter().all(|r| r.n >= 1 && r.n <= s.asks),
            || format!("confirming {:?}, round {round}", s.confirming),
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
        let entries = (after.raft.replica.applied).saturating_sub(before.raft.replica.applied);
        ensure(
            "the tree's zxid never goes down, and rises by at most one per entry applied",
            was <= now && now - was <= entries,
            || format!("zxid {now} after {was}, {entries} entries applied"),
        )?;
        self.raft.step_invariants(&before.raft, &after.raft)
    }
}

impl<P: Program> Invariants for ZkClient<P> {
    fn invariants(&self, s: &ZkClientState<P::State>) -> Result<(), Broken> {
        ensure(
            "the client talks to one of its servers",
            self.servers.contains(&s.target),
            || format!("target {:?}, servers {:?}", s.target, self.servers),
        )?;
        let numbers: Vec<u64> = s.in_flight.iter().map(|c| c.number).collect();
        ensure(
            "the calls in flight are numbered in order, and made already",
            numbers.is_sorted_by(|a, b| a < b)
                && numbers.first().is_none_or(|&n| n >= 1)
                && numbers.last().is_none_or(|&n| n <= s.calls),
            || format!("in flight {numbers:?}, {} calls made", s.calls),
        )
    }

    fn step_invariants(
        &self,
        before: &ZkClientState<P::State>,
        after: &ZkClientState<P::State>,
    ) -> Result<(), Broken> {
        let never_down = [
            ("call numbers never go down", before.calls, after.calls),
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
    use crate::invariants::assert_kept;
    use crate::raft::RaftServer;
    use crate::test_util::{me, p1, p2};
    use crate::znode::client::{Call as ClientCall, InFlight, Script};
    use crate::znode::conn::Request;
    use crate::znode::connection::Pending;
    use crate::znode::sync::Confirming;
    use crate::znode::tests::sim::{conn, connect, Sim};
    use crate::znode::txn::Origin;
    use crate::znode::watch::{self, Manager, Mode, WatchEvent};
    use crate::znode::Change;
    use coord_specs::znode::build::{close, get, set};
    use coord_specs::znode::{ZkOp, ZkRet};
    use stateright::actor::{Actor, Id, Out};
    use std::time::Duration;

    fn timeout() -> std::ops::Range<Duration> {
        Duration::from_millis(150)..Duration::from_millis(300)
    }

    fn broken(r: Result<(), Broken>) -> &'static str {
        r.unwrap_err().invariant
    }

    /// Three servers, server 0 leading, connection 1 at server 1 with a session.
    fn connected() -> Sim {
        let mut sim = Sim::three();
        sim.open(conn(1), 1);
        sim
    }

    fn pending(n: u64, op: ZkOp) -> Pending {
        let request = Request {
            xid: 1,
            call: Call::Op(op),
            watch: false,
            time: 0,
            once: None,
        };
        Pending {
            n,
            request,
            sync: None,
            done: None,
        }
    }

    #[test]
    fn a_running_cluster_keeps_every_invariant() {
        let sim = connected();
        for (s, state) in sim.servers.iter().zip(&sim.states) {
            assert_eq!(s.invariants(state), Ok(()));
        }
    }

    #[test]
    fn a_broken_raft_invariant_of_the_server_is_caught() {
        let mut sim = connected();
        sim.states[1].raft.commit = 30;
        let found = broken(sim.servers[1].invariants(&sim.states[1]));
        assert_eq!(found, "the commit index is within the log");
    }

    #[test]
    fn a_server_taken_for_a_connection_is_caught() {
        let mut sim = connected();
        let c = sim.states[1].conns[&conn(1)].clone();
        sim.states[1].conns.insert(p2(), c);
        let found = broken(sim.servers[1].invariants(&sim.states[1]));
        assert_eq!(found, "every connection is a client's, not a server's");
    }

    #[test]
    fn a_numbered_read_or_an_answer_before_sending_is_caught() {
        let rule = "only writes go to the log, numbered in order, answered only once sent; \
                    syncs are counted until asked";
        let mut sim = connected();
        let c = sim.states[1].conns.get_mut(&conn(1)).unwrap();
        c.writes = 1;
        c.queue.push_back(pending(1, get("/")));
        assert_eq!(broken(sim.servers[1].invariants(&sim.states[1])), rule);
        let mut sim = connected();
        let c = sim.states[1].conns.get_mut(&conn(1)).unwrap();
        c.writes = 1;
        let mut write = pending(1, set("/", "x", -1));
        write.done = Some(ZkRet::Done);
        c.queue.push_back(write);
        assert_eq!(broken(sim.servers[1].invariants(&sim.states[1])), rule);
        let mut sim = connected();
        let c = sim.states[1].conns.get_mut(&conn(1)).unwrap();
        let mut sync = pending(0, ZkOp::Sync { path: "/".into() });
        sync.sync = Some(0);
        c.queue.push_back(sync);
        assert_eq!(broken(sim.servers[1].invariants(&sim.states[1])), rule);
    }

    #[test]
    fn a_sync_confirmed_by_a_follower_is_caught() {
        let mut sim = connected();
        sim.states[1].confirming.push(Confirming {
            from: Origin {
                server: Id::from(1),
                conn: conn(1),
            },
            n: 1,
            round: 1,
            index: 0,
        });
        let found = broken(sim.servers[1].invariants(&sim.states[1]));
        let rule =
            "only a leader confirms syncs, each in a round it started, numbered by its server";
        assert_eq!(found, rule);
    }

    #[test]
    fn a_connection_of_a_closed_session_is_caught() {
        let mut sim = connected();
        sim.open(conn(2), 1);
        sim.op(conn(2), 1, 1, close(0));
        let session = sim.states[1].conns[&conn(1)].session;
        let mut state = sim.states[1].clone();
        let mut c = state.conns[&conn(1)].clone();
        c.session = session + 1;
        state.conns.insert(conn(1), c);
        let found = broken(sim.servers[1].invariants(&state));
        assert_eq!(found, "no connection of a closed session is left");
    }

    #[test]
    fn a_watch_of_a_connection_gone_is_caught_unless_the_bug_keeps_it() {
        let mut sim = connected();
        let path = "/".into();
        watch::add(
            &mut sim.states[1].watches,
            conn(9),
            &path,
            Manager::Data,
            Mode::Standard,
        );
        let found = broken(sim.servers[1].invariants(&sim.states[1]));
        assert_eq!(found, "every watch belongs to a connection here");
        let buggy = sim.servers[1]
            .clone()
            .with_bug(Some(ZkBug::WatchesOutliveSession));
        assert_eq!(buggy.invariants(&sim.states[1]), Ok(()));
    }

    #[test]
    fn a_zxid_ahead_of_the_applied_entries_or_jumping_is_caught() {
        let mut sim = connected();
        let before = sim.states[1].clone();
        sim.op(conn(1), 1, 1, set("/", "x", -1));
        let s = &sim.servers[1];
        assert_eq!(s.step_invariants(&before, &sim.states[1]), Ok(()));
        let mut state = sim.states[1].clone();
        state.raft.replica.sm.apply_op(&set("/", "y", -1), 0);
        state.raft.replica.sm.apply_op(&set("/", "z", -1), 0);
        assert_eq!(
            broken(s.step_invariants(&before, &state)),
            "the tree's zxid never goes down, and rises by at most one per entry applied"
        );
        assert_eq!(
            broken(s.invariants(&state)),
            "the tree's zxid counts no more writes than were applied"
        );
    }

    #[test]
    #[should_panic(expected = "invariant broken: every connection is a client's")]
    fn a_broken_server_invariant_panics_naming_it() {
        let mut sim = connected();
        let c = sim.states[1].conns[&conn(1)].clone();
        sim.states[1].conns.insert(p2(), c);
        assert_kept(&sim.servers[1], None, &sim.states[1]);
    }

    fn client() -> ZkClient<Script> {
        let script = Script(vec![ClientCall::plain(get("/"))]);
        ZkClient::new(vec![me(), p1()], 0, script, timeout())
    }

    fn client_started() -> ZkClientState<Vec<ZkRet>> {
        client().on_start(conn(1), &None, &mut Out::new())
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
    fn calls_in_flight_out_of_order_or_not_made_are_caught() {
        let rule = "the calls in flight are numbered in order, and made already";
        let call = |number| InFlight {
            number,
            call: ClientCall::plain(get("/")),
        };
        let mut state = client_started();
        state.in_flight = vec![call(1), call(1)];
        assert_eq!(broken(client().invariants(&state)), rule);
        state.in_flight = vec![call(2)];
        state.calls = 1;
        assert_eq!(broken(client().invariants(&state)), rule);
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
    fn client_step_rules_are_caught() {
        let event = WatchEvent {
            change: Change::Deleted("/".into()),
            zxid: 1,
        };
        type Edit = Box<dyn FnOnce(&mut ZkClientState<Vec<ZkRet>>)>;
        let cases: [(&str, Edit); 5] = [
            ("call numbers never go down", Box::new(|s| s.calls = 5)),
            (
                "the highest zxid seen never goes down",
                Box::new(|s| s.zxid = 4),
            ),
            (
                "the resend count never goes down",
                Box::new(|s| s.resends = 2),
            ),
            (
                "a halted client stays halted",
                Box::new(|s| s.halted = true),
            ),
            (
                "watch events are only added",
                Box::new(move |s| s.events = vec![(me(), event)]),
            ),
        ];
        for (rule, was) in cases {
            assert_eq!(step_found(was, |_| {}), rule);
        }
    }

    #[test]
    fn a_connect_keeps_the_server_invariants_in_a_real_step() {
        let mut sim = Sim::three();
        let before = sim.states[1].clone();
        sim.deliver(conn(1), 1, connect(0, [0; 16], 0));
        assert_kept(&sim.servers[1], Some(&before), &sim.states[1]);
    }

    #[test]
    fn a_fresh_server_keeps_every_invariant() {
        let s = ZkServer::new(RaftServer::new(vec![p1(), p2()], timeout()));
        let state = s.on_start(me(), &None, &mut Out::new());
        assert_eq!(s.invariants(&state), Ok(()));
    }
}
