//! The znode client's handlers, one story per rule. Servers `s0()` and `s1()`; the client
//! under test is id 7.

use super::*;
use crate::client::{ClientMsg, RETRY_AT};
use crate::recipes::counter::Counter;
use crate::test_util::{run, sends, Cmd, Step};
use crate::znode::client::{Call, Script, ZkClient, ZkClientState, ZkClientTimer};
use crate::znode::msg::{Serve, ZkMsg};
use crate::znode::watch::WatchEvent;
use stateright::actor::{Actor, Command, Id, Out};
use std::time::Duration;

type Client = ZkClient<Script>;

fn s0() -> Id {
    Id::from(0)
}
fn s1() -> Id {
    Id::from(1)
}
fn me() -> Id {
    Id::from(7)
}

fn timeout() -> std::ops::Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(300)
}

fn client(calls: Vec<Call>) -> Client {
    ZkClient::new(vec![s0(), s1()], 0, Script(calls), timeout())
}

fn start<P: crate::znode::client::Program>(
    c: &ZkClient<P>,
) -> (ZkClientState<P::State>, Vec<Cmd<ZkClient<P>>>) {
    let mut out = Out::new();
    let state = c.on_start(me(), &None, &mut out);
    (state, out.into_iter().collect())
}

fn deliver<P: crate::znode::client::Program>(
    c: &ZkClient<P>,
    state: &ZkClientState<P::State>,
    src: Id,
    msg: ZkMsg,
) -> Step<ZkClient<P>> {
    run(state, |cow, o| c.on_msg(me(), cow, src, msg, o))
}

fn request(seq: u64, op: ZkOp, serve: Serve) -> ZkMsg {
    ZkMsg::Client(ClientMsg::Request { seq, op }, serve)
}

fn answer(seq: u64, ret: ZkRet) -> ZkMsg {
    ZkMsg::Client(ClientMsg::Reply { seq, ret }, Serve::default())
}

#[test]
fn calls_go_one_at_a_time_to_the_connected_server() {
    let c = client(vec![Call::watched(exists("/x")), Call::synced(get("/x"))]);
    let (state, cmds) = start(&c);
    assert_eq!(
        sends(&cmds),
        [(
            s0(),
            request(1, exists("/x"), Call::watched(exists("/x")).serve)
        )]
    );
    // A stale answer (another call number) is ignored.
    let stale = deliver(&c, &state, s0(), answer(2, ZkRet::Exists(None)));
    assert!(!stale.changed && stale.cmds.is_empty());
    let first = deliver(&c, &state, s0(), answer(1, ZkRet::Exists(None)));
    let synced = Call::synced(get("/x")).serve;
    assert_eq!(sends(&first.cmds), [(s0(), request(2, get("/x"), synced))]);
    let done = deliver(&c, &first.state, s0(), answer(2, Fail(NoNode)));
    assert!(done.state.done && done.state.call.is_none());
    assert_eq!(done.state.program, [ZkRet::Exists(None), Fail(NoNode)]);
    let stops_pinging = |c: &Cmd<Client>| matches!(c, Command::CancelTimer(ZkClientTimer::Ping));
    assert!(done.cmds.iter().any(stops_pinging));
}

#[test]
fn an_unanswered_call_is_resent_with_its_number_to_another_server() {
    let c = client(vec![Call::plain(set("/x", "1", -1))]);
    let (state, _) = start(&c);
    let timed_out = run(&state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Retry, o)
    });
    assert_eq!(timed_out.state.resends, 1);
    assert!(matches!(
        &timed_out.cmds[..],
        [Command::ChooseRandom(key, choices)] if key == RETRY_AT && choices == &[s1()]
    ));
    let moved = run(&timed_out.state, |cow, o| c.on_random(me(), cow, &s1(), o));
    let resend = request(1, set("/x", "1", -1), Serve::default());
    assert_eq!(sends(&moved.cmds), [(s1(), resend)]);
    assert_eq!(moved.state.target, s1());
}

#[test]
fn watch_events_are_kept_in_order_of_arrival() {
    let c = client(vec![Call::watched(exists("/x"))]);
    let (state, _) = start(&c);
    let event = WatchEvent {
        seq: 1,
        change: Change::Created("/x".into()),
        zxid: 3,
    };
    let step = deliver(&c, &state, s0(), ZkMsg::Event(event.clone()));
    assert_eq!(step.state.events, [(s0(), event)]);
}

#[test]
fn pings_go_to_the_connected_server_until_done() {
    let c = client(vec![Call::plain(get("/"))]).with_ping(Some(timeout()));
    let (state, cmds) = start(&c);
    let pings = |c: &Cmd<Client>| matches!(c, Command::SetTimer(ZkClientTimer::Ping, _));
    assert!(cmds.iter().any(pings));
    let ping = run(&state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Ping, o)
    });
    let session = usize::from(me()) as u64;
    assert_eq!(sends(&ping.cmds), [(s0(), ZkMsg::Ping { session })]);
}

#[test]
fn the_counter_sleeps_after_a_conflict_and_wakes_to_read_again() {
    let c = ZkClient::new(vec![s0()], 0, Counter::new("/", timeout(), 2), timeout());
    let (state, _) = start(&c);
    let read = deliver(
        &c,
        &state,
        s0(),
        answer(1, data("", ZnodeTree::default().stat("/").unwrap())),
    );
    let conflict = deliver(&c, &read.state, s0(), answer(2, Fail(BadVersion)));
    assert!(conflict.state.call.is_none() && !conflict.state.done);
    let sleeps = |c: &Cmd<ZkClient<Counter>>| matches!(c, Command::SetTimer(ZkClientTimer::Wake, range) if *range == timeout());
    assert!(conflict.cmds.iter().any(sleeps));
    let woke = run(&conflict.state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Wake, o)
    });
    assert_eq!(
        sends(&woke.cmds),
        [(s0(), request(3, get("/"), Serve::default()))]
    );
}
