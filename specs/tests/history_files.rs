//! The hand-made histories under `testdata/history`, each with its known verdict.

use coord_specs::history::format::{detect, jepsen_edn, jepsen_log, json, Format};
use coord_specs::history::{check, Failure, HistorySpec, Verdict};
use coord_specs::jepsen_kv::JepsenKvSpec;
use coord_specs::kv::KvSpec;
use coord_specs::register::RegisterSpec;
use coord_specs::znode::ZnodeSpec;
use serde::de::DeserializeOwned;

fn text(name: &str) -> String {
    let path = format!("{}/testdata/history/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("the test history exists")
}

fn json_verdict<S: HistorySpec<Op: DeserializeOwned, Ret: DeserializeOwned>>(
    name: &str,
) -> Verdict {
    let text = text(name);
    assert_eq!(detect(&text), Ok(Format::Json));
    check::<S>(&json::<S>(&text).expect("the history reads"))
}

fn failure(verdict: Verdict) -> Failure {
    match verdict {
        Verdict::NotLinearizable(failure) => failure,
        other => panic!("the history was found {other:?}"),
    }
}

#[test]
fn kv_histories_with_concurrency_and_version_mismatch_pass() {
    assert_eq!(json_verdict::<KvSpec>("kv-ok.jsonl"), Verdict::Linearizable);
}

#[test]
fn a_stale_read_is_reported_with_the_write_it_missed() {
    let failure = failure(json_verdict::<KvSpec>("kv-stale-read.jsonl"));
    assert_eq!(failure.culprit.client, 2);
    assert_eq!(failure.culprit.op, "get(x)");
    assert_eq!(failure.culprit.result.as_deref(), Some("absent"));
    let ops: Vec<&str> = failure.window.iter().map(|row| row.op.as_str()).collect();
    assert_eq!(ops, ["put(x, a)", "get(x)"]);
    let printed = failure.to_string();
    assert!(printed.contains("cannot be linearized"), "{printed}");
}

#[test]
fn an_unknown_outcome_may_have_taken_effect_or_not_but_not_both() {
    let seen = json_verdict::<KvSpec>("kv-unknown-seen.jsonl");
    assert_eq!(seen, Verdict::Linearizable);
    let unseen = json_verdict::<KvSpec>("kv-unknown-unseen.jsonl");
    assert_eq!(unseen, Verdict::Linearizable);
    let failure = failure(json_verdict::<KvSpec>("kv-unknown-flicker.jsonl"));
    assert_eq!(failure.culprit.client, 3);
    let unknown = failure.window.iter().find(|row| row.client == 1);
    assert_eq!(unknown.map(|row| row.result.is_none()), Some(true));
}

#[test]
fn keys_are_checked_apart_and_the_failing_key_is_named() {
    let failure = failure(json_verdict::<KvSpec>("kv-two-keys.jsonl"));
    assert_eq!(failure.partition.as_deref(), Some("y"));
    assert_eq!(failure.operations, 2);
    assert!(failure.window.iter().all(|row| row.op.contains('y')));
}

#[test]
fn znode_histories_are_checked_whole() {
    let ok = json_verdict::<ZnodeSpec>("znode-ok.jsonl");
    assert_eq!(ok, Verdict::Linearizable);
    let failure = failure(json_verdict::<ZnodeSpec>("znode-lost-create.jsonl"));
    assert_eq!(failure.partition, None);
    assert_eq!(failure.culprit.op, "children(/)");
}

#[test]
fn jepsen_register_logs_read_info_fail_and_open_operations() {
    let text = text("register-ok.log");
    assert_eq!(detect(&text), Ok(Format::JepsenLog));
    let history = jepsen_log(&text).expect("the log reads");
    // Two :fail operations are dropped; the :info cas and the open write stay, unknown.
    assert_eq!(history.len(), 5);
    assert_eq!(check::<RegisterSpec>(&history), Verdict::Linearizable);

    let stale = jepsen_log(&self::text("register-stale-read.log")).expect("the log reads");
    let failure = failure(check::<RegisterSpec>(&stale));
    let culprit = &failure.culprit;
    assert_eq!((culprit.invoked, culprit.returned), (5, Some(6)));
}

#[test]
fn jepsen_kv_histories_read_and_check() {
    let text = text("jepsen-kv-ok.edn");
    assert_eq!(detect(&text), Ok(Format::JepsenEdn));
    let history = jepsen_edn(&text).expect("the history reads");
    assert_eq!(check::<JepsenKvSpec>(&history), Verdict::Linearizable);

    let lost = jepsen_edn(&self::text("jepsen-kv-lost-append.edn")).expect("it reads");
    let failure = failure(check::<JepsenKvSpec>(&lost));
    assert_eq!(failure.partition.as_deref(), Some("k"));
    assert_eq!(failure.culprit.result.as_deref(), Some("\"x 1 0 y\""));
}

#[test]
fn unreadable_input_names_its_line() {
    let error = json::<KvSpec>(&text("broken.jsonl")).expect_err("line 3 is broken");
    assert_eq!(error.line, 3);
    let error = jepsen_log("INFO  jepsen.util - 1 :ok :read 3").expect_err("never invoked");
    assert_eq!(error.line, 1);
    let error = jepsen_edn("\n{:process 1, :type :invoke, :f :get}").expect_err("no key");
    assert_eq!(error.line, 2);
    assert_eq!(detect("\n\nhello").map_err(|e| e.line), Err(3));
}
