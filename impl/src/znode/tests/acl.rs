//! A connection's identities: `setAuth` adds a digest id as it arrives, every operation
//! carries the connection's identities (whatever the client claimed), and `whoAmI` shows
//! the users.

use super::sim::{conn, request, Sim};
use crate::znode::conn::{Call, Reply};
use crate::znode::server::SessionRules;
use crate::znode::ZkMsg;
use coord_specs::znode::build::{as_user, create, digest, get, with_acl};
use coord_specs::znode::{Acl, CreateMode, ZkError, ZkRet};

/// The answers among `msgs`, in order.
fn answers(msgs: Vec<ZkMsg>) -> Vec<ZkRet> {
    (msgs.into_iter())
        .filter_map(|m| match m {
            ZkMsg::Reply(Reply { ret, .. }) => Some(ret),
            _ => None,
        })
        .collect()
}

#[test]
fn a_connection_is_its_ip_and_the_digest_ids_it_added() {
    let mut sim = Sim::elected(3, SessionRules::default(), None);
    let (alice, eve) = (conn(1), conn(2));
    sim.open(alice, 1);
    sim.open(eve, 2);
    let auth = |credentials: &str| Call::SetAuth {
        scheme: "digest".into(),
        auth: credentials.as_bytes().to_vec(),
    };
    // setAuth and the create right behind it, pipelined: the create carries alice's id
    sim.deliver(alice, 1, request(1, auth("alice:pw"), false));
    let mine = with_acl(
        create("/s", "x", CreateMode::Persistent, 0),
        &[digest("alice", Acl::ALL)],
    );
    sim.op(alice, 1, 2, mine);
    sim.beat();
    sim.op(alice, 1, 3, get("/s"));
    sim.send(alice, 1, request(4, Call::WhoAmI, false));
    let got = answers(sim.take(alice));
    assert_eq!(got[0], ZkRet::Done);
    assert!(
        matches!(&got[1], ZkRet::Created { path, .. } if path == "/s"),
        "{got:?}"
    );
    assert!(matches!(&got[2], ZkRet::Data { .. }), "{got:?}");
    let users = vec![
        ("ip".into(), "127.0.0.1".into()),
        ("digest".into(), "alice".into()),
    ];
    assert_eq!(got[3], ZkRet::WhoAmI(users));
    // eve, with the wrong password, and claiming alice's ids, is still refused
    sim.send(eve, 2, request(1, auth("alice:wrong"), false));
    sim.op(eve, 2, 2, as_user(get("/s"), "alice"));
    assert_eq!(
        answers(sim.take(eve)),
        [ZkRet::Done, ZkRet::Err(ZkError::NoAuth)]
    );
}
