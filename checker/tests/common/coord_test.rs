//! Runs of `coord test` for the tests that drive it: the run itself, its summary lines,
//! and the checks every passing run must meet.

use super::COORD;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `coord test SYSTEM ARGS` with its data in `dir`; returns its output.
pub fn coord_test(system: &str, dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(COORD)
        .args(["test", system, "--dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    output
}

/// The value of the summary line `name: value`.
pub fn summary<'a>(stdout: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}:");
    (stdout.lines())
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no line {prefix}"))
        .trim()
}

/// A 12-second run of `system` with `faults` and `args` passes, and `coord history check`
/// agrees with its verdict on the history it wrote; returns what the run printed.
pub fn passes(system: &str, spec: &str, faults: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let args = [&["--duration", "12", "--faults", faults], args].concat();
    let out = coord_test(system, dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "exit status {}", out.status);
    assert_eq!(summary(&stdout, "verdict"), "PASS");
    assert!(summary(&stdout, "checked").starts_with("linearizable"));
    assert!(stdout.contains("fault: "), "no fault was injected");
    assert!(stdout.contains("repair: "), "no fault was repaired");
    let writes = summary(&stdout, "writes");
    assert!(writes.contains(" 0 lost, 0 not read back"), "{writes}");
    assert!(!writes.starts_with("0 acknowledged"), "nothing was written");

    let history = dir.path().join("history.jsonl");
    let recheck = Command::new(COORD)
        .args(["history", "check", "--spec", spec])
        .arg(&history)
        .output()
        .unwrap();
    assert!(recheck.status.success(), "{recheck:?}");
    assert!(String::from_utf8_lossy(&recheck.stdout).contains(": linearizable"));
    stdout
}
