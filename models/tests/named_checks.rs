//! Every named check, run at its reduced size: each verdict must be the expected one, and
//! each deliberate bug must come with a counterexample.
//!
//! The explored space is pinned: each check's number of unique states and the length of
//! each counterexample it finds (one per property expected violated, in the check's
//! order). With one thread the search is deterministic, so the numbers are exact (with
//! more threads, which of a class of renamed states is met first varies, and so do the
//! counts). For an exhaustive check the number is its whole state space; for a hunt that
//! stops at its counterexample, the states explored until then. A change that alters
//! either shows here: explain it in its commit, and update the pin.

use coord::bug::NamedBug;
use coord::chain::{ChainBug, ManagerBug};
use coord::raft::RaftBug;
use coord::znode::ZkBug;
use coord_models::{checks, Bounds, RunOptions, Verdict};

/// Runs the check `name` at its quick size, single-threaded, and asserts every verdict
/// and the pinned numbers: `states` unique states and, for the properties violated, in
/// order, counterexamples of `counterexamples` steps.
fn run_quick(name: &str, states: usize, counterexamples: &[usize]) {
    let check = checks()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check named {name}"));
    let model = check.model(&Bounds::default().or(&check.quick)).unwrap();
    let opts = RunOptions {
        threads: 1,
        ..RunOptions::default()
    };
    let report = model.run(check.name, &check.expect, check.search, &opts, &mut |_| {});
    let mut lengths = Vec::new();
    for p in &report.properties {
        assert_eq!(
            p.actual, p.expected,
            "{name}: property {:?} is {} (expected {})",
            p.name, p.actual, p.expected
        );
        if p.actual == Verdict::Violated && p.expectation == "always" {
            let trace = p
                .trace
                .as_ref()
                .expect("a violation comes with a counterexample");
            assert!(!trace.is_empty(), "{name}: empty counterexample");
            lengths.push(trace.len());
        }
    }
    assert!(report.as_expected);
    assert!(report.unique_states > 1, "{name}: explored nothing");
    let pinned = (states, counterexamples.to_vec());
    assert_eq!(
        (report.unique_states, lengths),
        pinned,
        "{name}: (unique states, counterexample lengths) changed from the pinned ones; \
         explain why in the commit that changes them, and pin the new numbers"
    );
}

/// One test per check, so that a failure names its check, with its pinned numbers.
macro_rules! named_checks {
    ($($(#[$attr:meta])* $test:ident => $name:literal, $states:literal states
        $(with counterexamples [$($steps:literal),+])?,)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                run_quick($name, $states, &[$($($steps),+)?]);
            }
        )*

        #[test]
        fn every_registered_check_has_a_test() {
            let tested = [$($name),*];
            for check in checks() {
                assert!(tested.contains(&check.name), "check {} has no test here", check.name);
            }
        }
    };
}

named_checks! {
    raft => "raft", 48_010 states,
    raft_retry => "raft-retry", 72_117 states,
    raft_dup => "raft-dup", 159_289 states,
    raft_prevote => "raft-prevote", 15_263 states,
    raft_no_prevote => "raft-no-prevote", 622 states with counterexamples [5],
    raft_snapshot => "raft-snapshot", 30_673 states,
    raft_bug_snapshot_drops_sessions => "raft-bug-snapshot-drops-sessions", 105_264 states with counterexamples [24],
    raft_bug_forgotten_vote => "raft-bug-forgotten-vote", 9_023 states with counterexamples [7],
    raft_bug_old_term_commit => "raft-bug-old-term-commit", 19_822 states with counterexamples [27],
    raft_bug_no_dedup => "raft-bug-no-dedup", 65_184 states with counterexamples [21],
    raft_bug_stale_read => "raft-bug-stale-read", 67_535 states with counterexamples [24],
    raft_pipeline => "raft-pipeline", 1_220_106 states,
    raft_bug_pipeline_counts_sent => "raft-bug-pipeline-counts-sent", 39_406 states with counterexamples [8],
    raft_membership => "raft-membership", 8_536 states,
    raft_membership_crash => "raft-membership-crash", 38_012 states,
    raft_membership_prevote => "raft-membership-prevote", 20_049 states,
    raft_bug_change_before_commit => "raft-bug-change-before-commit", 806_645 states with counterexamples [22],
    chain => "chain", 17_473 states,
    craq => "craq", 11_000 states,
    craq_eventual => "craq-eventual", 8_018 states with counterexamples [16],
    chain_rejoin => "chain-rejoin", 16_050 states,
    chain_lossy => "chain-lossy", 708 states,
    chain_lossy_failover => "chain-lossy-failover", 209_888 states,
    chain_managers => "chain-managers", 200_957 states,
    chain_bug_publish_own_state => "chain-bug-publish-own-state", 8_726 states with counterexamples [9],
    chain_power_loss => "chain-power-loss", 135_012 states,
    chain_bug_restart_empty => "chain-bug-restart-empty", 2_467 states with counterexamples [10, 10],
    chain_bug_no_position => "chain-bug-no-position", 92 states with counterexamples [13],
    chain_bug_keep_stale => "chain-bug-keep-stale", 11_250 states with counterexamples [22],
    chain_bug_old_epoch => "chain-bug-old-epoch", 91 states with counterexamples [24],
    chain_bug_no_resend => "chain-bug-no-resend", 680 states with counterexamples [13],
    chain_bug_early_reply => "chain-bug-early-reply", 9_728 states with counterexamples [6, 6],
    znode_counter => "znode-counter", 13_384 states,
    znode_stale_read => "znode-stale-read", 2_997 states with counterexamples [24],
    znode_sync_read => "znode-sync-read", 6_320 states,
    znode_sync_failover => "znode-sync-failover", 920_195 states,
    znode_bug_sync_unconfirmed => "znode-bug-sync-unconfirmed", 52_341 states with counterexamples [30],
    znode_ephemeral => "znode-ephemeral", 9_634 states,
    znode_watch => "znode-watch", 4_263 states,
    znode_failover_ephemeral => "znode-failover-ephemeral", 24_033 states,
    znode_moving_read => "znode-moving-read", 35_590 states,
    znode_bug_reads_go_back => "znode-bug-reads-go-back", 25_142 states with counterexamples [24],
    znode_bug_forget_sessions_on_failover => "znode-bug-forget-sessions-on-failover", 2_450 states with counterexamples [23],
    znode_bug_ignore_version => "znode-bug-ignore-version", 86 states with counterexamples [36],
    znode_bug_keep_ephemerals => "znode-bug-keep-ephemerals", 44 states with counterexamples [16],
    znode_watch_modes => "znode-watch-modes", 1_528 states,
    znode_watch_replay => "znode-watch-replay", 44_052 states,
    znode_pipeline => "znode-pipeline", 3_232 states,
    znode_acl => "znode-acl", 28_115 states,
    znode_bug_replay_skips_changes => "znode-bug-replay-skips-changes", 37_195 states with counterexamples [26],
    znode_bug_read_overtakes_write => "znode-bug-read-overtakes-write", 31 states with counterexamples [9],
    znode_bug_early_watch => "znode-bug-early-watch", 3_075 states with counterexamples [5],
    znode_bug_acl_checked_on_arrival => "znode-bug-acl-checked-on-arrival", 92 states with counterexamples [40],
    lock_scalable => "lock-scalable", 25_218 states,
    lock_basic => "lock-basic", 21_413 states with counterexamples [19],
    lock_no_fencing => "lock-no-fencing", 2_375 states with counterexamples [30],
    election => "election", 5_714 states,
    lock_bug_watch_lowest => "lock-bug-watch-lowest", 20_860 states with counterexamples [24],
    lock_bug_no_recheck => "lock-bug-no-recheck", 44_274 states with counterexamples [19],
    znode_bug_watches_outlive_session => "znode-bug-watches-outlive-session", 52_587 states with counterexamples [26],
}

#[test]
fn unknown_names_are_rejected() {
    let err = coord_models::select(&["nosuch".to_string()]).err().unwrap();
    assert!(err.contains("nosuch"));
}

#[test]
fn a_prefix_selects_a_family() {
    let names: Vec<_> = coord_models::select(&["raft-bug".to_string()])
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names.len(), 7);
    assert!(names.iter().all(|n| n.starts_with("raft-bug-")));
}

#[test]
fn an_exact_name_selects_only_that_check() {
    let names: Vec<_> = coord_models::select(&["raft".to_string()])
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["raft"]);
}

/// The checks `SYSTEM-bug-NAME` that hunt `B`'s bugs, but those only a running cluster
/// can show.
fn bug_checks<B: NamedBug>(system: &str) -> Vec<String> {
    (B::names().into_iter())
        .filter(|name| !B::RUN_TIME_ONLY.contains(name))
        .map(|name| format!("{system}-bug-{name}"))
        .collect()
}

/// Every bug that `coord test --bug NAME` can switch on is the one its model check
/// `SYSTEM-bug-NAME` hunts, unless only a running cluster can show it.
#[test]
fn each_bug_name_names_its_check() {
    let names: Vec<&str> = checks().iter().map(|c| c.name).collect();
    let hunted = [
        bug_checks::<RaftBug>("raft"),
        bug_checks::<ZkBug>("znode"),
        bug_checks::<ChainBug>("chain"),
        bug_checks::<ManagerBug>("chain"),
    ];
    for check in hunted.concat() {
        assert!(names.contains(&check.as_str()), "no check {check}");
    }
}
