//! kazoo's own test modules, unmodified, through `coord suite kazoo` (the command the
//! book shows), against a real ZooKeeper 3.8 ensemble that the command starts, which
//! verifies the harness itself, and against a coord zk cluster that it starts. The
//! recipe modules must all pass, each with tests run.

mod common;

use common::COORD;
use std::process::Command;

/// The ten modules issue 15 names; all must pass.
const RECIPES: [&str; 10] = [
    "test_lock",
    "test_election",
    "test_counter",
    "test_barrier",
    "test_queue",
    "test_party",
    "test_partitioner",
    "test_lease",
    "test_watchers",
    "test_cache",
];

/// Runs `coord suite kazoo ARGS`; its stdout, and whether it succeeded.
fn suite(args: &[&str]) -> (String, bool) {
    let out = Command::new(COORD)
        .args(["suite", "kazoo"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    (stdout, out.status.success())
}

/// The (passed, failed) counts the harness printed for `module`.
fn counts(stdout: &str, module: &str) -> (u32, u32) {
    let line = (stdout.lines())
        .find(|l| l.split_whitespace().next() == Some(module))
        .unwrap_or_else(|| panic!("no counts for {module}"));
    let numbers: Vec<u32> = (line.split_whitespace().skip(1))
        .map(|n| n.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

/// Runs the recipe modules against the cluster `which` (`--zookeeper`, `--coord`)
/// starts: each must have tests that pass and none that fail.
fn recipes_pass(which: &str) {
    let (stdout, ok) = suite(&[which, "--modules", "recipes"]);
    for module in RECIPES {
        let (passed, failed) = counts(&stdout, module);
        assert!(
            passed > 0 && failed == 0,
            "{module}: {passed} passed, {failed} failed"
        );
    }
    assert!(ok, "coord suite kazoo {which} failed");
}

#[test]
fn kazoo_recipe_modules_pass_against_zookeeper() {
    recipes_pass("--zookeeper");
}

#[test]
fn kazoo_recipe_modules_pass_against_coord() {
    recipes_pass("--coord");
}
