//! Generated histories of Jepsen's list-append workload, in the `jepsen-kv` spec: processes
//! append unique elements to the lists of a few keys and read whole lists, against one true
//! map that a deliberate anomaly may corrupt. They measure the checker and cross-check it.

use super::{History, Operation, Outcome, Time};
use crate::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec, Key};
use rand::Rng;
use stateright::semantics::SequentialSpec;
use std::collections::BTreeMap;

/// A mistake of the system under test, injected once into an otherwise linearizable run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// An append is acknowledged but never applied.
    LostAppend,
    /// A read returns its key's list as it was before an append that had been
    /// acknowledged before the read was invoked.
    StaleRead,
    /// An append is applied twice.
    DoubleAppend,
}

/// The size and mix of a generated history.
#[derive(Clone, Copy, Debug)]
pub struct AppendShape {
    /// Concurrent processes, each with one operation in flight at a time.
    pub processes: u64,
    /// Operations in the history.
    pub ops: usize,
    /// Keys, each a list.
    pub keys: u64,
    /// The chance that an operation is a read.
    pub reads: f64,
    /// The chance that an operation's reply is lost (its outcome unknown; it took effect or
    /// not, even odds).
    pub lost: f64,
    /// The mistake injected, once, at the first operation that can show it after a third
    /// of the operations were invoked.
    pub anomaly: Option<Anomaly>,
}

/// What a simulated process is doing.
enum Process {
    Idle,
    /// Invoked at the given time, not yet taken effect.
    Invoked(JepsenKvOp, Time),
    /// Took effect with this result, reply not yet delivered; for an append, the list
    /// before it.
    Applied(JepsenKvOp, Time, JepsenKvRet, Option<String>),
}

/// The one true map and what a stale read needs of its past.
struct Truth {
    map: JepsenKvSpec,
    /// Per key, per acknowledged append in order of acknowledgement: when it was
    /// acknowledged and the list before it.
    acknowledged: BTreeMap<Key, Vec<(Time, String)>>,
}

impl Truth {
    fn read(&mut self, key: &Key) -> String {
        match self.map.invoke(&JepsenKvOp::Get { key: key.clone() }) {
            JepsenKvRet::Value(value) => value,
            JepsenKvRet::Done => unreachable!("a get returns a value"),
        }
    }

    /// The list of `key` before the last append acknowledged before `time`, if any.
    fn stale(&self, key: &Key, time: Time) -> Option<String> {
        let acknowledged = self.acknowledged.get(key)?;
        let last = acknowledged.iter().rev().find(|(at, _)| *at < time)?;
        Some(last.1.clone())
    }
}

/// A history of `shape`: at each tick one random process invokes, takes effect on the true
/// map, or receives its reply (or loses it). Every element appended is unique
/// (`x PROCESS N y`), so without an anomaly the history is linearizable, and with one it is
/// not as soon as a later read shows the mistake (a stale read shows it itself).
pub fn jepsen_append(rng: &mut impl Rng, shape: AppendShape) -> History<JepsenKvSpec> {
    let mut truth = Truth {
        map: JepsenKvSpec::default(),
        acknowledged: BTreeMap::new(),
    };
    let mut processes: Vec<Process> = (0..shape.processes).map(|_| Process::Idle).collect();
    let mut appended = vec![0u64; processes.len()];
    let mut history = Vec::with_capacity(shape.ops);
    let (mut invoked, mut anomaly) = (0, shape.anomaly);
    let mut time: Time = 0;
    while history.len() < shape.ops {
        time += 1;
        let p = rng.random_range(0..shape.processes);
        let process = &mut processes[p as usize];
        *process = match std::mem::replace(process, Process::Idle) {
            Process::Idle if invoked < shape.ops => {
                invoked += 1;
                let key: Key = format!("{}", rng.random_range(0..shape.keys)).into();
                let op = if rng.random_bool(shape.reads) {
                    JepsenKvOp::Get { key }
                } else {
                    appended[p as usize] += 1;
                    let value = format!("x {p} {} y", appended[p as usize]);
                    JepsenKvOp::Append { key, value }
                };
                Process::Invoked(op, time)
            }
            Process::Idle => Process::Idle,
            Process::Invoked(op, at) if rng.random_bool(shape.lost / 2.0) => {
                history.push(Operation::unknown(p, op, at));
                Process::Idle
            }
            Process::Invoked(op, at) => {
                let due = anomaly.filter(|_| invoked >= shape.ops / 3);
                let before = truth.read(op.key());
                let ret = match (&op, due) {
                    (JepsenKvOp::Get { key }, Some(Anomaly::StaleRead)) => {
                        match truth.stale(key, at) {
                            Some(stale) => {
                                anomaly = None;
                                JepsenKvRet::Value(stale)
                            }
                            None => truth.map.invoke(&op),
                        }
                    }
                    (JepsenKvOp::Append { .. }, Some(Anomaly::LostAppend)) => {
                        anomaly = None;
                        JepsenKvRet::Done
                    }
                    (JepsenKvOp::Append { .. }, Some(Anomaly::DoubleAppend)) => {
                        anomaly = None;
                        truth.map.invoke(&op);
                        truth.map.invoke(&op)
                    }
                    _ => truth.map.invoke(&op),
                };
                let before = matches!(op, JepsenKvOp::Append { .. }).then_some(before);
                Process::Applied(op, at, ret, before)
            }
            Process::Applied(op, at, _, _) if rng.random_bool(shape.lost / 2.0) => {
                history.push(Operation::unknown(p, op, at));
                Process::Idle
            }
            Process::Applied(op, at, ret, before) => {
                if let Some(before) = before {
                    let acknowledged = truth.acknowledged.entry(op.key().clone());
                    acknowledged.or_default().push((time, before));
                }
                let outcome = Outcome::Returned { at: time, ret };
                history.push(Operation {
                    client: p,
                    op,
                    invoked: at,
                    outcome,
                });
                Process::Idle
            }
        };
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{check, Verdict};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn shape(anomaly: Option<Anomaly>) -> AppendShape {
        AppendShape {
            processes: 10,
            ops: 400,
            keys: 10,
            reads: 0.5,
            lost: 0.0,
            anomaly,
        }
    }

    #[test]
    fn every_operation_completes_and_elements_are_unique() {
        let history = jepsen_append(&mut StdRng::seed_from_u64(1), shape(None));
        assert_eq!(history.len(), 400);
        assert!(history.iter().all(|op| op.ret().is_some()));
        let mut values: Vec<&String> = (history.iter())
            .filter_map(|op| match &op.op {
                JepsenKvOp::Append { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        let appends = values.len();
        values.sort();
        values.dedup();
        assert_eq!(values.len(), appends);
        assert!(appends > 100 && appends < 300, "{appends} appends");
    }

    #[test]
    fn a_clean_run_is_linearizable_and_each_anomaly_is_not() {
        for seed in 0..5 {
            let history = |anomaly| jepsen_append(&mut StdRng::seed_from_u64(seed), shape(anomaly));
            assert_eq!(check::<JepsenKvSpec>(&history(None)), Verdict::Linearizable);
            for anomaly in [
                Anomaly::LostAppend,
                Anomaly::StaleRead,
                Anomaly::DoubleAppend,
            ] {
                let verdict = check::<JepsenKvSpec>(&history(Some(anomaly)));
                assert!(
                    matches!(verdict, Verdict::NotLinearizable(_)),
                    "seed {seed}, {anomaly:?}"
                );
            }
        }
    }

    /// What the generator writes, the EDN reader reads back: the same operations, outcomes
    /// and order of events (times become line numbers).
    #[test]
    fn histories_written_as_edn_read_back() {
        use crate::history::format::{jepsen_edn, write_jepsen_edn};
        let mut lossy = shape(Some(Anomaly::StaleRead));
        lossy.lost = 0.2;
        let history = jepsen_append(&mut StdRng::seed_from_u64(3), lossy);
        assert!(history.iter().any(|op| op.ret().is_none()));
        let read = jepsen_edn(&write_jepsen_edn(&history)).expect("it reads");
        let key = |op: &Operation<JepsenKvOp, JepsenKvRet>| (op.invoked, op.client);
        let (mut written, mut read) = (history.clone(), read);
        written.sort_by_key(key);
        read.sort_by_key(key);
        let strip = |ops: &[Operation<JepsenKvOp, JepsenKvRet>]| -> Vec<_> {
            ops.iter()
                .map(|op| (op.client, op.op.clone(), op.ret().cloned()))
                .collect()
        };
        assert_eq!(strip(&written), strip(&read));
        let culprit = |history| match check::<JepsenKvSpec>(history) {
            Verdict::NotLinearizable(failure) => Some((failure.culprit.client, failure.culprit.op)),
            _ => None,
        };
        assert_eq!(culprit(&read), culprit(&history));
        assert!(culprit(&read).is_some());
    }
}
