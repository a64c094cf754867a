//! The Raft server's handlers, one story of messages per test (in the manner of etcd-io/raft's
//! tests): a server is driven by calling `on_start`, `on_msg` and `on_timeout` directly, and
//! each step is checked on the state it leaves and on the commands it emits.
//!
//! The cluster has three servers: this one, `me()` (id 0), and the peers `p1()` and `p2()`
//! (quorum 2). `client()` (id 7) is a client, "C" in the comments; `other_client()` (id 8)
//! is another, "D".

use super::*;
use crate::client::ClientMsg;
use crate::invariants::Invariants;
use crate::kv::KvStore;
use crate::test_util::{self, me, p1, p2, run, sends};
use bytes::Bytes;
use coord_specs::kv::{KvOp, KvRet};
use stateright::actor::{Actor, Command, Id, Out};
use std::time::Duration;

type Server = RaftServer<KvStore>;
type State = RaftState<KvStore>;
type M = Msg<KvOp, KvRet>;
type Storage = RaftStorage<KvOp>;
type Cmd = test_util::Cmd<Server>;

fn client() -> Id {
    Id::from(7)
}
fn other_client() -> Id {
    Id::from(8)
}

// ---------------------------------------------------------------------------------------
// Building servers and states.
// ---------------------------------------------------------------------------------------

fn timeout() -> std::ops::Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(300)
}

/// A server of the three-node cluster {ME, P1, P2}.
fn server() -> Server {
    Server::new(vec![p1(), p2()], timeout())
}

/// The replica a server of {ME, P1, P2} starts with: nothing applied, that configuration.
fn fresh_replica() -> Replica<KvStore> {
    Replica {
        config: [me(), p1(), p2()].into(),
        ..Replica::default()
    }
}

fn buggy(bug: RaftBug) -> Server {
    server().with_bug(Some(bug))
}

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
        expected: None,
    }
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

/// An entry of term `term` carrying client C's request `seq`.
fn entry(term: Term, seq: u64, op: KvOp) -> Entry<KvOp> {
    Entry {
        term,
        client: client(),
        seq,
        op: Payload::Op(op),
    }
}

/// Entries of the given terms, each a distinct put by client C.
fn entries(terms: &[Term]) -> Vec<Entry<KvOp>> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| entry(t, i as u64 + 1, put("x", &format!("v{}", i + 1))))
        .collect()
}

fn request(seq: u64, op: KvOp) -> M {
    Msg::Client(ClientMsg::Request { seq, op })
}

fn append(term: Term, prev_index: Index, prev_term: Term, entries: Vec<Entry<KvOp>>) -> M {
    Msg::Append {
        term,
        prev_index,
        prev_term,
        entries,
        commit: 0,
        round: 0,
    }
}

/// An AppendEntries with no entries that carries the leader's commit index.
fn heartbeat(term: Term, prev_index: Index, prev_term: Term, commit: Index) -> M {
    Msg::Append {
        term,
        prev_index,
        prev_term,
        entries: vec![],
        commit,
        round: 0,
    }
}

fn appended(term: Term, index: Index, round: u64) -> M {
    Msg::Appended {
        term,
        success: true,
        index,
        round,
    }
}

fn rejected(term: Term, index: Index, round: u64) -> M {
    Msg::Appended {
        term,
        success: false,
        index,
        round,
    }
}

fn request_vote(term: Term, last_index: Index, last_term: Term) -> M {
    Msg::RequestVote {
        term,
        last_index,
        last_term,
    }
}

fn vote(term: Term, granted: bool) -> M {
    Msg::Vote { term, granted }
}

// ---------------------------------------------------------------------------------------
// Driving a server.
// ---------------------------------------------------------------------------------------

type Step = test_util::Step<Server>;

/// Starts a server from `storage` (a fresh server with `None`).
fn start(s: &Server, storage: Option<Storage>) -> (State, Vec<Cmd>) {
    let mut out = Out::new();
    let state = s.on_start(me(), &storage, &mut out);
    (state, out.into_iter().collect())
}

/// Delivers `msg` from `src`.
fn deliver(s: &Server, state: &State, src: Id, msg: M) -> Step {
    run(state, |cow, o| s.on_msg(me(), cow, src, msg, o))
}

/// Fires `timer`.
fn fire(s: &Server, state: &State, timer: RaftTimer) -> Step {
    run(state, |cow, o| s.on_timeout(me(), cow, &timer, o))
}

/// A follower that restarted with this term and log (no vote).
fn follower_with(s: &Server, term: Term, log: Vec<Entry<KvOp>>) -> State {
    start(
        s,
        Some(RaftStorage {
            term,
            voted_for: None,
            log: log.into(),
            snapshot: Bytes::new(),
        }),
    )
    .0
}

/// `state` after its election timer fired: a candidate one term later.
fn campaign(s: &Server, state: &State) -> State {
    let step = fire(s, state, RaftTimer::Election);
    assert!(matches!(step.state.role, Role::Candidate { .. }));
    step.state
}

/// `state` elected: election timeout, then P1's vote.
fn elect(s: &Server, state: &State) -> State {
    let candidate = campaign(s, state);
    let step = deliver(s, &candidate, p1(), vote(candidate.term, true));
    assert!(
        step.state.is_leader(),
        "one peer's vote elects in a cluster of three"
    );
    step.state
}

/// A fresh server elected leader of term 1 with an empty log.
fn fresh_leader(s: &Server) -> State {
    elect(s, &start(s, None).0)
}

/// A leader of term 1 whose log holds client C's `put(x, a)` (seq 1), committed and applied
/// after P1 acknowledged it.
fn leader_with_committed_put(s: &Server) -> State {
    let leader = fresh_leader(s);
    let leader = deliver(s, &leader, client(), request(1, put("x", "a"))).state;
    let step = deliver(s, &leader, p1(), appended(1, 1, 0));
    assert_eq!(step.state.commit, 1);
    step.state
}

// ---------------------------------------------------------------------------------------
// Reading commands.
// ---------------------------------------------------------------------------------------

fn saves(cmds: &[Cmd]) -> Vec<Storage> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Save(storage) => Some(storage.clone()),
            _ => None,
        })
        .collect()
}

fn sets_timer(cmds: &[Cmd], timer: RaftTimer) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::SetTimer(t, _) if *t == timer))
}

fn cancels_timer(cmds: &[Cmd], timer: RaftTimer) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::CancelTimer(t) if *t == timer))
}

/// Position of the last `Save` (a step may save twice: a newer term, then a vote or
/// entries), and of the first `Send` whose message matches `is`.
fn save_pos(cmds: &[Cmd]) -> Option<usize> {
    cmds.iter().rposition(|c| matches!(c, Command::Save(_)))
}

fn send_pos(cmds: &[Cmd], is: impl Fn(&M) -> bool) -> Option<usize> {
    cmds.iter()
        .position(|c| matches!(c, Command::Send(_, m) if is(m)))
}

/// Asserts that a `Save` comes before the first message matching `is`.
fn assert_saved_before(cmds: &[Cmd], is: impl Fn(&M) -> bool) {
    let save = save_pos(cmds).expect("a Save");
    let send = send_pos(cmds, is).expect("the message");
    assert!(
        save < send,
        "Save at {save} must precede the send at {send}: {cmds:?}"
    );
}

/// The client messages sent to `client`.
fn to_client(cmds: &[Cmd], client: Id) -> Vec<ClientMsg<KvOp, KvRet>> {
    sends(cmds)
        .into_iter()
        .filter_map(|(dst, m)| match m {
            Msg::Client(cm) if dst == client => Some(cm),
            _ => None,
        })
        .collect()
}

/// The Append messages sent, by destination.
fn appends(cmds: &[Cmd]) -> Vec<(Id, M)> {
    sends(cmds)
        .into_iter()
        .filter(|(_, m)| matches!(m, Msg::Append { .. }))
        .collect()
}

fn the_only_send(cmds: &[Cmd]) -> (Id, M) {
    let sends = sends(cmds);
    assert_eq!(sends.len(), 1, "exactly one message: {cmds:?}");
    sends.into_iter().next().unwrap()
}

/// Asserts that no message at all is sent: the handler stays silent.
fn assert_sends_nothing(cmds: &[Cmd]) {
    let sends = sends(cmds);
    assert!(sends.is_empty(), "no message: {cmds:?}");
}

fn leader_state(state: &State) -> &LeaderState<KvOp> {
    match &state.role {
        Role::Leader(l) => l,
        role => panic!("not a leader: {role:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 1. Election timeout.
// ---------------------------------------------------------------------------------------

#[test]
fn a_fresh_server_starts_as_follower_with_an_election_timer() {
    let (state, cmds) = start(&server(), None);
    assert_eq!(state.term, 0);
    assert_eq!(state.voted_for, None);
    assert!(state.log.is_empty());
    assert_eq!(state.role, Role::Follower { leader: None });
    assert!(sets_timer(&cmds, RaftTimer::Election));
    assert!(sends(&cmds).is_empty());
}

#[test]
fn election_timeout_makes_a_follower_campaign_in_the_next_term() {
    let s = server();
    let follower = follower_with(&s, 2, entries(&[1, 2]));

    let step = fire(&s, &follower, RaftTimer::Election);

    assert_eq!(step.state.term, 3);
    assert_eq!(step.state.voted_for, Some(me()));
    assert_eq!(
        step.state.role,
        Role::Candidate {
            votes: [me()].into()
        }
    );
    // The new term and the vote for itself are on disk before anyone is asked.
    assert_eq!(
        saves(&step.cmds),
        vec![RaftStorage {
            term: 3,
            voted_for: Some(me()),
            log: entries(&[1, 2]).into(),
            snapshot: Bytes::new(),
        }]
    );
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::RequestVote { .. }));
    // Both peers are asked, with the candidate's last index and term.
    assert_eq!(
        sends(&step.cmds),
        vec![(p1(), request_vote(3, 2, 2)), (p2(), request_vote(3, 2, 2))]
    );
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
}

#[test]
fn a_candidate_whose_election_times_out_campaigns_again() {
    let s = server();
    let candidate = campaign(&s, &start(&s, None).0);
    let step = fire(&s, &candidate, RaftTimer::Election);
    assert_eq!(step.state.term, 2);
    assert_eq!(
        sends(&step.cmds),
        vec![(p1(), request_vote(2, 0, 0)), (p2(), request_vote(2, 0, 0))]
    );
}

#[test]
fn a_leaders_election_timer_is_ignored() {
    let s = server();
    let leader = fresh_leader(&s);
    let step = fire(&s, &leader, RaftTimer::Election);
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

// ---------------------------------------------------------------------------------------
// 2. Granting votes.
// ---------------------------------------------------------------------------------------

#[test]
fn a_vote_is_granted_once_per_term() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);

    // P1 asks first and gets the vote, saved before it is sent.
    let step = deliver(&s, &follower, p1(), request_vote(1, 0, 0));
    assert_eq!(step.state.voted_for, Some(p1()));
    assert_eq!(saves(&step.cmds)[0].voted_for, Some(p1()));
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Vote { .. }));
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(1, true)));
    assert!(sets_timer(&step.cmds, RaftTimer::Election));

    // P2 asks in the same term: refused, and the refusal is not sent (a candidate counts
    // only grants). Nothing changes, nothing is saved, the timer is not reset.
    let step2 = deliver(&s, &step.state, p2(), request_vote(1, 0, 0));
    assert!(!step2.changed);
    assert_eq!(step2.state.voted_for, Some(p1()));
    assert_sends_nothing(&step2.cmds);
    assert!(saves(&step2.cmds).is_empty());
    assert!(!sets_timer(&step2.cmds, RaftTimer::Election));
    assert!(step2.cmds.is_empty());

    // P1 asks again (a retransmission): granted again, nothing new to save.
    let step3 = deliver(&s, &step.state, p1(), request_vote(1, 0, 0));
    assert_eq!(the_only_send(&step3.cmds), (p1(), vote(1, true)));
    assert!(saves(&step3.cmds).is_empty());
}

#[test]
fn a_candidate_refuses_other_candidates_of_its_term() {
    let s = server();
    let candidate = campaign(&s, &start(&s, None).0);
    let step = deliver(&s, &candidate, p1(), request_vote(1, 0, 0));
    // It voted for itself: a silent refusal, still a candidate with only its own vote.
    assert!(!step.changed);
    assert_eq!(step.state.voted_for, Some(me()));
    assert_eq!(
        step.state.role,
        Role::Candidate {
            votes: [me()].into()
        }
    );
    assert_sends_nothing(&step.cmds);
    assert!(step.cmds.is_empty(), "no save, no timer reset");
}

#[test]
fn a_leader_refuses_a_candidate_of_its_term_silently() {
    let s = server();
    let leader = fresh_leader(&s);
    // P2 campaigns in term 1 too, with a log as good as ours: it lost, nothing to tell it.
    let step = deliver(&s, &leader, p2(), request_vote(1, 0, 0));
    assert!(!step.changed);
    assert!(step.state.is_leader());
    assert!(step.cmds.is_empty());
}

#[test]
fn a_leader_refuses_a_stale_candidate_with_its_newer_term() {
    let s = server();
    let leader = elect(&s, &follower_with(&s, 1, vec![]));
    assert_eq!(leader.term, 2);
    let step = deliver(&s, &leader, p2(), request_vote(1, 0, 0));
    assert!(!step.changed);
    assert!(step.state.is_leader());
    assert!(saves(&step.cmds).is_empty());
    assert_eq!(the_only_send(&step.cmds), (p2(), vote(2, false)));
}

#[test]
fn a_vote_is_refused_to_a_candidate_with_a_lower_last_term() {
    let s = server();
    // Our log ends at (term 2, index 2); the candidate's ends at (term 1, index 5): longer,
    // but the last term decides first (§5.4.1).
    let follower = follower_with(&s, 2, entries(&[1, 2]));
    let step = deliver(&s, &follower, p1(), request_vote(3, 5, 1));
    assert_eq!(step.state.term, 3, "the higher term is adopted anyway");
    assert_eq!(step.state.voted_for, None);
    assert_eq!(step.state.role, Role::Follower { leader: None });
    assert_eq!(
        saves(&step.cmds),
        vec![RaftStorage {
            term: 3,
            voted_for: None,
            log: entries(&[1, 2]).into(),
            snapshot: Bytes::new(),
        }]
    );
    assert!(
        !sets_timer(&step.cmds, RaftTimer::Election),
        "a refusal does not reset the timer"
    );
    // The refusal is in the candidate's own term: nothing is sent.
    assert_sends_nothing(&step.cmds);
}

#[test]
fn a_vote_is_refused_to_a_candidate_with_the_same_last_term_but_a_shorter_log() {
    let s = server();
    let follower = follower_with(&s, 2, entries(&[1, 2, 2]));
    let step = deliver(&s, &follower, p1(), request_vote(3, 2, 2));
    assert_eq!(step.state.term, 3);
    assert_eq!(step.state.voted_for, None, "refused");
    assert_eq!(saves(&step.cmds)[0].term, 3);
    assert_sends_nothing(&step.cmds);

    // The same last term and an equal or longer log is up to date.
    let step = deliver(&s, &follower, p1(), request_vote(3, 3, 2));
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(3, true)));
    // A higher last term wins even with a shorter log.
    let step = deliver(&s, &follower, p1(), request_vote(3, 1, 3));
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(3, true)));
}

#[test]
fn a_higher_term_is_adopted_and_saved_before_the_vote_is_sent() {
    let s = server();
    // We voted for P2 in term 4; P1 campaigns in term 5.
    let follower = start(
        &s,
        Some(RaftStorage {
            term: 4,
            voted_for: Some(p2()),
            log: entries(&[1]).into(),
            snapshot: Bytes::new(),
        }),
    )
    .0;
    let step = deliver(&s, &follower, p1(), request_vote(5, 1, 1));
    assert_eq!(step.state.term, 5);
    assert_eq!(step.state.voted_for, Some(p1()));
    // The term rule saves the new term with no vote; the vote is saved next, and the last
    // save is what storage holds when the vote leaves.
    let term_then_vote = |voted_for| RaftStorage {
        term: 5,
        voted_for,
        log: entries(&[1]).into(),
        snapshot: Bytes::new(),
    };
    assert_eq!(
        saves(&step.cmds),
        vec![term_then_vote(None), term_then_vote(Some(p1()))]
    );
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Vote { .. }));
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(5, true)));
}

#[test]
fn a_stale_request_vote_is_refused_with_the_current_term() {
    let s = server();
    let follower = follower_with(&s, 5, vec![]);
    let step = deliver(&s, &follower, p1(), request_vote(4, 9, 4));
    assert!(!step.changed);
    assert!(saves(&step.cmds).is_empty());
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(5, false)));
}

#[test]
fn a_leader_deposed_by_a_request_vote_rearms_its_election_timer() {
    let s = server();
    let leader = fresh_leader(&s);
    let step = deliver(&s, &leader, p1(), request_vote(2, 0, 0));
    assert_eq!(step.state.role, Role::Follower { leader: None });
    assert_eq!(step.state.term, 2);
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
    assert_eq!(the_only_send(&step.cmds), (p1(), vote(2, true)));
}

// ---------------------------------------------------------------------------------------
// 3. Counting votes.
// ---------------------------------------------------------------------------------------

#[test]
fn one_granted_vote_from_a_peer_elects_a_candidate_of_three() {
    let s = server();
    let candidate = campaign(&s, &follower_with(&s, 0, vec![]));

    // A refusal does not count.
    let step = deliver(&s, &candidate, p2(), vote(1, false));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());

    let step = deliver(&s, &candidate, p1(), vote(1, true));
    let leader = leader_state(&step.state);
    assert_eq!(leader.next, [(p1(), 1), (p2(), 1)].into());
    assert_eq!(leader.matched, [(p1(), 0), (p2(), 0)].into());
    assert!(leader.reads.is_empty());
    assert!(cancels_timer(&step.cmds, RaftTimer::Election));
    assert_eq!(step.state.term, 1);
}

#[test]
fn with_heartbeats_a_new_leader_announces_itself_and_arms_the_heartbeat() {
    let s = server().with_heartbeat(Duration::from_millis(50)..Duration::from_millis(50));
    let candidate = campaign(&s, &follower_with(&s, 1, entries(&[1])));
    let step = deliver(&s, &candidate, p1(), vote(2, true));
    assert!(step.state.is_leader());
    assert!(sets_timer(&step.cmds, RaftTimer::Heartbeat));
    // The first heartbeat: empty, after the leader's last entry.
    let heartbeat = Msg::Append {
        term: 2,
        prev_index: 1,
        prev_term: 1,
        entries: vec![],
        commit: 0,
        round: 0,
    };
    assert_eq!(
        appends(&step.cmds),
        vec![(p1(), heartbeat.clone()), (p2(), heartbeat.clone())]
    );

    // The heartbeat timer sends the same again and re-arms itself.
    let step = fire(&s, &step.state, RaftTimer::Heartbeat);
    assert_eq!(
        appends(&step.cmds),
        vec![(p1(), heartbeat.clone()), (p2(), heartbeat)]
    );
    assert!(sets_timer(&step.cmds, RaftTimer::Heartbeat));
}

#[test]
fn with_a_batch_limit_a_follower_far_behind_is_sent_at_most_that_many_entries() {
    let s = server().with_max_batch(2);
    let leader = elect(&s, &follower_with(&s, 1, entries(&[1, 1, 1])));
    // P1 has nothing: the leader backs off to index 1 and sends two of its three entries.
    let step = deliver(&s, &leader, p1(), rejected(2, 1, 0));
    let (dst, msg) = the_only_send(&step.cmds);
    assert_eq!(dst, p1());
    let Msg::Append {
        prev_index,
        entries: sent,
        ..
    } = msg
    else {
        panic!("expected AppendEntries, got {msg:?}");
    };
    assert_eq!((prev_index, sent), (0, entries(&[1, 1])));
}

#[test]
fn with_a_byte_limit_a_follower_is_sent_what_fits_but_always_one_entry() {
    // Each entry counts its sequence number's worth of bytes: 1, 5 and 1.
    let size: fn(&Entry<KvOp>) -> usize = |e| e.seq as usize;
    let mut log = entries(&[1, 1, 1]);
    log[1].seq = 5;
    log[2].seq = 1;
    for (limit, expected) in [(6, 2), (5, 1), (0, 1), (7, 3)] {
        let s = server().with_max_batch_bytes(limit, size);
        let leader = elect(&s, &follower_with(&s, 1, log.clone()));
        let step = deliver(&s, &leader, p1(), rejected(2, 1, 0));
        let (_, msg) = the_only_send(&step.cmds);
        let Msg::Append { entries: sent, .. } = msg else {
            panic!("expected AppendEntries, got {msg:?}");
        };
        assert_eq!(sent, log[..expected].to_vec(), "limit {limit}");
    }
}

/// A server of a five-node cluster, quorum 3.
fn server_of_five() -> Server {
    Server::new(vec![p1(), p2(), Id::from(3), Id::from(4)], timeout())
}

#[test]
fn a_duplicated_vote_does_not_count_twice() {
    let s = server_of_five();
    let candidate = campaign(&s, &start(&s, None).0);

    let once = deliver(&s, &candidate, p1(), vote(1, true)).state;
    assert_eq!(
        once.role,
        Role::Candidate {
            votes: [me(), p1()].into()
        }
    );
    // The network delivers P1's vote again: still two votes of three needed.
    let twice = deliver(&s, &once, p1(), vote(1, true));
    assert!(!twice.changed);
    assert!(!twice.state.is_leader());
    // A second voter makes the majority.
    let step = deliver(&s, &once, p2(), vote(1, true));
    assert!(step.state.is_leader());
}

#[test]
fn a_duplicated_vote_to_a_leader_of_three_changes_nothing() {
    let s = server();
    let leader = fresh_leader(&s);
    let step = deliver(&s, &leader, p1(), vote(1, true));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_vote_of_an_earlier_term_does_not_count() {
    let s = server();
    let candidate = campaign(&s, &campaign(&s, &start(&s, None).0));
    assert_eq!(candidate.term, 2);
    let step = deliver(&s, &candidate, p1(), vote(1, true));
    assert!(!step.changed);
    assert!(!step.state.is_leader());
}

#[test]
fn a_vote_with_a_higher_term_makes_a_candidate_follow() {
    let s = server();
    let candidate = campaign(&s, &start(&s, None).0);
    let step = deliver(&s, &candidate, p1(), vote(4, false));
    assert_eq!(step.state.term, 4);
    assert_eq!(step.state.voted_for, None);
    assert_eq!(step.state.role, Role::Follower { leader: None });
    assert_eq!(
        saves(&step.cmds),
        vec![RaftStorage {
            term: 4,
            voted_for: None,
            log: Log::default(),
            snapshot: Bytes::new(),
        }]
    );
    // Its election timer runs on: only a granted vote or the term's leader restarts it.
    assert!(!sets_timer(&step.cmds, RaftTimer::Election));
    assert!(sends(&step.cmds).is_empty());
}

// ---------------------------------------------------------------------------------------
// 4. Client requests.
// ---------------------------------------------------------------------------------------

#[test]
fn a_leader_appends_a_put_saves_and_replicates_it() {
    let s = server();
    let leader = fresh_leader(&s);

    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));

    let e = entry(1, 1, put("x", "a"));
    assert_eq!(step.state.log, vec![e.clone()]);
    assert_eq!(step.state.commit, 0, "not before a follower has it");
    assert_eq!(saves(&step.cmds).len(), 1);
    assert_eq!(saves(&step.cmds)[0].log, vec![e.clone()]);
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Append { .. }));
    let expected = Msg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![e],
        commit: 0,
        round: 0,
    };
    assert_eq!(
        appends(&step.cmds),
        vec![(p1(), expected.clone()), (p2(), expected)]
    );
    assert!(
        to_client(&step.cmds, client()).is_empty(),
        "no answer before commit"
    );
}

#[test]
fn a_follower_redirects_a_client_to_the_leader_it_knows() {
    let s = server();
    let follower = follower_with(&s, 0, vec![]);

    // Before hearing from a leader it knows none: it stays silent, and the client's retry
    // timer moves on.
    let step = deliver(&s, &follower, client(), request(1, put("x", "a")));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());

    // P1's AppendEntries makes it the known leader.
    let follower = deliver(&s, &follower, p1(), append(1, 0, 0, vec![])).state;
    assert_eq!(follower.role, Role::Follower { leader: Some(p1()) });
    let step = deliver(&s, &follower, client(), request(1, put("x", "a")));
    assert!(step.state.log.is_empty());
    assert!(saves(&step.cmds).is_empty());
    assert_eq!(
        the_only_send(&step.cmds),
        (
            client(),
            Msg::Client(ClientMsg::Redirect {
                seq: 1,
                leader: Some(p1())
            })
        )
    );
}

#[test]
fn a_candidate_knows_no_leader_and_stays_silent() {
    let s = server();
    let candidate = campaign(&s, &start(&s, None).0);
    let step = deliver(&s, &candidate, client(), request(3, get("x")));
    assert!(!step.changed);
    assert!(step.state.log.is_empty());
    assert!(step.cmds.is_empty());
}

#[test]
fn a_follower_that_moves_to_a_newer_term_forgets_its_leader_and_stays_silent() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let follower = deliver(&s, &follower, p1(), append(1, 0, 0, vec![])).state;
    assert_eq!(follower.role, Role::Follower { leader: Some(p1()) });

    // P2 campaigns in term 2: P1 no longer leads the current term.
    let follower = deliver(&s, &follower, p2(), request_vote(2, 0, 0)).state;
    assert_eq!(follower.term, 2);
    assert_eq!(follower.role, Role::Follower { leader: None });
    let step = deliver(&s, &follower, client(), request(1, put("x", "a")));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

// ---------------------------------------------------------------------------------------
// 5. AppendEntries receiver.
// ---------------------------------------------------------------------------------------

#[test]
fn an_append_of_an_older_term_is_rejected_with_the_current_term() {
    let s = server();
    let follower = follower_with(&s, 3, entries(&[1, 2]));
    let msg = Msg::Append {
        term: 2,
        prev_index: 2,
        prev_term: 2,
        entries: entries(&[1, 2, 2]),
        commit: 3,
        round: 5,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert!(!step.changed);
    assert!(saves(&step.cmds).is_empty());
    assert!(
        !sets_timer(&step.cmds, RaftTimer::Election),
        "not a leader of ours"
    );
    // The rejection acknowledges no heartbeat round (see the ReadIndex story below).
    assert_eq!(the_only_send(&step.cmds), (p1(), rejected(3, 0, 0)));
}

#[test]
fn an_append_past_the_end_of_the_log_asks_for_last_index_plus_one() {
    let s = server();
    let follower = follower_with(&s, 2, entries(&[1, 2]));
    let step = deliver(&s, &follower, p1(), append(2, 5, 2, entries(&[2])));
    assert_eq!(step.state.log, entries(&[1, 2]), "nothing appended");
    assert_eq!(the_only_send(&step.cmds), (p1(), rejected(2, 3, 0)));
    // It still recognizes the leader and resets its election timer.
    assert_eq!(step.state.role, Role::Follower { leader: Some(p1()) });
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
}

#[test]
fn a_conflicting_term_is_skipped_whole_by_the_back_off_hint() {
    let s = server();
    // Our log: terms 1, 2, 2, 2. The leader of term 4 has term 3 at index 4.
    let follower = follower_with(&s, 2, entries(&[1, 2, 2, 2]));
    let step = deliver(
        &s,
        &follower,
        p1(),
        append(4, 4, 3, vec![entry(4, 9, get("x"))]),
    );
    assert_eq!(step.state.term, 4, "the leader's term is adopted");
    assert_eq!(
        step.state.log,
        entries(&[1, 2, 2, 2]),
        "nothing deleted yet"
    );
    // The term was saved before the reply.
    assert_eq!(saves(&step.cmds)[0].term, 4);
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Appended { .. }));
    // Index 2 is the first of the conflicting term 2.
    let (dst, reply) = the_only_send(&step.cmds);
    assert_eq!(dst, p1());
    assert_eq!(reply, rejected(4, 2, 0));
}

#[test]
fn conflicting_entries_are_deleted_and_the_new_ones_appended() {
    let s = server();
    let follower = follower_with(&s, 2, entries(&[1, 2, 2]));
    let new = vec![
        entry(3, 10, put("y", "new")),
        entry(3, 11, put("y", "newer")),
    ];
    let step = deliver(&s, &follower, p1(), append(3, 1, 1, new.clone()));

    let mut expected = entries(&[1]);
    expected.extend(new);
    assert_eq!(step.state.log, expected);
    assert_eq!(saves(&step.cmds).last().unwrap().log, expected);
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Appended { .. }));
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(3, 3, 0)));
}

#[test]
fn a_reordered_shorter_append_does_not_truncate_matching_entries() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let all = entries(&[1, 1, 1]);

    // The leader's second Append (all three entries) overtakes its first (only one).
    let follower = deliver(&s, &follower, p1(), append(1, 0, 0, all.clone())).state;
    assert_eq!(follower.log, all);
    let step = deliver(&s, &follower, p1(), append(1, 0, 0, all[..1].to_vec()));
    assert_eq!(step.state.log, all, "entries 2 and 3 survive");
    assert!(saves(&step.cmds).is_empty(), "nothing new to save");
    // Success, acknowledging only what this Append covered.
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(1, 1, 0)));
}

#[test]
fn the_commit_index_follows_the_leader_up_to_the_last_new_entry() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let two = vec![entry(1, 1, put("x", "a")), entry(1, 2, put("x", "b"))];

    // The leader has committed 5, but this Append only carries up to index 2 (§5.3:
    // commitIndex = min(leaderCommit, index of last new entry)).
    let msg = Msg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: two[..1].to_vec(),
        commit: 5,
        round: 0,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert_eq!(step.state.commit, 1);
    assert_eq!(step.state.replica.applied, 1);
    assert_eq!(
        step.state.replica.sm.read(&get("x")),
        Some(KvRet::GetOk {
            value: Some("a".into()),
            version: 1
        })
    );
    assert!(
        to_client(&step.cmds, client()).is_empty(),
        "followers do not answer clients"
    );

    // The leader commits only 1 of 2 entries it sends.
    let msg = Msg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: two.clone(),
        commit: 1,
        round: 0,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert_eq!(step.state.log, two);
    assert_eq!(step.state.commit, 1);
    assert_eq!(step.state.replica.applied, 1);

    // Then both.
    let step = deliver(&s, &step.state, p1(), heartbeat(1, 2, 1, 2));
    assert_eq!(step.state.commit, 2);
    assert_eq!(step.state.replica.applied, 2);
    assert_eq!(
        step.state.replica.sm.read(&get("x")),
        Some(KvRet::GetOk {
            value: Some("b".into()),
            version: 2
        })
    );
}

#[test]
fn entries_past_what_the_leader_sent_are_not_committed() {
    let s = server();
    // Our entry 2 is of term 2, from a leader that may have lost it; the leader of term 3
    // checks only index 1 and says it has committed 2 — its own entry 2, not necessarily ours.
    let follower = follower_with(&s, 2, entries(&[1, 2]));
    let msg = Msg::Append {
        term: 3,
        prev_index: 1,
        prev_term: 1,
        entries: vec![],
        commit: 2,
        round: 0,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert_eq!(
        step.state.log,
        entries(&[1, 2]),
        "not known to conflict yet"
    );
    assert_eq!(
        step.state.commit, 1,
        "only up to the last entry this Append vouched for"
    );
    assert_eq!(step.state.replica.applied, 1);
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(3, 1, 0)));
}

#[test]
fn a_failed_consistency_check_does_not_advance_the_commit_index() {
    let s = server();
    let follower = follower_with(&s, 1, entries(&[1]));
    let msg = Msg::Append {
        term: 2,
        prev_index: 1,
        prev_term: 2,
        entries: vec![],
        commit: 1,
        round: 0,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert_eq!(step.state.commit, 0);
    assert_eq!(step.state.replica.applied, 0);
}

#[test]
fn a_candidate_that_hears_from_the_leader_of_its_term_follows_it() {
    let s = server();
    let candidate = campaign(&s, &start(&s, None).0);
    let step = deliver(&s, &candidate, p1(), append(1, 0, 0, vec![]));
    assert_eq!(step.state.role, Role::Follower { leader: Some(p1()) });
    assert_eq!(step.state.voted_for, Some(me()), "the vote of term 1 stays");
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
}

// ---------------------------------------------------------------------------------------
// Leader side of AppendEntries: back-off.
// ---------------------------------------------------------------------------------------

#[test]
fn a_leader_backs_off_to_the_followers_hint_and_resends() {
    let s = server();
    let leader = elect(&s, &follower_with(&s, 2, entries(&[1, 2, 2])));
    assert_eq!(leader.term, 3);
    // P1 has only one entry: it asks for index 2.
    let msg = rejected(3, 2, 0);
    let step = deliver(&s, &leader, p1(), msg.clone());
    assert_eq!(leader_state(&step.state).next[&p1()], 2);
    assert_eq!(
        the_only_send(&step.cmds),
        (
            p1(),
            Msg::Append {
                term: 3,
                prev_index: 1,
                prev_term: 1,
                entries: entries(&[1, 2, 2])[1..].to_vec(),
                commit: 0,
                round: 0,
            }
        )
    );
    // The same rejection delivered twice does not resend twice.
    let again = deliver(&s, &step.state, p1(), msg);
    assert!(!again.changed);
    assert!(again.cmds.is_empty());
}

// ---------------------------------------------------------------------------------------
// 6. Leader commit rule.
// ---------------------------------------------------------------------------------------

#[test]
fn an_entry_of_the_current_term_on_a_majority_commits_and_the_client_gets_the_result() {
    let s = server();
    let leader = fresh_leader(&s);
    let leader = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;

    // P1 acknowledges index 1: the leader and P1 are a majority of three.
    let step = deliver(&s, &leader, p1(), appended(1, 1, 0));
    assert_eq!(step.state.commit, 1);
    assert_eq!(step.state.replica.applied, 1);
    assert_eq!(leader_state(&step.state).matched[&p1()], 1);
    assert_eq!(leader_state(&step.state).next[&p1()], 2);
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: KvRet::PutOk { version: 1 }
        }]
    );

    // P2's later acknowledgement changes the match but answers nobody again.
    let step = deliver(&s, &step.state, p2(), appended(1, 1, 0));
    assert_eq!(leader_state(&step.state).matched[&p2()], 1);
    assert!(to_client(&step.cmds, client()).is_empty());
}

#[test]
fn a_stale_acknowledgement_does_not_move_the_match_back() {
    let s = server();
    let leader = fresh_leader(&s);
    let leader = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;
    let leader = deliver(&s, &leader, client(), request(2, put("x", "b"))).state;
    let leader = deliver(&s, &leader, p1(), appended(1, 2, 0)).state;
    assert_eq!(leader.commit, 2);
    let step = deliver(&s, &leader, p1(), appended(1, 1, 0));
    assert!(!step.changed);
    assert_eq!(leader_state(&step.state).matched[&p1()], 2);
}

/// A leader of term 3 whose log holds one entry of term 2 (client C's `put(x, a)`, seq 1)
/// that P1 also stores (P1 acknowledged it).
fn leader_with_old_entry_on_p1(s: &Server) -> Step {
    let leader = elect(s, &follower_with(s, 2, vec![entry(2, 1, put("x", "a"))]));
    assert_eq!(leader.term, 3);
    deliver(s, &leader, p1(), appended(3, 1, 0))
}

#[test]
fn an_entry_of_an_earlier_term_is_not_committed_by_counting_replicas() {
    let s = server();
    let step = leader_with_old_entry_on_p1(&s);
    assert_eq!(leader_state(&step.state).matched[&p1()], 1);
    assert_eq!(
        step.state.commit, 0,
        "figure 8: replicas of an old term do not count"
    );
    assert!(to_client(&step.cmds, client()).is_empty());

    // Once an entry of term 3 (client D's request) is on a majority, both commit (Log
    // Matching), but the leader answers only the request it appended itself: C's entry of
    // term 2 is applied silently.
    let leader = deliver(&s, &step.state, other_client(), request(1, put("x", "b"))).state;
    let step = deliver(&s, &leader, p1(), appended(3, 2, 0));
    assert_eq!(step.state.commit, 2);
    assert_eq!(step.state.replica.applied, 2);
    assert!(to_client(&step.cmds, client()).is_empty());
    assert_eq!(
        to_client(&step.cmds, other_client()),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: KvRet::PutOk { version: 2 }
        }]
    );

    // C retries: answered from the session table, nothing appended.
    assert_retry_answered_from_the_session_table(&s, &step.state);
}

/// Client C retries its `put(x, a)` (seq 1), which an earlier leader appended and this
/// leader has applied without answering: the leader answers at once with the cached result
/// (version 1) and appends, saves and replicates nothing.
fn assert_retry_answered_from_the_session_table(s: &Server, leader: &State) {
    assert_answered_from_the_session_table(s, leader, client(), put("x", "a"), 1);
}

/// `who` retries its seq-1 `op`, already applied with result version `version`: the leader
/// answers at once from the session table and appends, saves and replicates nothing.
fn assert_answered_from_the_session_table(
    s: &Server,
    leader: &State,
    who: Id,
    op: KvOp,
    version: u64,
) {
    let cached = KvRet::PutOk { version };
    assert_eq!(leader.replica.cached(who, 1), Some(&cached));
    let step = deliver(s, leader, who, request(1, op));
    assert!(!step.changed, "nothing appended");
    assert!(saves(&step.cmds).is_empty());
    assert!(appends(&step.cmds).is_empty());
    let reply = Msg::Client(ClientMsg::Reply {
        seq: 1,
        ret: cached,
    });
    assert_eq!(the_only_send(&step.cmds), (who, reply));
}

#[test]
fn with_commit_old_term_an_entry_of_an_earlier_term_commits_by_counting_replicas() {
    let s = buggy(RaftBug::CommitOldTerm);
    let step = leader_with_old_entry_on_p1(&s);
    assert_eq!(step.state.commit, 1);
    assert_eq!(step.state.replica.applied, 1);
    // Committed and applied, but of term 2: the leader of term 3 does not answer it...
    assert!(to_client(&step.cmds, client()).is_empty());
    // ...until the client retries.
    assert_retry_answered_from_the_session_table(&s, &step.state);
}

#[test]
fn a_leader_answers_the_entries_of_its_term_and_not_those_of_earlier_terms() {
    let s = server();
    // Our log: C's put(x, a) of term 2, then D's put(x, b) of term 2, both stored by P1.
    let log = vec![
        entry(2, 1, put("x", "a")),
        Entry {
            term: 2,
            client: other_client(),
            seq: 1,
            op: Payload::Op(put("x", "b")),
        },
    ];
    let leader = elect(&s, &follower_with(&s, 2, log));
    assert_eq!(leader.term, 3);
    let leader = deliver(&s, &leader, p1(), appended(3, 2, 0)).state;
    assert_eq!(leader.commit, 0);

    // C's next request (seq 2) is appended in term 3; its commit commits all three.
    let leader = deliver(&s, &leader, client(), request(2, put("x", "c"))).state;
    let step = deliver(&s, &leader, p1(), appended(3, 3, 0));
    assert_eq!(step.state.commit, 3);
    assert_eq!(step.state.replica.applied, 3);
    assert_eq!(
        step.state.replica.sm.read(&get("x")),
        Some(KvRet::GetOk {
            value: Some("c".into()),
            version: 3
        })
    );
    // Only the entry of term 3 is answered.
    assert_eq!(
        sends(&step.cmds),
        vec![(
            client(),
            Msg::Client(ClientMsg::Reply {
                seq: 2,
                ret: KvRet::PutOk { version: 3 }
            })
        )]
    );

    // D's retry of its term-2 request gets the cached result.
    assert_answered_from_the_session_table(&s, &step.state, other_client(), put("x", "b"), 2);
}

#[test]
fn a_retry_of_a_request_committed_under_the_previous_leader_gets_the_cached_result() {
    let s = server();
    // As a follower of term 1 it learned that C's put(x, a) committed, and applied it.
    let follower = follower_with(&s, 1, vec![]);
    let msg = Msg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![entry(1, 1, put("x", "a"))],
        commit: 1,
        round: 0,
    };
    let step = deliver(&s, &follower, p1(), msg);
    assert_eq!(step.state.replica.applied, 1);
    assert!(to_client(&step.cmds, client()).is_empty());

    // Elected in term 2 (its commit index is kept), it answers C's retry from the session table.
    let leader = elect(&s, &step.state);
    assert_eq!(leader.term, 2);
    assert_retry_answered_from_the_session_table(&s, &leader);
}

#[test]
fn an_acknowledgement_of_a_higher_term_deposes_the_leader() {
    let s = server();
    let leader = fresh_leader(&s);
    let msg = rejected(2, 0, 0);
    let step = deliver(&s, &leader, p1(), msg);
    assert_eq!(step.state.term, 2);
    assert_eq!(step.state.role, Role::Follower { leader: None });
    assert_eq!(saves(&step.cmds)[0].term, 2);
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
}

// ---------------------------------------------------------------------------------------
// 7. Duplicate suppression.
// ---------------------------------------------------------------------------------------

#[test]
fn a_retried_request_already_applied_is_answered_from_the_session_table() {
    let s = server();
    let leader = leader_with_committed_put(&s);
    assert_retry_answered_from_the_session_table(&s, &leader);
}

#[test]
fn a_request_older_than_the_last_applied_is_dropped() {
    let s = server();
    let leader = leader_with_committed_put(&s);
    let leader = deliver(&s, &leader, client(), request(2, put("x", "b"))).state;
    let leader = deliver(&s, &leader, p1(), appended(1, 2, 0)).state;
    assert_eq!(leader.replica.sessions[&client()].0, 2);

    // Seq 1 arrives again, long after: the client has moved on, nobody waits for it.
    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn replica_apply_of_a_duplicate_returns_the_cached_result_without_applying() {
    let mut replica = Replica::<KvStore>::default();
    let e = entry(1, 1, put("x", "a"));
    assert_eq!(replica.apply(&e, true), Some(KvRet::PutOk { version: 1 }));
    let sm_after_first = replica.sm.clone();

    // The same request, appended twice (a retry reached the leader before the commit).
    assert_eq!(replica.apply(&e, true), Some(KvRet::PutOk { version: 1 }));
    assert_eq!(replica.sm, sm_after_first);
    assert_eq!(replica.applied, 2, "the entry is consumed all the same");

    // An older duplicate nobody waits for: no answer, no effect.
    let e2 = entry(1, 2, put("x", "b"));
    assert_eq!(replica.apply(&e2, true), Some(KvRet::PutOk { version: 2 }));
    let sm_after_second = replica.sm.clone();
    assert_eq!(replica.apply(&e, true), None);
    assert_eq!(replica.sm, sm_after_second);
    assert_eq!(
        replica.cached(client(), 2),
        Some(&KvRet::PutOk { version: 2 })
    );
}

#[test]
fn replica_apply_without_dedup_applies_a_duplicate_twice() {
    let mut replica = Replica::<KvStore>::default();
    let e = entry(1, 1, put("x", "a"));
    assert_eq!(replica.apply(&e, false), Some(KvRet::PutOk { version: 1 }));
    assert_eq!(replica.apply(&e, false), Some(KvRet::PutOk { version: 2 }));
}

#[test]
fn a_leader_applying_a_duplicate_entry_answers_with_the_cached_result() {
    let s = server();
    let leader = fresh_leader(&s);
    // The client retried before the first copy committed: two entries for seq 1.
    let leader = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;
    let leader = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;
    assert_eq!(leader.log.last_index(), 2);
    let step = deliver(&s, &leader, p1(), appended(1, 2, 0));
    assert_eq!(step.state.commit, 2);
    assert_eq!(
        step.state.replica.sm.read(&get("x")),
        Some(KvRet::GetOk {
            value: Some("a".into()),
            version: 1
        }),
        "applied once"
    );
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![
            ClientMsg::Reply {
                seq: 1,
                ret: KvRet::PutOk { version: 1 }
            };
            2
        ]
    );
}

#[test]
fn with_no_dedup_a_retried_request_is_appended_and_applied_again() {
    let s = buggy(RaftBug::NoDedup);
    let leader = leader_with_committed_put(&s);

    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));
    assert_eq!(step.state.log.last_index(), 2, "appended again");
    let step = deliver(&s, &step.state, p1(), appended(1, 2, 0));
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: KvRet::PutOk { version: 2 }
        }]
    );
}

// ---------------------------------------------------------------------------------------
// 8. ReadIndex.
// ---------------------------------------------------------------------------------------

#[test]
fn a_read_is_answered_only_after_a_majority_confirms_the_heartbeat_round() {
    let s = server();
    let leader = leader_with_committed_put(&s);

    // The read starts heartbeat round 1 and waits.
    let step = deliver(&s, &leader, client(), request(2, get("x")));
    assert_eq!(
        step.state.log.last_index(),
        1,
        "a read does not go through the log"
    );
    assert!(saves(&step.cmds).is_empty());
    assert!(
        to_client(&step.cmds, client()).is_empty(),
        "not before confirmation"
    );
    assert_eq!(leader_state(&step.state).round, 1);
    assert_eq!(leader_state(&step.state).reads.len(), 1);
    let rounds: Vec<_> = appends(&step.cmds)
        .into_iter()
        .map(|(dst, m)| match m {
            Msg::Append { round, .. } => (dst, round),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(rounds, vec![(p1(), 1), (p2(), 1)]);

    // An acknowledgement of an earlier round does not confirm it.
    let step = deliver(&s, &step.state, p2(), appended(1, 1, 0));
    assert!(to_client(&step.cmds, client()).is_empty());
    assert_eq!(leader_state(&step.state).reads.len(), 1);

    // P1 acknowledges round 1: with the leader, a majority.
    let step = deliver(&s, &step.state, p1(), appended(1, 1, 1));
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 2,
            ret: KvRet::GetOk {
                value: Some("a".into()),
                version: 1
            }
        }]
    );
    assert!(leader_state(&step.state).reads.is_empty());

    // P2's late confirmation answers nothing twice.
    let step = deliver(&s, &step.state, p2(), appended(1, 1, 1));
    assert!(to_client(&step.cmds, client()).is_empty());
}

#[test]
fn a_failed_append_reply_still_confirms_leadership_for_a_read() {
    let s = server();
    let leader = leader_with_committed_put(&s);
    let leader = deliver(&s, &leader, client(), request(2, get("x"))).state;
    let msg = rejected(1, 0, 1);
    let step = deliver(&s, &leader, p2(), msg);
    assert_eq!(to_client(&step.cmds, client()).len(), 1);
}

#[test]
fn a_rejection_for_an_older_term_confirms_no_read_of_a_later_leadership() {
    let s = server();
    // As leader of term 1 we start heartbeat round 1 for a read.
    let leader = leader_with_committed_put(&s);
    let step = deliver(&s, &leader, client(), request(2, get("x")));
    let (_, heartbeat) = appends(&step.cmds).remove(1);
    // P2, already in term 3, rejects it: the answer the term rule gives an older term.
    let p2_in_term_3 = follower_with(&s, 3, entries(&[1]));
    let (_, rejection) = the_only_send(&deliver(&s, &p2_in_term_3, me(), heartbeat).cmds);
    assert!(matches!(
        rejection,
        Msg::Appended {
            term: 3,
            success: false,
            ..
        }
    ));
    // Meanwhile we move to term 2 and win term 3 with P1's vote: round 0 of a new
    // leadership.
    let follower = deliver(&s, &step.state, p1(), request_vote(2, 0, 0)).state;
    let candidate = campaign(&s, &follower);
    let leader = deliver(&s, &candidate, p1(), vote(3, true)).state;
    assert_eq!((leader.term, leader_state(&leader).round), (3, 0));
    // The late rejection acknowledges no round of this leadership: a read of term 3 needs
    // a confirmation sent after it began.
    let step = deliver(&s, &leader, p2(), rejection);
    assert_eq!(s.invariants(&step.state), Ok(()));
    let put = deliver(&s, &step.state, client(), request(3, put("x", "b"))).state;
    let committed = deliver(&s, &put, p1(), appended(3, 2, 0)).state;
    let step = deliver(&s, &committed, client(), request(4, get("x")));
    assert_eq!(leader_state(&step.state).reads.len(), 1, "the read waits");
    assert!(to_client(&step.cmds, client()).is_empty());
}

#[test]
fn with_local_reads_a_leader_answers_a_read_at_once() {
    let s = buggy(RaftBug::LocalReads);
    let leader = leader_with_committed_put(&s);
    let step = deliver(&s, &leader, client(), request(2, get("x")));
    assert!(!step.changed);
    assert!(appends(&step.cmds).is_empty());
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 2,
            ret: KvRet::GetOk {
                value: Some("a".into()),
                version: 1
            }
        }]
    );
}

#[test]
fn a_leader_with_nothing_of_its_term_committed_puts_a_read_in_the_log() {
    let s = server();
    let leader = fresh_leader(&s);

    let step = deliver(&s, &leader, client(), request(1, get("x")));
    assert_eq!(step.state.log, vec![entry(1, 1, get("x"))]);
    assert!(leader_state(&step.state).reads.is_empty());
    assert_eq!(saves(&step.cmds).len(), 1);
    assert_eq!(appends(&step.cmds).len(), 2);
    assert!(to_client(&step.cmds, client()).is_empty());

    // It is answered when it commits.
    let step = deliver(&s, &step.state, p1(), appended(1, 1, 0));
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: KvRet::GetOk {
                value: None,
                version: 0
            }
        }]
    );
}

#[test]
fn a_leader_whose_old_term_entries_are_committed_still_logs_reads() {
    // Commit holds an entry of term 2, but the leader is in term 3: its commit index may
    // lag the real one, so a read must still go through the log.
    let s = server().with_bug(Some(RaftBug::CommitOldTerm));
    let step = leader_with_old_entry_on_p1(&s);
    assert_eq!(step.state.commit, 1);
    let step = deliver(&s, &step.state, client(), request(2, get("x")));
    assert_eq!(step.state.log.last_index(), 2);
    assert!(leader_state(&step.state).reads.is_empty());
}

// ---------------------------------------------------------------------------------------
// 9. Recovery.
// ---------------------------------------------------------------------------------------

#[test]
fn a_restarted_server_recovers_term_vote_and_log_as_a_follower() {
    let s = server();
    let storage = RaftStorage {
        term: 7,
        voted_for: Some(p2()),
        log: entries(&[1, 3, 7]).into(),
        snapshot: Bytes::new(),
    };
    let (state, cmds) = start(&s, Some(storage));
    assert_eq!(state.term, 7);
    assert_eq!(state.voted_for, Some(p2()));
    assert_eq!(state.log, entries(&[1, 3, 7]));
    assert_eq!(state.role, Role::Follower { leader: None });
    assert_eq!(state.commit, 0, "the commit index is relearned");
    assert_eq!(state.replica, fresh_replica());
    assert!(sets_timer(&cmds, RaftTimer::Election));

    // The recovered vote holds: P1 cannot get a second vote in term 7 (silently refused).
    let step = deliver(&s, &state, p1(), request_vote(7, 3, 7));
    assert!(!step.changed);
    assert_eq!(step.state.voted_for, Some(p2()));
    assert!(step.cmds.is_empty());
    // P2, which has it, is granted it again, with nothing new to save.
    let step = deliver(&s, &state, p2(), request_vote(7, 3, 7));
    assert_eq!(the_only_send(&step.cmds), (p2(), vote(7, true)));
    assert!(saves(&step.cmds).is_empty());
}

#[test]
fn with_forget_vote_the_vote_never_reaches_storage() {
    let s = buggy(RaftBug::ForgetVote);
    let follower = follower_with(&s, 1, vec![]);

    // It votes for P1 in term 1, but what it saves has no vote...
    let step = deliver(&s, &follower, p1(), request_vote(1, 0, 0));
    assert_eq!(step.state.voted_for, Some(p1()));
    assert_eq!(
        saves(&step.cmds),
        vec![RaftStorage {
            term: 1,
            voted_for: None,
            log: Log::default(),
            snapshot: Bytes::new(),
        }]
    );

    // ...so after a crash it votes for P2 in the same term too.
    let (restarted, _) = start(&s, saves(&step.cmds).pop());
    let step = deliver(&s, &restarted, p2(), request_vote(1, 0, 0));
    assert_eq!(the_only_send(&step.cmds), (p2(), vote(1, true)));

    // Its own campaigns lose the vote for itself as well.
    let step = fire(&s, &follower, RaftTimer::Election);
    assert_eq!(saves(&step.cmds)[0].voted_for, None);
}

// ---------------------------------------------------------------------------------------
// 10. The acceptance rules that `ignores_forever` reads.
// ---------------------------------------------------------------------------------------

/// A follower, a candidate and a leader of term 2, and a follower of term 2 with a vote.
fn servers_of_term_2(s: &Server) -> Vec<State> {
    let follower = follower_with(s, 2, entries(&[1]));
    let voted = deliver(s, &follower, p2(), request_vote(2, 1, 1)).state;
    let candidate = campaign(s, &follower_with(s, 1, entries(&[1])));
    let leader = elect(s, &follower_with(s, 1, entries(&[1])));
    vec![follower, voted, candidate, leader]
}

/// Every message between servers of terms 1 to 3, from P1.
fn peer_messages() -> Vec<M> {
    let mut msgs = Vec::new();
    for term in 1..=3 {
        msgs.extend([
            request_vote(term, 1, 1),
            vote(term, true),
            vote(term, false),
            append(term, 1, 1, vec![]),
            appended(term, 1, 0),
            rejected(term, 1, 0),
        ]);
    }
    msgs
}

#[test]
fn a_message_declared_ignored_forever_changes_nothing_when_delivered() {
    let s = server();
    let mut ignored = 0;
    for state in servers_of_term_2(&s) {
        for msg in peer_messages() {
            if state.ignores_forever(p1(), &msg) {
                ignored += 1;
                let step = deliver(&s, &state, p1(), msg.clone());
                assert!(
                    !step.changed && step.cmds.is_empty(),
                    "{msg:?} to {state:?}"
                );
            }
        }
    }
    assert!(ignored > 10, "the rules declare some messages ignored");
}

#[test]
fn only_replies_of_an_older_term_are_ignored_requests_are_answered() {
    let s = server();
    let follower = follower_with(&s, 2, vec![]);
    for msg in peer_messages().into_iter().filter(|m| m.term() == Some(1)) {
        let is_request = matches!(msg, Msg::RequestVote { .. } | Msg::Append { .. });
        assert_eq!(follower.ignores_forever(p1(), &msg), !is_request, "{msg:?}");
        let step = deliver(&s, &follower, p1(), msg);
        assert!(!step.changed);
        assert_eq!(sends(&step.cmds).len(), usize::from(is_request));
    }
}

#[test]
fn a_vote_the_candidate_would_count_is_kept_and_counted_once() {
    let s = server();
    let candidate = campaign(&s, &follower_with(&s, 1, vec![]));
    assert!(!candidate.ignores_forever(p1(), &vote(2, true)));
    let leader = deliver(&s, &candidate, p1(), vote(2, true)).state;
    assert!(leader.is_leader());
    assert!(
        leader.ignores_forever(p1(), &vote(2, true)),
        "counted already"
    );
    assert!(
        candidate.ignores_forever(p1(), &vote(2, false)),
        "a refusal"
    );
    assert!(
        !candidate.ignores_forever(p1(), &vote(3, false)),
        "a newer term"
    );
}

// ---------------------------------------------------------------------------------------
// 11. Invariants: each one catches a state (or a step) that breaks it.
// ---------------------------------------------------------------------------------------

/// The invariant `state` breaks for server `s`.
fn broken_in(s: &Server, state: &State) -> &'static str {
    s.invariants(state).unwrap_err().invariant
}

/// The invariant the step from `before` to `after` breaks for server `s`.
fn broken_by(s: &Server, before: &State, after: &State) -> &'static str {
    s.step_invariants(before, after).unwrap_err().invariant
}

/// `state` with its leader state changed by `change`.
fn leading(state: &State, change: impl FnOnce(&mut LeaderState<KvOp>)) -> State {
    let mut state = state.clone();
    let Role::Leader(leader) = &mut state.role else {
        panic!("not a leader");
    };
    change(leader);
    state
}

#[test]
fn the_states_of_these_stories_keep_every_invariant() {
    let s = server();
    let states = [
        start(&s, None).0,
        follower_with(&s, 3, entries(&[1, 2, 2])),
        campaign(&s, &follower_with(&s, 1, vec![])),
        fresh_leader(&s),
        leader_with_committed_put(&s),
    ];
    for state in &states {
        assert_eq!(s.invariants(state), Ok(()), "{state:?}");
    }
}

#[test]
fn a_commit_index_past_the_log_is_caught() {
    let s = server();
    let state = State {
        commit: 4,
        ..follower_with(&s, 2, entries(&[1, 2]))
    };
    assert_eq!(broken_in(&s, &state), "the commit index is within the log");
}

#[test]
fn an_applied_index_past_the_commit_index_is_caught() {
    let s = server();
    let mut state = follower_with(&s, 2, entries(&[1, 2]));
    state.replica.applied = 1;
    let found = broken_in(&s, &state);
    assert_eq!(found, "the applied index is not past the commit index");
}

#[test]
fn an_entry_of_a_later_term_is_caught() {
    let s = server();
    let state = State {
        term: 1,
        ..follower_with(&s, 2, entries(&[1, 2]))
    };
    let found = broken_in(&s, &state);
    assert_eq!(found, "no entry is of a later term than the server's");
}

#[test]
fn a_vote_in_term_0_is_caught() {
    let s = server();
    let state = State {
        voted_for: Some(p1()),
        ..start(&s, None).0
    };
    assert_eq!(broken_in(&s, &state), "the vote is in step with the term");
}

#[test]
fn a_candidate_that_voted_for_another_is_caught() {
    let s = server();
    let candidate = campaign(&s, &follower_with(&s, 1, vec![]));
    let state = State {
        voted_for: Some(p1()),
        ..candidate
    };
    let found = broken_in(&s, &state);
    assert_eq!(found, "a candidate or a leader voted for itself");
}

#[test]
fn a_candidate_counting_a_stranger_is_caught() {
    let s = server();
    let mut state = campaign(&s, &follower_with(&s, 1, vec![]));
    if let Role::Candidate { votes } = &mut state.role {
        votes.insert(client());
    }
    let found = broken_in(&s, &state);
    assert_eq!(found, "a candidate counts its own vote and its peers' only");
}

#[test]
fn a_leader_that_forgot_a_peer_is_caught() {
    let s = server();
    let state = leading(&fresh_leader(&s), |l| {
        l.next.remove(&p2());
    });
    assert_eq!(
        broken_in(&s, &state),
        "a leader tracks every peer of its configuration, and only those"
    );
}

#[test]
fn a_next_index_of_0_is_caught() {
    let s = server();
    let state = leading(&fresh_leader(&s), |l| {
        l.next.insert(p1(), 0);
    });
    assert_eq!(broken_in(&s, &state), "a next index is at least 1");
}

#[test]
fn a_match_index_not_below_the_next_index_is_caught() {
    let s = server();
    let leader = leader_with_committed_put(&s);
    let state = leading(&leader, |l| {
        l.matched.insert(p1(), 2);
    });
    let found = broken_in(&s, &state);
    assert_eq!(found, "a match index is below the next index");
}

#[test]
fn a_next_index_past_the_log_is_caught() {
    let s = server();
    let state = leading(&fresh_leader(&s), |l| {
        l.next.insert(p1(), 3);
    });
    let found = broken_in(&s, &state);
    assert_eq!(found, "a next index is at most just past the log");
}

#[test]
fn an_acknowledged_round_the_leader_never_started_is_caught() {
    let s = server();
    let state = leading(&fresh_leader(&s), |l| {
        l.acked.insert(p1(), 3);
    });
    let found = broken_in(&s, &state);
    assert_eq!(found, "a peer acknowledged only rounds the leader started");
}

#[test]
fn a_read_waiting_for_an_uncommitted_index_is_caught() {
    let s = server();
    let state = leading(&fresh_leader(&s), |l| {
        l.round = 1;
        l.reads.push(PendingRead {
            round: 1,
            index: 1,
            client: client(),
            seq: 1,
            op: get("x"),
        });
    });
    let found = broken_in(&s, &state);
    assert_eq!(
        found,
        "a pending read waits for a committed index in a started round"
    );
}

#[test]
fn the_steps_of_these_stories_keep_every_rule() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let candidate = campaign(&s, &follower);
    let leader = elect(&s, &follower);
    let committed = leader_with_committed_put(&s);
    for (before, after) in [(&follower, &candidate), (&candidate, &leader)] {
        assert_eq!(s.step_invariants(before, after), Ok(()));
    }
    let leader = fresh_leader(&s);
    let with_put = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;
    assert_eq!(s.step_invariants(&with_put, &committed), Ok(()));
}

#[test]
fn a_term_going_down_is_caught() {
    let s = server();
    let before = follower_with(&s, 3, vec![]);
    let after = follower_with(&s, 2, vec![]);
    assert_eq!(broken_by(&s, &before, &after), "the term never goes down");
}

#[test]
fn a_second_vote_in_a_term_is_caught() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let voted = deliver(&s, &follower, p1(), request_vote(1, 0, 0)).state;
    let revoted = State {
        voted_for: Some(p2()),
        ..voted.clone()
    };
    assert_eq!(broken_by(&s, &voted, &revoted), "one vote per term");
}

#[test]
fn a_commit_index_going_down_is_caught() {
    let s = server();
    let committed = leader_with_committed_put(&s);
    let mut after = committed.clone();
    after.commit = 0;
    after.replica = Replica::default();
    let found = broken_by(&s, &committed, &after);
    assert_eq!(found, "the commit index never goes down");
}

#[test]
fn an_overwritten_committed_entry_is_caught_unless_the_figure_8_bug_is_on() {
    let s = server();
    let before = State {
        commit: 1,
        ..follower_with(&s, 2, entries(&[1]))
    };
    let after = State {
        commit: 1,
        ..follower_with(&s, 2, entries(&[2]))
    };
    let found = broken_by(&s, &before, &after);
    assert_eq!(found, "committed entries are never overwritten");
    let figure_8 = buggy(RaftBug::CommitOldTerm);
    assert_ne!(
        figure_8
            .step_invariants(&before, &after)
            .err()
            .map(|b| b.invariant),
        Some(found)
    );
}

#[test]
fn a_log_whose_terms_go_down_is_caught() {
    let s = server();
    let before = follower_with(&s, 3, entries(&[1, 3]));
    let after = follower_with(&s, 3, entries(&[1, 3, 2]));
    let found = broken_by(&s, &before, &after);
    assert_eq!(found, "log terms never go down along the log");
}

#[test]
fn an_applied_index_going_down_is_caught() {
    let s = server();
    let committed = leader_with_committed_put(&s);
    let mut after = committed.clone();
    after.replica.applied = 0;
    let found = broken_by(&s, &committed, &after);
    assert_eq!(found, "the applied index never goes down");
}

#[test]
fn a_replica_changed_other_than_by_applying_is_caught() {
    let s = server();
    let leader = fresh_leader(&s);
    let with_put = deliver(&s, &leader, client(), request(1, put("x", "a"))).state;
    let mut committed = leader_with_committed_put(&s);
    committed.replica.sm.apply(&put("y", "b"));
    let found = broken_by(&s, &with_put, &committed);
    assert_eq!(
        found,
        "the replica is the committed entries applied in order, or an installed snapshot"
    );
}

#[test]
#[should_panic(expected = "invariant broken: the commit index is within the log")]
fn a_broken_invariant_panics_naming_it_and_the_state() {
    let s = server();
    let state = State {
        commit: 9,
        ..start(&s, None).0
    };
    crate::invariants::assert_kept(&s, None, &state);
}

mod membership;
mod pipeline;
mod prevote;
mod snapshot;
