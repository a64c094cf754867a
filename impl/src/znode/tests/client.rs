//! The znode client's handlers, one story per rule. Servers `s0()` and `s1()`; the client
//! under test is id 7.

use super::*;
use crate::client::{ClientMsg, RETRY_AT};
use crate::recipes::basic_lock::BasicLock;
use crate::recipes::counter::Counter;
use crate::recipes::lock::{Hold, Use};
use crate::test_util::{run, sends, Cmd, Step};
use crate::znode::client::{Call, Script, ZkClient, ZkClientState, ZkClientTimer};
use crate::znode::msg::{ResourceMsg, Serve, ZkMsg};
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

/// A reply from a server whose tree is at `zxid`.
fn answer_at(seq: u64, ret: ZkRet, zxid: Zxid) -> ZkMsg {
    let serve = Serve {
        zxid,
        ..Serve::default()
    };
    ZkMsg::Client(ClientMsg::Reply { seq, ret }, serve)
}

#[test]
fn a_client_sends_the_highest_zxid_it_has_seen_wherever_it_goes() {
    let c = client(vec![Call::plain(get("/x")); 3]);
    let (state, _) = start(&c);
    let stat = ZnodeTree::default().stat("/").unwrap();
    let seen = deliver(&c, &state, s0(), answer_at(1, data("", stat), 5)).state;
    assert_eq!(seen.zxid, 5);
    // An older server's answer does not lower it.
    let older = deliver(&c, &seen, s0(), answer_at(2, data("", stat), 3));
    assert_eq!(older.state.zxid, 5);
    let after = Serve {
        zxid: 5,
        ..Serve::default()
    };
    assert_eq!(sends(&older.cmds), [(s0(), request(3, get("/x"), after))]);
    // Its retry at another server carries it too.
    let moved = run(&older.state, |cow, o| c.on_random(me(), cow, &s1(), o));
    assert_eq!(sends(&moved.cmds), [(s1(), request(3, get("/x"), after))]);
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

/// A basic-lock client (session 7, this client) whose holder uses resource 3.
fn lock_client() -> ZkClient<BasicLock> {
    let hold = Hold::Use(Use {
        resource: Id::from(3),
        pause: None,
    });
    ZkClient::new(
        vec![s0(), s1()],
        0,
        BasicLock::new("/l", 7, hold),
        timeout(),
    )
}

/// The timers `cmds` set and cancel, in order.
fn timer_cmds(cmds: &[Cmd<ZkClient<Script>>]) -> Vec<String> {
    (cmds.iter())
        .filter_map(|c| match c {
            Command::SetTimer(t, _) => Some(format!("set {t:?}")),
            Command::CancelTimer(t) => Some(format!("cancel {t:?}")),
            _ => None,
        })
        .collect()
}

#[test]
fn a_waiting_program_goes_on_when_its_watch_fires() {
    let c = lock_client();
    let (state, _) = start(&c);
    let taken = deliver(&c, &state, s0(), answer(1, Fail(NodeExists)));
    let watched = Call::watched(exists("/l"));
    assert_eq!(
        sends(&taken.cmds),
        [(s0(), request(2, exists("/l"), watched.serve))]
    );
    let there = answer(
        2,
        ZkRet::Exists(Some(ZnodeTree::default().stat("/").unwrap())),
    );
    let waiting = deliver(&c, &taken.state, s0(), there);
    assert!(sends(&waiting.cmds).is_empty() && waiting.state.call.is_none());
    assert_eq!(timer_cmds(&waiting.cmds), ["cancel Retry"]);
    let event = WatchEvent {
        seq: 2,
        change: Change::Deleted("/l".into()),
        zxid: 4,
    };
    let woken = deliver(&c, &waiting.state, s0(), ZkMsg::Event(event.clone()));
    let again = create("/l", "", Ephemeral, 7);
    assert_eq!(
        sends(&woken.cmds),
        [(s0(), request(3, again, Serve::default()))]
    );
    assert_eq!(woken.state.events, [(s0(), event)]);
}

#[test]
fn an_event_while_a_call_is_in_flight_is_only_kept() {
    let c = lock_client();
    let (state, _) = start(&c);
    let event = WatchEvent {
        seq: 1,
        change: Change::Deleted("/l".into()),
        zxid: 4,
    };
    let step = deliver(&c, &state, s0(), ZkMsg::Event(event));
    assert!(step.cmds.is_empty());
    assert_eq!((step.state.seq, step.state.events.len()), (1, 1));
}

#[test]
fn a_holder_operates_on_the_resource_and_releases_on_its_answer() {
    let c = lock_client();
    let (state, _) = start(&c);
    let held = deliver(&c, &state, s0(), answer(1, created("/l")));
    let operate = ZkMsg::Resource(ResourceMsg::Use { token: None });
    assert_eq!(sends(&held.cmds), [(Id::from(3), operate)]);
    assert!(held.state.call.is_none());
    let done = ZkMsg::Resource(ResourceMsg::Answer { accepted: true });
    let released = deliver(&c, &held.state, Id::from(3), done);
    let release = request(2, delete("/l", -1), Serve::default());
    assert_eq!(sends(&released.cmds), [(s0(), release)]);
}

#[test]
fn a_halted_client_does_nothing_more() {
    let c = lock_client().with_halt(Some(timeout()));
    let (state, cmds) = start(&c);
    assert!(timer_cmds(&cmds).contains(&"set Halt".to_string()));
    let halted = run(&state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Halt, o)
    });
    assert!(halted.state.halted);
    assert_eq!(
        timer_cmds(&halted.cmds),
        ["cancel Retry", "cancel Wake", "cancel Ping"]
    );
    let late = deliver(&c, &halted.state, s0(), answer(1, created("/l")));
    assert!(!late.changed && late.cmds.is_empty());
    let retry = run(&halted.state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Retry, o)
    });
    assert!(!retry.changed && retry.cmds.is_empty());
}

#[test]
fn a_client_that_is_done_no_longer_halts() {
    let c = client(vec![Call::plain(get("/"))]).with_halt(Some(timeout()));
    let (state, _) = start(&c);
    let done = deliver(&c, &state, s0(), answer(1, Fail(NoNode)));
    assert!(timer_cmds(&done.cmds).contains(&"cancel Halt".to_string()));
    let halt = run(&done.state, |cow, o| {
        c.on_timeout(me(), cow, &ZkClientTimer::Halt, o)
    });
    assert!(!halt.changed);
}
