//! Sessions through the log: created with a negotiated timeout that is the expiry the
//! leader enforces, resumed elsewhere with the password, refused when expired or when the
//! server is behind the client, closed by the client, moved away from a connection.

use super::sim::{conn, connect, request, Sim};
use crate::znode::conn::{Call, CloseReason, Connected};
use crate::znode::server::{Expiry, SessionRules};
use crate::znode::txn::password;
use crate::znode::{ZkMsg, ZkTimer};
use coord_specs::znode::build::{close, create, created, get};
use coord_specs::znode::{CreateMode, ZkError, ZkRet};
use std::time::Duration;

fn expiring() -> SessionRules {
    SessionRules {
        tick_ms: 100,
        expiry: Some(Expiry::Negotiated),
        ..SessionRules::default()
    }
}

const EXPIRED: Connected = Connected {
    session: 0,
    passwd: [0; 16],
    timeout_ms: 0,
};

#[test]
fn a_new_session_is_created_through_the_log_with_a_negotiated_timeout_that_is_its_expiry() {
    let mut sim = Sim::elected(3, expiring(), None);
    sim.send(conn(1), 1, connect(0, [0; 16], 0));
    let ZkMsg::Connected(connected) = sim.one(conn(1)) else {
        panic!("no answer");
    };
    // 30 s asked, bounded to 20 ticks of 100 ms.
    assert_eq!(connected.timeout_ms, 2_000);
    assert_eq!(connected.passwd, password(b"coord", connected.session));
    let deadline = &sim.timers[&(0, ZkTimer::Expire(connected.session))];
    assert_eq!(
        *deadline,
        Duration::from_millis(2_000)..Duration::from_millis(2_100),
        "the leader expires it after its negotiated timeout, plus up to a tick"
    );
    sim.beat();
    for state in &sim.states {
        let entry = state.tree().session(connected.session).expect("replicated");
        assert_eq!(entry.timeout_ms, 2_000);
    }
    // A short request is raised to 2 ticks.
    sim.send(
        conn(2),
        2,
        ZkMsg::Connect(crate::znode::conn::Connect {
            timeout_ms: 1,
            ..match connect(0, [0; 16], 0) {
                ZkMsg::Connect(c) => c,
                _ => unreachable!(),
            }
        }),
    );
    let ZkMsg::Connected(short) = sim.one(conn(2)) else {
        panic!("no answer");
    };
    assert_eq!(short.timeout_ms, 200);
}

#[test]
fn a_session_resumes_at_another_server_with_its_password_and_only_with_it() {
    let mut sim = Sim::three();
    let (session, passwd) = sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, create("/e", "", CreateMode::Ephemeral, 0));
    sim.beat();
    let mut wrong = passwd;
    wrong[0] ^= 1;
    sim.send(conn(2), 2, connect(session, wrong, 0));
    assert_eq!(
        sim.take(conn(2)),
        [
            ZkMsg::Connected(EXPIRED),
            ZkMsg::Closed(CloseReason::SessionExpired)
        ]
    );
    sim.send(conn(3), 2, connect(session, passwd, 0));
    let resumed = Connected {
        session,
        passwd,
        timeout_ms: 30_000,
    };
    assert_eq!(sim.take(conn(3)), [ZkMsg::Connected(resumed)]);
    // The resumed connection writes, and the ephemeral node is still the session's.
    sim.op(conn(3), 2, 1, create("/f", "", CreateMode::Ephemeral, 0));
    let ZkMsg::Reply(reply) = sim.one(conn(3)) else {
        panic!("no reply");
    };
    assert!(matches!(reply.ret, ZkRet::Created { stat, .. } if stat.ephemeral_owner == session));
}

#[test]
fn a_server_behind_the_clients_last_zxid_closes_without_an_answer() {
    let mut sim = Sim::three();
    sim.send(conn(1), 1, connect(0, [0; 16], 99));
    assert_eq!(sim.take(conn(1)), [ZkMsg::Closed(CloseReason::Behind)]);
}

#[test]
fn an_expired_session_closes_its_connection_and_a_reconnect_gets_timeout_zero() {
    let mut sim = Sim::elected(3, expiring(), None);
    let (session, passwd) = sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, create("/e", "", CreateMode::Ephemeral, 0));
    sim.take(conn(1));
    sim.fire(0, ZkTimer::Expire(session));
    sim.run();
    sim.beat();
    assert_eq!(
        sim.take(conn(1)),
        [ZkMsg::Closed(CloseReason::SessionExpired)]
    );
    for state in &sim.states {
        assert!(state.tree().is_closed(session));
        assert!(state.tree().stat("/e").is_none(), "its ephemeral node went");
    }
    sim.send(conn(2), 2, connect(session, passwd, 0));
    assert_eq!(
        sim.take(conn(2)),
        [
            ZkMsg::Connected(EXPIRED),
            ZkMsg::Closed(CloseReason::SessionExpired)
        ]
    );
}

#[test]
fn close_session_answers_then_closes_the_connection() {
    let mut sim = Sim::three();
    let (session, _) = sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, close(0));
    let got = sim.take(conn(1));
    assert!(
        matches!(&got[..], [ZkMsg::Reply(r), ZkMsg::Closed(CloseReason::SessionClosed)]
        if r.xid == 1 && r.ret == ZkRet::SessionClosed)
    );
    assert!(sim.states[0].tree().is_closed(session));
}

#[test]
fn a_late_write_of_a_connection_whose_session_moved_is_refused_and_not_applied() {
    let mut sim = Sim::three();
    let (session, passwd) = sim.open(conn(1), 1);
    sim.send(conn(2), 2, connect(session, passwd, 0));
    sim.take(conn(2));
    sim.op(
        conn(1),
        1,
        1,
        create("/late", "", CreateMode::Persistent, 0),
    );
    assert_eq!(
        sim.take(conn(1)),
        [ZkMsg::Closed(CloseReason::SessionMoved)]
    );
    sim.op(conn(2), 2, 1, get("/late"));
    let ZkMsg::Reply(reply) = sim.one(conn(2)) else {
        panic!("no reply");
    };
    assert_eq!(reply.ret, ZkRet::Err(ZkError::NoNode));
    // The new connection writes as the session's owner.
    sim.op(conn(2), 2, 2, create("/new", "", CreateMode::Persistent, 0));
    let ZkMsg::Reply(reply) = sim.one(conn(2)) else {
        panic!("no reply");
    };
    assert_eq!(
        reply.ret.map_stats(|_| Default::default()),
        created("/new").map_stats(|_| Default::default())
    );
}

#[test]
fn a_ping_is_answered_at_once_with_the_servers_zxid() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, create("/a", "", CreateMode::Persistent, 0));
    sim.take(conn(1));
    let zxid = sim.states[1].tree().zxid();
    sim.send(conn(1), 1, ZkMsg::Ping);
    assert_eq!(sim.take(conn(1)), [ZkMsg::Pong(zxid)]);
}

#[test]
fn refused_requests_are_answered_in_order_and_only_an_unknown_opcode_closes() {
    use crate::znode::conn::Refused;
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    let refused = [
        Refused::Reconfig,
        Refused::Error(ZkError::MarshallingError),
        Refused::Unknown(77),
    ];
    for (xid, refused) in (1..).zip(refused) {
        sim.send(conn(1), 1, request(xid, Call::Refused(refused), false));
    }
    let got = sim.take(conn(1));
    let rets: Vec<ZkRet> = (got.iter())
        .filter_map(|m| match m {
            ZkMsg::Reply(r) => Some(r.ret.clone()),
            _ => None,
        })
        .collect();
    let errors = [
        ZkError::ReconfigDisabled,
        ZkError::MarshallingError,
        ZkError::Unimplemented,
    ];
    assert_eq!(rets, errors.map(ZkRet::Err), "answered in order, kept open");
    assert_eq!(got.last(), Some(&ZkMsg::Closed(CloseReason::Unimplemented)));
    assert_eq!(got.len(), 4);
}
