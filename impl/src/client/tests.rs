//! The client actor, one story of messages per test: `on_start`, `on_msg` and `on_timeout`
//! are called directly, and each step is checked on the state it leaves and the commands it
//! emits. The client speaks Raft's wire type, as in the models.

use super::*;
use crate::raft::Msg;
use crate::test_util::{self, run, sends};
use coord_specs::kv::{KvOp, KvRet};
use stateright::actor::Command;

type M = Msg<KvOp, KvRet>;
type KvClient = Client<KvOp, KvRet, M>;
type Cmd = test_util::Cmd<KvClient>;

fn server(n: usize) -> Id {
    Id::from(n)
}

/// The client itself; servers are 0, 1, 2.
fn me() -> Id {
    Id::from(7)
}

fn put(value: &str) -> KvOp {
    KvOp::Put {
        key: "x".into(),
        value: value.into(),
        expected: None,
    }
}

fn get() -> KvOp {
    KvOp::Get { key: "x".into() }
}

/// A client of servers 0, 1, 2 that tries `first` first and runs put(a), get, put(b).
fn client(first: usize) -> KvClient {
    KvClient::new(
        vec![server(0), server(1), server(2)],
        first,
        vec![put("a"), get(), put("b")],
        Duration::from_millis(100)..Duration::from_millis(200),
    )
}

fn reply(seq: u64) -> M {
    Msg::Client(ClientMsg::Reply {
        seq,
        ret: KvRet::PutOk { version: 1 },
    })
}

fn redirect(seq: u64, leader: Option<usize>) -> M {
    Msg::Client(ClientMsg::Redirect {
        seq,
        leader: leader.map(server),
    })
}

fn request(seq: u64, op: KvOp) -> M {
    Msg::Client(ClientMsg::Request { seq, op })
}

type Step = test_util::Step<KvClient>;

fn start(c: &KvClient) -> (ClientState, Vec<Cmd>) {
    let mut out = Out::new();
    let state = c.on_start(me(), &None, &mut out);
    (state, out.into_iter().collect())
}

fn deliver(c: &KvClient, state: &ClientState, src: Id, msg: M) -> Step {
    run(state, |cow, o| c.on_msg(me(), cow, src, msg, o))
}

fn retry(c: &KvClient, state: &ClientState) -> Step {
    run(state, |cow, o| {
        c.on_timeout(me(), cow, &ClientTimer::Retry, o)
    })
}

/// The retry timer fires and the random choice falls on `at`.
fn retry_at(c: &KvClient, state: &ClientState, at: usize) -> Step {
    let timeout = retry(c, state);
    assert!(
        choices(&timeout.cmds).is_some_and(|servers| servers.contains(&server(at))),
        "server {at} is among the retry's choices"
    );
    run(&timeout.state, |cow, o| {
        c.on_random(me(), cow, &server(at), o)
    })
}

/// The servers a retry may go to, if the step asked for that choice.
fn choices(cmds: &[Cmd]) -> Option<Vec<Id>> {
    cmds.iter().rev().find_map(|c| match c {
        Command::ChooseRandom(key, servers) if key == RETRY_AT => Some(servers.clone()),
        _ => None,
    })
}

/// Whether the step dropped any retry still being chosen.
fn drops_pending_retry(cmds: &[Cmd]) -> bool {
    choices(cmds).is_some_and(|servers| servers.is_empty())
}

fn arms_retry(cmds: &[Cmd]) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::SetTimer(ClientTimer::Retry, _)))
}

fn cancels_retry(cmds: &[Cmd]) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::CancelTimer(ClientTimer::Retry)))
}

#[test]
fn on_start_the_first_request_goes_to_the_first_server_with_a_retry_timer() {
    let c = client(1);
    let (state, cmds) = start(&c);
    assert_eq!(
        state,
        ClientState {
            next: 0,
            target: server(1),
            resends: 0
        }
    );
    assert_eq!(sends(&cmds), vec![(server(1), request(1, put("a")))]);
    assert!(arms_retry(&cmds));
}

#[test]
fn first_is_taken_modulo_the_number_of_servers() {
    let (state, cmds) = start(&client(4));
    assert_eq!(state.target, server(1));
    assert_eq!(sends(&cmds)[0].0, server(1));
}

#[test]
fn a_client_with_an_empty_script_sends_nothing() {
    let c = KvClient::new(vec![server(0)], 0, vec![], Duration::ZERO..Duration::ZERO);
    let (_, cmds) = start(&c);
    assert!(cmds.is_empty());
    let step = retry(&c, &start(&c).0);
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_reply_to_the_current_request_moves_on_to_the_next_one() {
    let c = client(0);
    let (state, _) = start(&c);
    let step = deliver(&c, &state, server(0), reply(1));
    assert_eq!(
        step.state,
        ClientState {
            next: 1,
            target: server(0),
            resends: 0
        }
    );
    assert_eq!(sends(&step.cmds), vec![(server(0), request(2, get()))]);
    assert!(arms_retry(&step.cmds));
}

#[test]
fn the_server_that_replied_becomes_the_target() {
    let c = client(0);
    let (state, _) = start(&c);
    // Sent to 0, retried at 1, but 2 answers (say, after a redirect by 1 whose reply got lost).
    let state = retry_at(&c, &state, 1).state;
    let step = deliver(&c, &state, server(2), reply(1));
    assert_eq!(step.state.target, server(2));
    assert_eq!(
        step.state.resends, 1,
        "resends count over the client's life"
    );
    assert_eq!(sends(&step.cmds), vec![(server(2), request(2, get()))]);
}

#[test]
fn a_reply_for_a_stale_seq_is_ignored() {
    let c = client(0);
    let (state, _) = start(&c);
    let state = deliver(&c, &state, server(0), reply(1)).state;

    // A duplicate of the reply to seq 1 (e.g. to a retry) arrives while seq 2 is in flight.
    let step = deliver(&c, &state, server(1), reply(1));
    assert!(!step.changed, "the state stays Cow::Borrowed");
    assert!(step.cmds.is_empty());
    // So does a reply for a request not yet sent.
    let step = deliver(&c, &state, server(0), reply(3));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn the_last_reply_finishes_the_script_and_cancels_the_retry_timer() {
    let c = client(0);
    let (mut state, _) = start(&c);
    for seq in 1..=3 {
        state = deliver(&c, &state, server(0), reply(seq)).state;
    }
    assert_eq!(state.next, 3);

    let (state, _) = start(&c);
    let state = deliver(&c, &state, server(0), reply(1)).state;
    let state = deliver(&c, &state, server(0), reply(2)).state;
    let step = deliver(&c, &state, server(0), reply(3));
    assert_eq!(step.state.next, 3);
    assert!(sends(&step.cmds).is_empty());
    assert!(cancels_retry(&step.cmds));

    // Done: a late reply and the retry timer change nothing.
    let late = deliver(&c, &step.state, server(1), reply(3));
    assert!(!late.changed);
    assert!(late.cmds.is_empty());
    let timeout = retry(&c, &step.state);
    assert!(!timeout.changed);
    assert!(timeout.cmds.is_empty());
}

#[test]
fn a_redirect_to_a_known_leader_resends_there() {
    let c = client(0);
    let (state, _) = start(&c);
    let step = deliver(&c, &state, server(0), redirect(1, Some(2)));
    assert_eq!(
        step.state,
        ClientState {
            next: 0,
            target: server(2),
            resends: 1
        }
    );
    assert_eq!(sends(&step.cmds), vec![(server(2), request(1, put("a")))]);
    assert!(arms_retry(&step.cmds));
}

#[test]
fn a_redirect_without_a_leader_waits_for_the_retry_timer() {
    let c = client(0);
    let (state, _) = start(&c);
    let step = deliver(&c, &state, server(0), redirect(1, None));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_redirect_to_the_current_target_or_outside_the_cluster_is_ignored() {
    let c = client(0);
    let (state, _) = start(&c);
    let state = retry_at(&c, &state, 1).state; // now waiting on server 1
                                               // Server 0's late redirect names server 1, where the request already is.
    let step = deliver(&c, &state, server(0), redirect(1, Some(1)));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
    // A leader the client does not know.
    let step = deliver(&c, &state, server(0), redirect(1, Some(9)));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_redirect_for_a_stale_seq_is_ignored() {
    let c = client(0);
    let (state, _) = start(&c);
    let state = deliver(&c, &state, server(0), reply(1)).state;
    let step = deliver(&c, &state, server(1), redirect(1, Some(2)));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_retry_timeout_counts_a_resend_and_offers_every_other_server() {
    let c = client(1);
    let (state, _) = start(&c);
    let step = retry(&c, &state);
    assert_eq!(step.state.target, server(1));
    assert_eq!(
        step.state.resends, 1,
        "the resend counts when the timer fires"
    );
    assert!(sends(&step.cmds).is_empty());
    assert_eq!(choices(&step.cmds), Some(vec![server(0), server(2)]));
}

#[test]
fn the_chosen_server_gets_the_same_seq_with_a_fresh_timer() {
    let c = client(1);
    let (state, _) = start(&c);
    let step = retry_at(&c, &state, 2);
    assert_eq!(
        step.state,
        ClientState {
            next: 0,
            target: server(2),
            resends: 1
        }
    );
    assert_eq!(sends(&step.cmds), vec![(server(2), request(1, put("a")))]);
    assert!(arms_retry(&step.cmds));

    // Another timeout may go back to the first server.
    let step = retry_at(&c, &step.state, 1);
    assert_eq!(step.state.target, server(1));
    assert_eq!(step.state.resends, 2);
    assert_eq!(sends(&step.cmds), vec![(server(1), request(1, put("a")))]);
}

#[test]
fn a_client_of_one_server_retries_there() {
    let c = KvClient::new(
        vec![server(0)],
        0,
        vec![get()],
        Duration::ZERO..Duration::ZERO,
    );
    let (state, _) = start(&c);
    let step = retry(&c, &state);
    assert_eq!(choices(&step.cmds), Some(vec![server(0)]));
}

#[test]
fn a_reply_or_redirect_drops_a_retry_still_being_chosen() {
    let c = client(0);
    let (state, _) = start(&c);
    // The timer fired (a choice is pending) when the reply arrives.
    let step = deliver(&c, &state, server(0), reply(1));
    assert!(drops_pending_retry(&step.cmds));
    let step = deliver(&c, &state, server(0), redirect(1, Some(2)));
    assert!(drops_pending_retry(&step.cmds));
    // The last reply too.
    let state = deliver(&c, &state, server(0), reply(1)).state;
    let state = deliver(&c, &state, server(0), reply(2)).state;
    let step = deliver(&c, &state, server(0), reply(3));
    assert!(drops_pending_retry(&step.cmds));
}

#[test]
fn a_choice_landing_after_the_script_is_done_changes_nothing() {
    let c = client(0);
    let (mut state, _) = start(&c);
    for seq in 1..=3 {
        state = deliver(&c, &state, server(0), reply(seq)).state;
    }
    let step = run(&state, |cow, o| c.on_random(me(), cow, &server(1), o));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn retries_saturate_the_resend_count() {
    let c = client(0);
    let state = ClientState {
        next: 0,
        target: server(0),
        resends: u8::MAX,
    };
    let step = retry_at(&c, &state, 1);
    assert_eq!(step.state.resends, u8::MAX);
}

#[test]
fn redirects_saturate_the_resend_count() {
    let c = client(0);
    let state = ClientState {
        next: 0,
        target: server(0),
        resends: u8::MAX,
    };
    let step = deliver(&c, &state, server(0), redirect(1, Some(1)));
    assert_eq!(step.state.target, server(1));
    assert_eq!(step.state.resends, u8::MAX);
}

#[test]
fn non_client_messages_are_ignored() {
    let c = client(0);
    let (state, _) = start(&c);
    let msg = Msg::Vote {
        term: 1,
        granted: true,
    };
    let step = deliver(&c, &state, server(0), msg);
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}
