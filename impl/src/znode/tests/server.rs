//! The znode server's handlers, one story of messages per test. `me()` (id 0) is the
//! server under test; in a three-server cluster its peers are `p1()` (the leader, when one
//! is needed) and `p2()`. `c()` (id 7) and `d()` (id 8) are clients connected to it.

use super::*;
use crate::client::ClientMsg;
use crate::raft::{Entry, Msg, RaftServer, RaftTimer};
use crate::test_util::{me, p1, p2, run, sends, Cmd, Step};
use crate::znode::msg::{Serve, ZkMsg};
use crate::znode::server::{session_of, ZkServer, ZkServerState, ZkTimer};
use crate::znode::watch::{Watch, WatchEvent, WatchKind};
use stateright::actor::{Actor, Command, Id, Out};
use std::time::Duration;

fn c() -> Id {
    Id::from(7)
}
fn d() -> Id {
    Id::from(8)
}

fn timeout() -> std::ops::Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(300)
}

/// A server of the cluster {me, p1, p2}.
fn follower_server() -> ZkServer {
    ZkServer::new(RaftServer::new(vec![p1(), p2()], timeout()))
}

/// A server alone in its cluster, with sessions that expire.
fn lone_server() -> ZkServer {
    ZkServer::new(RaftServer::new(vec![], timeout())).with_session_timeout(Some(timeout()))
}

fn start(s: &ZkServer) -> ZkServerState {
    s.on_start(me(), &None, &mut Out::new())
}

fn deliver(s: &ZkServer, state: &ZkServerState, src: Id, msg: ZkMsg) -> Step<ZkServer> {
    run(state, |cow, o| s.on_msg(me(), cow, src, msg, o))
}

fn tick(s: &ZkServer, state: &ZkServerState, timer: ZkTimer) -> Step<ZkServer> {
    run(state, |cow, o| s.on_timeout(me(), cow, &timer, o))
}

fn call(seq: u64, op: ZkOp, serve: Serve) -> ZkMsg {
    ZkMsg::Client(ClientMsg::Request { seq, op }, serve)
}

fn plain(seq: u64, op: ZkOp) -> ZkMsg {
    call(seq, op, Serve::default())
}

/// A server's answer, from its tree at `zxid`.
fn answer(seq: u64, ret: ZkRet, zxid: Zxid) -> ZkMsg {
    let serve = Serve {
        zxid,
        ..Serve::default()
    };
    ZkMsg::Client(ClientMsg::Reply { seq, ret }, serve)
}

const WATCH: Serve = Serve {
    watch: true,
    sync: false,
    zxid: 0,
};
const SYNC: Serve = Serve {
    watch: false,
    sync: true,
    zxid: 0,
};

/// Leader p1's AppendEntries of term 1 carrying `entries` after `prev` and committing
/// `commit`.
fn append(prev: u64, entries: Vec<Entry<ZkOp>>, commit: u64) -> ZkMsg {
    ZkMsg::Peer(Msg::Append {
        term: 1,
        prev_index: prev,
        prev_term: if prev == 0 { 0 } else { 1 },
        entries,
        commit,
        round: 0,
    })
}

fn entry(client: Id, seq: u64, op: ZkOp) -> Entry<ZkOp> {
    Entry {
        term: 1,
        client,
        seq,
        op,
    }
}

/// A follower of p1 in term 1 (it heard p1's first, empty AppendEntries).
fn follower() -> (ZkServer, ZkServerState) {
    let s = follower_server();
    let state = deliver(&s, &start(&s), p1(), append(0, vec![], 0)).state;
    (s, state)
}

/// The lone server, elected leader of term 1.
fn leader() -> (ZkServer, ZkServerState) {
    let s = lone_server();
    let state = tick(&s, &start(&s), ZkTimer::Raft(RaftTimer::Election)).state;
    assert!(state.raft.is_leader());
    (s, state)
}

#[test]
fn a_read_is_answered_at_once_from_the_local_tree_even_if_stale() {
    let (s, state) = follower();
    // The leader has committed a create elsewhere, but this server has not heard of it.
    let step = deliver(&s, &state, c(), plain(1, get("/x")));
    assert_eq!(sends(&step.cmds), [(c(), answer(1, Fail(NoNode), 0))]);
    assert!(!step.changed, "a plain read changes nothing");
}

#[test]
fn a_write_waits_here_and_goes_to_the_leader() {
    let (s, state) = follower();
    let op = create("/x", "1", Persistent, 0);
    let step = deliver(&s, &state, c(), plain(1, op.clone()));
    let forward = ZkMsg::Forward {
        client: c(),
        seq: 1,
        op: op.clone(),
    };
    assert_eq!(sends(&step.cmds), [(p1(), forward)]);
    assert_eq!(step.state.waiting[&c()].seq, 1);
    // Once the entry is committed and applied here, this server answers its client.
    let commit = append(0, vec![entry(c(), 1, op)], 1);
    let applied = deliver(&s, &step.state, p1(), commit);
    let replies: Vec<_> = sends(&applied.cmds)
        .into_iter()
        .filter(|(to, _)| *to == c())
        .collect();
    assert_eq!(replies, [(c(), answer(1, created("/x"), 1))]);
    assert!(applied.state.waiting.is_empty());
}

#[test]
fn a_write_that_arrives_before_any_leader_is_known_waits_for_one() {
    let s = follower_server();
    let state = start(&s);
    let op = create("/x", "1", Persistent, 0);
    let step = deliver(&s, &state, c(), plain(1, op.clone()));
    assert!(sends(&step.cmds).is_empty());
    let learned = deliver(&s, &step.state, p1(), append(0, vec![], 0));
    let forward = ZkMsg::Forward {
        client: c(),
        seq: 1,
        op,
    };
    assert!(sends(&learned.cmds).contains(&(p1(), forward)));
}

#[test]
fn the_leader_appends_a_forwarded_write_once_and_its_clients_server_answers() {
    let (s, state) = leader();
    let op = create("/x", "1", Persistent, 0);
    let forward = ZkMsg::Forward {
        client: c(),
        seq: 1,
        op: op.clone(),
    };
    let step = deliver(&s, &state, p1(), forward.clone());
    assert_eq!(step.state.raft.log, [entry(c(), 1, op)]);
    // Alone, the leader commits at once; `c` is not connected here, so nobody is answered.
    assert!(sends(&step.cmds).is_empty());
    // A retry of an applied write is not appended again.
    let again = deliver(&s, &step.state, p1(), forward);
    assert_eq!(again.state.raft.log.last_index(), 1);
}

#[test]
fn a_client_at_the_leader_gets_one_answer() {
    let (s, state) = leader();
    let step = deliver(&s, &state, c(), plain(1, create("/x", "1", Persistent, 0)));
    assert_eq!(sends(&step.cmds), [(c(), answer(1, created("/x"), 1))]);
    // Its retry is answered from the session table.
    let retry = deliver(
        &s,
        &step.state,
        c(),
        plain(1, create("/x", "1", Persistent, 0)),
    );
    assert_eq!(sends(&retry.cmds), [(c(), answer(1, created("/x"), 1))]);
    assert_eq!(retry.state.raft.log.last_index(), 1);
}

#[test]
fn a_synced_read_goes_through_the_log() {
    let (s, state) = follower();
    let step = deliver(&s, &state, c(), call(1, get("/"), SYNC));
    let forward = ZkMsg::Forward {
        client: c(),
        seq: 1,
        op: get("/"),
    };
    assert_eq!(sends(&step.cmds), [(p1(), forward)]);
    // Answered when applied here, after the write committed before it.
    let w = entry(d(), 1, set("/", "v", -1));
    let commit = append(0, vec![w, entry(c(), 1, get("/"))], 2);
    let applied = deliver(&s, &step.state, p1(), commit);
    let root = applied.state.tree().stat("/").unwrap();
    assert!(sends(&applied.cmds).contains(&(c(), answer(1, data("v", root), 1))));
}

#[test]
fn a_watch_fires_once_when_the_change_is_applied_before_the_answer() {
    let (s, state) = follower();
    let watched = deliver(&s, &state, c(), call(1, exists("/x"), WATCH));
    let watch = Watch {
        path: "/x".into(),
        kind: WatchKind::Exists,
        client: c(),
        seq: 1,
    };
    assert_eq!(watched.state.watches.iter().collect::<Vec<_>>(), [&watch]);
    // D's create of /x reaches this server in its log: nothing fires until it is applied.
    let create_x = entry(d(), 1, create("/x", "", Persistent, 0));
    let logged = deliver(
        &s,
        &watched.state,
        p1(),
        append(0, vec![create_x.clone()], 0),
    );
    assert_eq!(logged.state.watches.len(), 1);
    // D waits here: it hears the answer after C hears the event.
    let waiting = deliver(&s, &logged.state, d(), plain(1, create_x.op.clone())).state;
    let applied = deliver(&s, &waiting, p1(), append(1, vec![], 1));
    let event = ZkMsg::Event(WatchEvent {
        seq: 1,
        change: Change::Created("/x".into()),
        zxid: 1,
    });
    let to_clients: Vec<_> = sends(&applied.cmds)
        .into_iter()
        .filter(|(to, _)| *to == c() || *to == d())
        .collect();
    assert_eq!(
        to_clients,
        [(c(), event), (d(), answer(1, created("/x"), 1))]
    );
    assert!(applied.state.watches.is_empty(), "a watch fires once");
}

#[test]
fn a_failed_get_data_leaves_no_watch() {
    let (s, state) = follower();
    let step = deliver(&s, &state, c(), call(1, get("/x"), WATCH));
    assert!(!step.changed && step.state.watches.is_empty());
}

#[test]
fn the_early_watch_bug_fires_when_the_write_arrives() {
    let s = follower_server().with_bug(Some(ZkBug::EarlyWatch));
    let state = deliver(&s, &start(&s), p1(), append(0, vec![], 0)).state;
    let watched = deliver(&s, &state, c(), call(1, exists("/x"), WATCH)).state;
    let step = deliver(&s, &watched, d(), plain(1, create("/x", "", Persistent, 0)));
    assert!(matches!(sends(&step.cmds)[0], (to, ZkMsg::Event(_)) if to == c()));
    assert_eq!(step.state.tree().zxid(), 0, "nothing applied yet");
}

/// The timers `cmds` set.
fn timers_set(cmds: &[Cmd<ZkServer>]) -> Vec<ZkTimer> {
    (cmds.iter())
        .filter_map(|c| match c {
            Command::SetTimer(timer, _) => Some(timer.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn pings_reach_the_leader_which_expires_a_silent_session_through_the_log() {
    let (s, follower_state) = follower();
    let session = session_of(c());
    let ping = ZkMsg::Ping { session };
    let passed = deliver(&s, &follower_state, c(), ping.clone());
    assert_eq!(sends(&passed.cmds), [(p1(), ping.clone())]);

    let (s, state) = leader();
    let heard = deliver(&s, &state, p1(), ping.clone());
    assert!(heard.state.sessions.contains(&session));
    assert_eq!(timers_set(&heard.cmds), [ZkTimer::Expire(session)]);
    // Heard from again: the deadline moves, nothing else changes.
    let again = deliver(&s, &heard.state, p1(), ping);
    assert_eq!(timers_set(&again.cmds), [ZkTimer::Expire(session)]);
    assert!(!again.changed);
    // The deadline passes in silence: the session's close is committed.
    let expired = tick(&s, &heard.state, ZkTimer::Expire(session)).state;
    let close = ZkOp::CloseSession { session };
    assert_eq!(expired.raft.log, [entry(me(), 1, close)]);
    assert!(expired.tree().is_closed(session) && expired.sessions.is_empty());
}

#[test]
fn a_session_that_writes_is_alive() {
    let (s, state) = leader();
    let step = deliver(&s, &state, c(), plain(1, create("/e", "", Ephemeral, 7)));
    assert!(step.state.sessions.contains(&session_of(c())));
    assert!(timers_set(&step.cmds).contains(&ZkTimer::Expire(session_of(c()))));
}

#[test]
fn a_server_that_no_longer_leads_forgets_the_session() {
    let (s, state) = follower();
    let mut tracked = state.clone();
    tracked.sessions.insert(session_of(c()));
    let step = tick(&s, &tracked, ZkTimer::Expire(session_of(c())));
    assert!(step.state.sessions.is_empty() && step.state.raft.log.is_empty());
    assert!(sends(&step.cmds).is_empty());
}

#[test]
fn a_closed_session_hears_of_nothing_more() {
    let (s, state) = follower();
    // C watches /x and its own ephemeral /c; D watches /c too.
    let owned = entry(c(), 1, create("/c", "", Ephemeral, session_of(c())));
    let state = deliver(&s, &state, p1(), append(0, vec![owned], 1)).state;
    let state = deliver(&s, &state, c(), call(2, exists("/x"), WATCH)).state;
    let state = deliver(&s, &state, c(), call(3, exists("/c"), WATCH)).state;
    let state = deliver(&s, &state, d(), call(1, exists("/c"), WATCH)).state;
    assert_eq!(state.watches.len(), 3);
    // C's session expires: /c goes, which D hears of, and C's watches are dropped.
    let close = entry(
        p1(),
        2,
        ZkOp::CloseSession {
            session: session_of(c()),
        },
    );
    let step = deliver(&s, &state, p1(), append(1, vec![close], 2));
    let event = ZkMsg::Event(WatchEvent {
        seq: 1,
        change: Change::Deleted("/c".into()),
        zxid: 2,
    });
    assert_eq!(sends(&step.cmds)[1..], [(d(), event)]);
    assert!(step.state.watches.is_empty());
}

#[test]
fn a_watch_asked_for_after_the_session_closed_is_not_left() {
    let (s, state) = follower();
    let close = entry(
        p1(),
        1,
        ZkOp::CloseSession {
            session: session_of(c()),
        },
    );
    let state = deliver(&s, &state, p1(), append(0, vec![close], 1)).state;
    // C's read was on its way when C stopped: it is answered, and leaves no watch.
    let step = deliver(&s, &state, c(), call(2, exists("/x"), WATCH));
    assert_eq!(
        sends(&step.cmds),
        [(c(), answer(2, ZkRet::Exists(None), 1))]
    );
    assert!(step.state.watches.is_empty());
}

#[test]
fn each_event_carries_the_zxid_of_its_own_write() {
    let (s, state) = follower();
    let state = deliver(&s, &state, c(), call(1, exists("/x"), WATCH)).state;
    let state = deliver(&s, &state, d(), call(1, exists("/y"), WATCH)).state;
    // Two writes applied in one step.
    let x = entry(p1(), 1, create("/x", "", Persistent, 0));
    let y = entry(p1(), 2, create("/y", "", Persistent, 0));
    let step = deliver(&s, &state, p1(), append(0, vec![x, y], 2));
    let zxids: Vec<_> = sends(&step.cmds)
        .into_iter()
        .filter_map(|(to, m)| match m {
            ZkMsg::Event(e) => Some((to, e.zxid)),
            _ => None,
        })
        .collect();
    assert_eq!(zxids, [(c(), 1), (d(), 2)]);
}

/// A server of the cluster {me, p1, p2} whose sessions expire, with `bug`.
fn expiring_server(bug: Option<ZkBug>) -> ZkServer {
    follower_server()
        .with_session_timeout(Some(timeout()))
        .with_bug(bug)
}

/// The leader's state after client D's create of the persistent node /d (its log's next
/// entry, of the leader's own term).
fn d_writes(s: &ZkServer, leader: &ZkServerState) -> ZkServerState {
    deliver(s, leader, d(), plain(1, create("/d", "", Persistent, 0))).state
}

/// `s`, a follower of p1 that applied C's ephemeral `/c` (committed in term 1), then won
/// the election of term 2 with p2's vote after p1 fell silent.
fn elected_after(s: &ZkServer, commit: u64) -> Step<ZkServer> {
    let owned = entry(c(), 1, create("/c", "", Ephemeral, session_of(c())));
    let state = deliver(s, &start(s), p1(), append(0, vec![owned], commit)).state;
    let state = tick(s, &state, ZkTimer::Raft(RaftTimer::Election)).state;
    let vote = ZkMsg::Peer(Msg::Vote {
        term: 2,
        granted: true,
    });
    let step = deliver(s, &state, p2(), vote);
    assert!(step.state.raft.is_leader());
    step
}

/// p2's answer to the leader of term 2: its log matches up to `index`.
fn appended(index: u64) -> ZkMsg {
    ZkMsg::Peer(Msg::Appended {
        term: 2,
        success: true,
        index,
        round: 0,
    })
}

#[test]
fn a_new_leader_tracks_the_sessions_that_own_ephemeral_nodes() {
    let s = expiring_server(None);
    let elected = elected_after(&s, 1);
    let session = session_of(c());
    assert!(elected.state.sessions.contains(&session));
    assert_eq!(timers_set(&elected.cmds), [ZkTimer::Expire(session)]);
    // C never speaks again: its deadline passes and its close goes through the log.
    let expired = tick(&s, &elected.state, ZkTimer::Expire(session)).state;
    let close = ZkOp::CloseSession { session };
    assert_eq!(expired.raft.log.last_index(), 2);
    assert_eq!(expired.raft.log.get(2).map(|e| &e.op), Some(&close));
}

#[test]
fn a_leader_tracks_the_owner_of_an_ephemeral_node_it_applies() {
    let s = expiring_server(None);
    // Elected before it learned that /c was committed: it tracks nobody yet.
    let elected = elected_after(&s, 0);
    assert!(elected.state.sessions.is_empty());
    // D's write, of term 2, commits /c with it once p2 has both.
    let state = d_writes(&s, &elected.state);
    let acked = appended(2);
    let step = deliver(&s, &state, p2(), acked);
    assert!(step.state.tree().stat("/c").is_some());
    assert!(step.state.sessions.contains(&session_of(c())));
    assert!(timers_set(&step.cmds).contains(&ZkTimer::Expire(session_of(c()))));
}

#[test]
fn a_leader_does_not_track_again_a_session_whose_close_it_proposed() {
    let s = expiring_server(None);
    let elected = elected_after(&s, 0);
    let session = session_of(c());
    // D writes (index 2); C pings, then falls silent: its close is index 3.
    let state = d_writes(&s, &elected.state);
    let state = deliver(&s, &state, p2(), ZkMsg::Ping { session }).state;
    let state = tick(&s, &state, ZkTimer::Expire(session)).state;
    assert_eq!(state.raft.log.last_index(), 3);
    // p2 has up to index 2: /c is applied here while its close is still on its way.
    let acked = appended(2);
    let step = deliver(&s, &state, p2(), acked);
    assert!(step.state.tree().stat("/c").is_some());
    assert!(!step.state.sessions.contains(&session));
    assert!(!timers_set(&step.cmds).contains(&ZkTimer::Expire(session)));
}

#[test]
fn the_forget_sessions_bug_leaves_a_failed_clients_session_untracked() {
    let s = expiring_server(Some(ZkBug::ForgetSessionsOnFailover));
    let elected = elected_after(&s, 1);
    assert!(elected.state.sessions.is_empty());
    assert!(timers_set(&elected.cmds).is_empty());
}

/// Serves a plain read of `/x` by a client that has already seen `zxid`.
fn read_after(zxid: Zxid) -> ZkMsg {
    let serve = Serve {
        zxid,
        ..Serve::default()
    };
    call(1, get("/x"), serve)
}

#[test]
fn a_server_behind_what_its_client_has_seen_answers_no_plain_read() {
    let (s, state) = follower();
    let x = entry(d(), 1, create("/x", "1", Persistent, 0));
    // Nothing applied here yet: a client that has seen zxid 1 elsewhere gets no answer.
    let behind = deliver(&s, &state, c(), read_after(1));
    assert!(sends(&behind.cmds).is_empty() && !behind.changed);
    // Once this server has applied zxid 1, it answers.
    let state = deliver(&s, &state, p1(), append(0, vec![x], 1)).state;
    let caught_up = deliver(&s, &state, c(), read_after(1));
    let root = caught_up.state.tree().stat("/x").unwrap();
    assert_eq!(
        sends(&caught_up.cmds),
        [(c(), answer(1, data("1", root), 1))]
    );
}

#[test]
fn the_reads_go_back_bug_answers_from_behind() {
    let s = follower_server().with_bug(Some(ZkBug::ReadsGoBack));
    let state = deliver(&s, &start(&s), p1(), append(0, vec![], 0)).state;
    let step = deliver(&s, &state, c(), read_after(1));
    assert_eq!(sends(&step.cmds), [(c(), answer(1, Fail(NoNode), 0))]);
}
