//! Pipelined requests: replies in request order, a read after its connection's own
//! writes and before its later ones, times stamped once from the log, writes sent again
//! when their answer is slow and appended once, data up to `MAX_DATA`.

use super::sim::{append, conn, request, Sim};
use crate::znode::conn::{Call, CloseReason, Reply};
use crate::znode::server::SessionRules;
use crate::znode::txn::{Txn, TxnKind};
use crate::znode::{ZkBug, ZkMsg};
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::{CreateMode, ZkOp, ZkRet, MAX_DATA};
use stateright::actor::Id;
use std::ops::Range;
use std::time::Duration;

/// The replies among `msgs`: (xid, data read, if a read).
pub(super) fn replies(msgs: &[ZkMsg]) -> Vec<(i32, Option<String>)> {
    (msgs.iter())
        .filter_map(|m| match m {
            ZkMsg::Reply(Reply { xid, ret, .. }) => Some((
                *xid,
                match ret {
                    ZkRet::Data { data, .. } => Some(String::from_utf8_lossy(data).into()),
                    _ => None,
                },
            )),
            _ => None,
        })
        .collect()
}

/// Connection 1 at follower 1 with `/p` created; its writes to come are held on their way
/// to the leader.
fn pipelined(bug: Option<ZkBug>) -> Sim {
    let mut sim = Sim::elected(3, SessionRules::default(), bug);
    sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, create("/p", "v0", CreateMode::Persistent, 0));
    sim.beat();
    sim.take(conn(1));
    sim
}

/// Connection 1 pipelines set v1, get, set v2, get at follower 1 without the cluster
/// running; returns the two forwarded writes.
fn set_get_set_get(sim: &mut Sim) -> Vec<Txn> {
    for (xid, op) in [
        (2, set("/p", "v1", -1)),
        (3, get("/p")),
        (4, set("/p", "v2", -1)),
        (5, get("/p")),
    ] {
        sim.deliver(conn(1), 1, request(xid, Call::Op(op), false));
    }
    (sim.intercept(|(_, to, m)| usize::from(*to) == 0 && matches!(m, ZkMsg::Forward(_))))
        .into_iter()
        .map(|(_, _, m)| match m {
            ZkMsg::Forward(txn) => txn,
            _ => unreachable!(),
        })
        .collect()
}

/// The replies to [`set_get_set_get`] in order, each read showing the set before it.
fn each_read_its_own_write() -> Vec<(i32, Option<String>)> {
    let read = |data: &str| Some(data.to_string());
    vec![(2, None), (3, read("v1")), (4, None), (5, read("v2"))]
}

#[test]
fn pipelined_requests_are_answered_in_order_and_each_read_sees_the_writes_before_it() {
    let mut sim = pipelined(None);
    set_get_set_get(&mut sim);
    assert!(replies(&sim.take(conn(1))).is_empty(), "the reads wait");
    let mut sim = pipelined(None);
    let forwards = set_get_set_get(&mut sim);
    for txn in forwards {
        sim.deliver(Id::from(1), 0, ZkMsg::Forward(txn));
    }
    sim.run();
    sim.beat();
    assert_eq!(replies(&sim.take(conn(1))), each_read_its_own_write());
}

/// The rule of W7: two writes of the connection committed and applied in one step at its
/// server; the read queued between them is answered from the tree after the first only.
#[test]
fn a_read_between_two_writes_applied_in_one_step_sees_the_first_and_not_the_second() {
    let mut sim = pipelined(None);
    let forwards = set_get_set_get(&mut sim);
    let last = sim.states[1].raft.last_index();
    sim.deliver(Id::from(0), 1, append(1, last, forwards));
    assert_eq!(replies(&sim.take(conn(1))), each_read_its_own_write());
}

#[test]
fn with_the_bug_a_read_overtakes_its_connections_pending_write() {
    let mut sim = pipelined(Some(ZkBug::ReadOvertakesWrite));
    set_get_set_get(&mut sim);
    assert_eq!(
        replies(&sim.take(conn(1))),
        [(3, Some("v0".into())), (5, Some("v0".into()))]
    );
}

#[test]
fn times_are_stamped_once_by_the_leader_and_equal_on_every_replica() {
    let mut sim = pipelined(None);
    // Time 1 for the create; the set arrives stamped 0, earlier than the entry before it.
    sim.send(
        conn(1),
        1,
        ZkMsg::Request(crate::znode::conn::Request {
            xid: 9,
            call: Call::Op(set("/p", "v9", -1)),
            watch: false,
            time: 0,
            once: None,
        }),
    );
    sim.beat();
    let stat = sim.states[0].tree().stat("/p").unwrap();
    assert_eq!(
        (stat.ctime, stat.mtime),
        (1, 1),
        "raised to the time before it"
    );
    for state in &sim.states {
        assert_eq!(state.tree().stat("/p"), Some(stat));
    }
}

/// Any resend period: the sim fires the timer itself.
const PERIOD: Range<Duration> = Duration::from_millis(200)..Duration::from_millis(200);

/// A cluster of three whose follower 1 has a connection with two writes (create `/a`,
/// `/a/b`) whose forwards to the leader were held on the way; returns them.
fn lost_forwards(resend: bool) -> (Sim, Vec<(Id, Id, ZkMsg)>) {
    let rules = SessionRules {
        resend_after: resend.then_some(PERIOD),
        ..SessionRules::default()
    };
    let mut sim = Sim::elected(3, rules, None);
    sim.open(conn(1), 1);
    for (xid, path) in [(1, "/a"), (2, "/a/b")] {
        let create = Call::Op(create(path, "", CreateMode::Persistent, 0));
        sim.deliver(conn(1), 1, request(xid, create, false));
    }
    let lost = sim.intercept(|(_, _, m)| matches!(m, ZkMsg::Forward(_)));
    assert_eq!(lost.len(), 2);
    (sim, lost)
}

/// How many creates the leader's log holds.
fn creates(sim: &Sim) -> usize {
    let log = &sim.states[0].raft.log;
    (1..=sim.states[0].raft.last_index())
        .filter(|&i| {
            matches!(
                &log.get(i).unwrap().op.as_op().unwrap().kind,
                TxnKind::Request { op, .. } if matches!(op.caller().1, ZkOp::Create { .. })
            )
        })
        .count()
}

/// Without resends, a lost forward stalls its connection for good (wire note W5): the
/// leader's heartbeats keep coming, and no answer ever does.
#[test]
fn without_resends_a_lost_forward_stalls_its_connection() {
    let (mut sim, _lost) = lost_forwards(false);
    for _ in 0..10 {
        sim.beat();
        sim.resend(1);
    }
    assert!(sim.take(conn(1)).is_empty(), "no answer comes");
    assert_eq!(sim.states[0].tree().stat("/a"), None);
}

/// The leader's AppendEntries are no clock: however many come while forwards are slow
/// on the way, none is sent again (under load every write was once sent dozens of times).
#[test]
fn heartbeats_alone_send_nothing_again() {
    let (mut sim, slow) = lost_forwards(true);
    for _ in 0..10 {
        sim.beat();
        let again = sim.intercept(|(_, _, m)| matches!(m, ZkMsg::Forward(_)));
        assert!(again.is_empty(), "sent again: {again:?}");
    }
    sim.net.extend(slow);
    sim.run();
    sim.beat();
    assert_eq!(replies(&sim.take(conn(1))), [(1, None), (2, None)]);
}

/// Forwards lost on the way: the follower sends its connection's writes again once they
/// have waited a whole resend period; the leader appends each write once, in order, even
/// when the first copies arrive late.
#[test]
fn lost_forwards_are_sent_again_and_appended_once_in_order() {
    let (mut sim, lost) = lost_forwards(true);
    sim.resend(1);
    assert!(sim.take(conn(1)).is_empty(), "not a whole period yet");
    assert_eq!(creates(&sim), 0);
    // The resends go; the late originals arrive after them, second first.
    sim.resend(1);
    for (src, to, msg) in lost.into_iter().rev() {
        sim.deliver(src, usize::from(to), msg);
    }
    sim.run();
    sim.beat();
    assert_eq!(replies(&sim.take(conn(1))), [(1, None), (2, None)]);
    assert_eq!(creates(&sim), 2, "each write appended once");
}

#[test]
fn data_up_to_the_limit_is_replicated_and_more_closes_the_connection() {
    let mut sim = pipelined(None);
    let big = vec![7u8; MAX_DATA];
    let op = ZkOp::SetData {
        path: "/p".into(),
        data: big.clone().into(),
        version: -1,
    };
    sim.op(conn(1), 1, 6, op);
    sim.beat();
    for state in &sim.states {
        assert_eq!(
            state.tree().stat("/p").unwrap().data_length as usize,
            MAX_DATA
        );
    }
    let mut too_big = big;
    too_big.push(0);
    let op = ZkOp::SetData {
        path: "/p".into(),
        data: too_big.into(),
        version: -1,
    };
    sim.op(conn(1), 1, 7, op);
    let got = sim.take(conn(1));
    assert_eq!(got.last(), Some(&ZkMsg::Closed(CloseReason::TooLarge)));
    assert_eq!(replies(&got).len(), 1, "the first set only: {got:?}");
}
