//! The history checker's verdicts against stateright's `LinearizabilityTester`, an
//! independent search, on many small random histories, valid and not.

use coord_specs::history::generate::{jepsen_append, Anomaly, AppendShape};
use coord_specs::history::{check, History, HistorySpec, Operation, Outcome, Verdict};
use coord_specs::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec};
use coord_specs::kv::{Key, KvOp, KvRet, KvSpec, Value};
use coord_specs::register::{RegisterOp, RegisterRet, RegisterSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::collections::{BTreeMap, BTreeSet};

const HISTORIES: u64 = 5000;

/// How large the random histories are, and how often a client crashes.
#[derive(Clone, Copy)]
struct Shape {
    clients: u64,
    ops: usize,
    /// The chance that a client crashes instead of receiving its reply.
    crash: f64,
}

const SMALL: Shape = Shape {
    clients: 3,
    ops: 7,
    crash: 0.1,
};

/// A random history of `S` and stateright's verdict on it. Each operation takes effect on
/// a true state when it returns; one in five returns a made-up result instead, and some
/// clients crash with their operation in flight (applied or not) and invoke no more.
fn generate<S: HistorySpec>(
    rng: &mut StdRng,
    shape: Shape,
    random_op: impl Fn(&mut StdRng) -> S::Op,
    random_ret: impl Fn(&mut StdRng) -> S::Ret,
) -> (History<S>, bool) {
    let mut tester = LinearizabilityTester::new(S::default());
    let mut truth = S::default();
    let mut history = Vec::new();
    let mut open = BTreeMap::new();
    let mut crashed = BTreeSet::new();
    let mut invoked = 0;
    for time in 0.. {
        if crashed.len() as u64 == shape.clients || (invoked == shape.ops && open.is_empty()) {
            break;
        }
        let client = rng.random_range(0..shape.clients);
        if crashed.contains(&client) {
            continue;
        }
        match open.remove(&client) {
            None if invoked < shape.ops => {
                let op = random_op(rng);
                tester
                    .on_invoke(client, op.clone())
                    .expect("one op per client");
                open.insert(client, (op, time));
                invoked += 1;
            }
            None => {}
            Some((op, at)) if rng.random_bool(shape.crash) => {
                if rng.random_bool(0.5) {
                    truth.invoke(&op);
                }
                crashed.insert(client);
                let outcome = Outcome::Unknown;
                history.push(operation(client, op, at, outcome));
            }
            Some((op, at)) => {
                let ret = if rng.random_bool(0.8) {
                    truth.invoke(&op)
                } else {
                    random_ret(rng)
                };
                tester.on_return(client, ret.clone()).expect("invoked");
                let outcome = Outcome::Returned { at: time, ret };
                history.push(operation(client, op, at, outcome));
            }
        }
    }
    (history, tester.is_consistent())
}

fn operation<Op, Ret>(
    client: u64,
    op: Op,
    invoked: u64,
    outcome: Outcome<Ret>,
) -> Operation<Op, Ret> {
    Operation {
        client,
        op,
        invoked,
        outcome,
    }
}

/// Checks many random histories; both verdicts must occur, and agree with stateright's.
fn agree<S: HistorySpec>(
    shape: Shape,
    random_op: impl Fn(&mut StdRng) -> S::Op,
    random_ret: impl Fn(&mut StdRng) -> S::Ret,
) {
    let mut verdicts = BTreeMap::new();
    for seed in 0..HISTORIES {
        let mut rng = StdRng::seed_from_u64(seed);
        let (history, expected) = generate::<S>(&mut rng, shape, &random_op, &random_ret);
        let actual = check::<S>(&history) == Verdict::Linearizable;
        assert_eq!(actual, expected, "seed {seed}: {history:#?}");
        *verdicts.entry(actual).or_insert(0) += 1;
    }
    assert_eq!(verdicts.len(), 2, "only one verdict occurred: {verdicts:?}");
}

#[test]
fn register_verdicts_agree_with_stateright() {
    let value = |rng: &mut StdRng| rng.random_range(0..3);
    agree::<RegisterSpec>(
        SMALL,
        |rng| match rng.random_range(0..3) {
            0 => RegisterOp::Read,
            1 => RegisterOp::Write(value(rng)),
            _ => RegisterOp::Cas {
                from: value(rng),
                to: value(rng),
            },
        },
        |rng| match rng.random_range(0..3) {
            0 => RegisterRet::Read(rng.random_bool(0.8).then(|| value(rng))),
            1 => RegisterRet::Written,
            _ => RegisterRet::Cas(rng.random()),
        },
    );
}

#[test]
fn kv_verdicts_agree_with_stateright_across_keys() {
    let key = |rng: &mut StdRng| if rng.random() { "x" } else { "y" }.into();
    let value = |rng: &mut StdRng| if rng.random() { "a" } else { "b" }.into();
    agree_on_kv(SMALL, key, value);
}

/// Many lost replies on one key, with values that reads often miss: the reductions for
/// unknown outcomes (unseen values, interchangeable copies, no-ops) are exercised.
#[test]
fn kv_verdicts_agree_with_stateright_with_many_lost_replies() {
    let shape = Shape {
        clients: 5,
        ops: 8,
        crash: 0.35,
    };
    let value = |rng: &mut StdRng| ["a", "b", "c", "d"][rng.random_range(0..4)].into();
    agree_on_kv(shape, |_| "x".into(), value);
}

fn agree_on_kv(
    shape: Shape,
    key: impl Fn(&mut StdRng) -> Key,
    value: impl Fn(&mut StdRng) -> Value,
) {
    agree::<KvSpec>(
        shape,
        |rng| match rng.random_range(0..2) {
            0 => KvOp::Get { key: key(rng) },
            _ => KvOp::Put {
                key: key(rng),
                value: value(rng),
                expected: rng.random_bool(0.5).then(|| rng.random_range(0..2)),
            },
        },
        |rng| match rng.random_range(0..3) {
            0 => KvRet::GetOk {
                value: rng.random_bool(0.7).then(|| value(rng)),
                version: rng.random_range(0..3),
            },
            1 => KvRet::PutOk {
                version: rng.random_range(1..3),
            },
            _ => KvRet::VersionMismatch {
                current: rng.random_range(0..3),
            },
        },
    );
}

/// Jepsen's string map with puts among the appends, and reads that often show a list in
/// another order: the rule that a list only grows between puts is exercised, with the
/// puts that take it back.
#[test]
fn jepsen_kv_verdicts_agree_with_stateright() {
    let key = |rng: &mut StdRng| if rng.random() { "x" } else { "y" }.into();
    let word = |rng: &mut StdRng| ["a", "b", "c"][rng.random_range(0..3)].to_string();
    let shape = Shape {
        clients: 4,
        ops: 8,
        crash: 0.2,
    };
    agree::<JepsenKvSpec>(
        shape,
        |rng| match rng.random_range(0..5) {
            0 | 1 => JepsenKvOp::Get { key: key(rng) },
            2 => JepsenKvOp::Put {
                key: key(rng),
                value: word(rng),
            },
            _ => JepsenKvOp::Append {
                key: key(rng),
                value: word(rng),
            },
        },
        |rng| match rng.random_range(0..3) {
            0 => JepsenKvRet::Done,
            _ => JepsenKvRet::Value((0..rng.random_range(0..4)).map(|_| word(rng)).collect()),
        },
    );
}

/// The generated list-append histories of `coord history bench`, small enough for
/// stateright: clean, and with each anomaly, with lost replies.
#[test]
fn generated_append_histories_agree_with_stateright() {
    let anomalies = [
        None,
        Some(Anomaly::LostAppend),
        Some(Anomaly::StaleRead),
        Some(Anomaly::DoubleAppend),
    ];
    let mut verdicts = BTreeMap::new();
    for seed in 0..HISTORIES {
        let mut rng = StdRng::seed_from_u64(seed);
        let shape = AppendShape {
            processes: 3,
            ops: 9,
            keys: 2,
            reads: 0.5,
            lost: 0.2,
            anomaly: anomalies[seed as usize % anomalies.len()],
        };
        let history = jepsen_append(&mut rng, shape);
        let expected = stateright_verdict::<JepsenKvSpec>(&history);
        let actual = check::<JepsenKvSpec>(&history) == Verdict::Linearizable;
        assert_eq!(actual, expected, "seed {seed}: {history:#?}");
        *verdicts.entry(actual).or_insert(0) += 1;
    }
    assert_eq!(verdicts.len(), 2, "only one verdict occurred: {verdicts:?}");
}

/// stateright's verdict on `history`, replayed in time order. A process that lost a reply
/// goes on as a new client, since the tester allows one operation in flight per client.
fn stateright_verdict<S: HistorySpec>(history: &History<S>) -> bool {
    let mut events: Vec<(u64, bool, usize)> = Vec::new();
    for (i, op) in history.iter().enumerate() {
        events.push((op.invoked, false, i));
        if let Some(at) = op.returned() {
            events.push((at, true, i));
        }
    }
    events.sort();
    let mut tester = LinearizabilityTester::new(S::default());
    let mut incarnations: BTreeMap<u64, u64> = BTreeMap::new();
    let mut client = vec![0; history.len()];
    for (_, returns, i) in events {
        let op = &history[i];
        if returns {
            let ret = op.ret().expect("returned").clone();
            tester.on_return(client[i], ret).expect("invoked");
        } else {
            let incarnation = incarnations.entry(op.client).or_insert(0);
            client[i] = op.client * 1000 + *incarnation;
            if op.ret().is_none() {
                *incarnation += 1;
            }
            tester
                .on_invoke(client[i], op.op.clone())
                .expect("one op per client");
        }
    }
    tester.is_consistent()
}
