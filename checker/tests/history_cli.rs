//! `coord history check`'s exit codes: 0 linearizable, 1 not, 2 unreadable or misused,
//! 3 unknown (a limit reached).

use std::process::Command;

fn exit_code(args: &[&str]) -> i32 {
    let testdata = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/testdata/history/");
    let mut command = Command::new(env!("CARGO_BIN_EXE_coord"));
    command.args(["history", "check"]);
    for arg in args {
        let is_file = arg.contains('.');
        command.arg(if is_file {
            format!("{testdata}{arg}")
        } else {
            arg.to_string()
        });
    }
    let output = command.output().expect("coord runs");
    output.status.code().expect("coord exits")
}

#[test]
fn linearizable_histories_exit_0() {
    assert_eq!(exit_code(&["kv-ok.jsonl", "--spec", "kv"]), 0);
    assert_eq!(exit_code(&["register-ok.log"]), 0);
    assert_eq!(
        exit_code(&["jepsen-kv-ok.edn", "--format", "jepsen-edn"]),
        0
    );
}

#[test]
fn violations_exit_1() {
    assert_eq!(exit_code(&["kv-two-keys.jsonl", "--spec", "kv"]), 1);
    assert_eq!(
        exit_code(&["register-stale-read.log", "--spec", "register"]),
        1
    );
    assert_eq!(
        exit_code(&["znode-lost-create.jsonl", "--spec", "znode"]),
        1
    );
}

#[test]
fn unreadable_input_and_mismatched_specs_exit_2() {
    assert_eq!(exit_code(&["broken.jsonl", "--spec", "kv"]), 2);
    assert_eq!(exit_code(&["kv-ok.jsonl"]), 2);
    assert_eq!(exit_code(&["register-ok.log", "--spec", "kv"]), 2);
    assert_eq!(
        exit_code(&["kv-ok.jsonl", "--spec", "kv", "--format", "jepsen-log"]),
        2
    );
}

#[test]
fn a_search_past_its_memory_or_time_limit_exits_3() {
    assert_eq!(
        exit_code(&["register-exhausting.log", "--max-memory", "16MiB"]),
        3
    );
    assert_eq!(exit_code(&["register-exhausting.log", "--timeout", "1"]), 3);
    assert_eq!(exit_code(&["register-ok.log", "--max-memory", "1KiB"]), 3);
    assert_eq!(exit_code(&["register-ok.log", "--max-memory", "lots"]), 2);
}
