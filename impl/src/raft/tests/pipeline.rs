//! Pipelined replication, one story of messages per test. `pl()` is a server of the
//! three-server cluster with `pipeline` on.

use super::*;

fn pl() -> Server {
    server().with_pipeline(true)
}

/// A leader of term 1 that has sent its peers C's `put(x, a)` (entry 1) and then D's
/// `put(y, b)` (entry 2), neither acknowledged.
fn two_in_flight(s: &Server) -> (State, Vec<Cmd>) {
    let leader = fresh_leader(s);
    let first = deliver(s, &leader, client(), request(1, put("x", "a"))).state;
    let step = deliver(s, &first, other_client(), request(1, put("y", "b")));
    (step.state, step.cmds)
}

#[test]
fn a_second_entry_goes_alone_after_the_first_unacknowledged_one() {
    let (state, cmds) = two_in_flight(&pl());
    let second = |peer| {
        let entries = vec![entry(1, 1, put("y", "b"))];
        let entries = entries.into_iter().map(|e| Entry {
            client: other_client(),
            ..e
        });
        (peer, append(1, 1, 1, entries.collect()))
    };
    assert_eq!(appends(&cmds), vec![second(p1()), second(p2())]);
    let leader = leader_state(&state);
    assert_eq!((leader.next[&p1()], leader.matched[&p1()]), (3, 0));
}

#[test]
fn without_pipelining_the_second_append_carries_both_entries() {
    let (_, cmds) = two_in_flight(&server());
    for (_, m) in appends(&cmds) {
        let Msg::Append {
            prev_index,
            entries,
            ..
        } = m
        else {
            unreachable!()
        };
        assert_eq!((prev_index, entries.len()), (0, 2));
    }
}

#[test]
fn an_old_acknowledgement_moves_the_match_but_not_next_back() {
    let s = pl();
    let (state, _) = two_in_flight(&s);
    let step = deliver(&s, &state, p1(), appended(1, 1, 0));
    let leader = leader_state(&step.state);
    assert_eq!((leader.next[&p1()], leader.matched[&p1()]), (3, 1));
    assert_eq!(step.state.commit, 1, "entry 1 is on a majority");
    assert!(
        appends(&step.cmds).is_empty(),
        "entry 2 is on its way already"
    );
}

#[test]
fn a_rejection_moves_next_back_to_the_hint_and_sends_from_there() {
    let s = pl();
    let (state, _) = two_in_flight(&s);
    // P1 got entry 2 before entry 1: its log is empty, so it asks for entry 1.
    let step = deliver(&s, &state, p1(), rejected(1, 1, 0));
    let (peer, m) = the_only_send(&step.cmds);
    let Msg::Append {
        prev_index,
        entries,
        ..
    } = m
    else {
        panic!("not an Append: {m:?}")
    };
    assert_eq!((peer, prev_index, entries.len()), (p1(), 0, 2));
    assert_eq!(leader_state(&step.state).next[&p1()], 3);
}

#[test]
fn counting_what_was_sent_as_stored_commits_at_once() {
    let s = buggy(RaftBug::PipelineCountsSent).with_pipeline(true);
    let leader = fresh_leader(&s);
    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));
    assert_eq!(step.state.commit, 1, "committed with no acknowledgement");
}

#[test]
fn a_commit_notice_starts_after_what_each_follower_acknowledged() {
    let s = pl().with_commit_notice(true);
    let (state, _) = two_in_flight(&s);
    let step = deliver(&s, &state, p1(), appended(1, 1, 0));
    assert_eq!(step.state.commit, 1);
    // Not at `next` (3): entry 2 is still on its way to both.
    assert_eq!(
        appends(&step.cmds),
        vec![(p1(), heartbeat(1, 1, 1, 1)), (p2(), heartbeat(1, 0, 0, 1))]
    );
}

#[test]
fn a_follower_that_acknowledges_after_the_commit_is_told_again() {
    let s = pl().with_commit_notice(true);
    let (state, _) = two_in_flight(&s);
    let committed = deliver(&s, &state, p2(), appended(1, 1, 0)).state;
    assert_eq!(committed.commit, 1);
    // P1 was told commit 1 from index 0 (its match then), so it commits nothing; its own
    // acknowledgement of entry 1 comes after, and it is told again, from there.
    let step = deliver(&s, &committed, p1(), appended(1, 1, 0));
    assert_eq!(appends(&step.cmds), vec![(p1(), heartbeat(1, 1, 1, 1))]);
    // An acknowledgement that brings nothing new to tell brings no notice.
    let again = deliver(&s, &step.state, p1(), appended(1, 2, 0));
    assert_eq!(again.state.commit, 2, "entry 2 on P1 and the leader");
    let to_p1 = appends(&again.cmds)
        .into_iter()
        .filter(|(p, _)| *p == p1())
        .count();
    assert_eq!(to_p1, 1, "one notice, from the commit");
}
