//! Every named check, run at its reduced size: each verdict must be the expected one, and
//! each deliberate bug must come with a counterexample.

use coord::bug::NamedBug;
use coord::chain::ChainBug;
use coord::raft::RaftBug;
use coord::znode::ZkBug;
use coord_models::{checks, Bounds, RunOptions, Verdict};

/// Runs the check `name` at its quick size and asserts every verdict.
fn run_quick(name: &str) {
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
        }
    }
    assert!(report.as_expected);
    assert!(report.unique_states > 1, "{name}: explored nothing");
}

/// One test per check, so that a failure names its check.
macro_rules! named_checks {
    ($($(#[$attr:meta])* $test:ident => $name:literal,)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                run_quick($name);
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
    raft => "raft",
    raft_retry => "raft-retry",
    raft_dup => "raft-dup",
    raft_bug_forgotten_vote => "raft-bug-forgotten-vote",
    raft_bug_old_term_commit => "raft-bug-old-term-commit",
    raft_bug_no_dedup => "raft-bug-no-dedup",
    raft_bug_stale_read => "raft-bug-stale-read",
    chain => "chain",
    craq => "craq",
    craq_eventual => "craq-eventual",
    chain_rejoin => "chain-rejoin",
    chain_lossy => "chain-lossy",
    chain_lossy_failover => "chain-lossy-failover",
    chain_bug_no_position => "chain-bug-no-position",
    chain_bug_keep_stale => "chain-bug-keep-stale",
    chain_bug_old_epoch => "chain-bug-old-epoch",
    chain_bug_no_resend => "chain-bug-no-resend",
    chain_bug_early_reply => "chain-bug-early-reply",
    znode_counter => "znode-counter",
    znode_stale_read => "znode-stale-read",
    znode_sync_read => "znode-sync-read",
    znode_ephemeral => "znode-ephemeral",
    znode_watch => "znode-watch",
    znode_failover_ephemeral => "znode-failover-ephemeral",
    znode_moving_read => "znode-moving-read",
    znode_bug_reads_go_back => "znode-bug-reads-go-back",
    znode_bug_forget_sessions_on_failover => "znode-bug-forget-sessions-on-failover",
    znode_bug_ignore_version => "znode-bug-ignore-version",
    znode_bug_keep_ephemerals => "znode-bug-keep-ephemerals",
    znode_bug_early_watch => "znode-bug-early-watch",
    lock_scalable => "lock-scalable",
    lock_basic => "lock-basic",
    lock_no_fencing => "lock-no-fencing",
    election => "election",
    lock_bug_watch_lowest => "lock-bug-watch-lowest",
    lock_bug_no_recheck => "lock-bug-no-recheck",
    znode_bug_watches_outlive_session => "znode-bug-watches-outlive-session",
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
    assert_eq!(names.len(), 4);
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
    ];
    for check in hunted.concat() {
        assert!(names.contains(&check.as_str()), "no check {check}");
    }
}
