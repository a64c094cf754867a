//! Reductions for writes whose value nobody saw, and for operations with an unknown
//! outcome, which otherwise stay candidates at every step of the search: writes whose value
//! nobody saw become copies of one write, and of identical copies with an unknown outcome
//! only the earliest invoked is ever a candidate.

use super::{HistorySpec, Operation};
use std::borrow::Cow;
use std::collections::HashMap;

/// `ops` with every write whose value no result shows written with the spec's placeholder
/// instead ([`HistorySpec::unseen`]). Rule (an unseen value): a result that could tell the
/// value apart would show it, so the history is linearizable exactly when the rewritten one
/// is. Writes of unknown outcome that differ only in such a value become copies of one
/// write; writes in any order that differ only in such values leave equal states, which the
/// memo then merges (appends to a list that a put later replaces, unread).
pub(super) fn blinded<S: HistorySpec>(
    ops: &[Operation<S::Op, S::Ret>],
) -> Cow<'_, [Operation<S::Op, S::Ret>]> {
    let mut seen = S::Seen::default();
    for ret in ops.iter().filter_map(Operation::ret) {
        S::see(&mut seen, ret);
    }
    let mut ops = Cow::Borrowed(ops);
    for i in 0..ops.len() {
        if let Some(op) = S::unseen(&ops[i].op, &seen) {
            ops.to_mut()[i].op = op;
        }
    }
    ops
}

/// Per operation with an unknown outcome: the next operation invoked after it with an
/// unknown outcome and an identical invocation. Rule (interchangeable copies): such an
/// operation has no return to respect, so wherever a linearization places a copy, it may
/// place an earlier-invoked pending copy instead. The search therefore only tries the
/// earliest pending copy: the copies linearized are always the earliest invoked.
pub(super) fn copies<S: HistorySpec>(ops: &[Operation<S::Op, S::Ret>]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret().is_none()).collect();
    order.sort_by_key(|&i| ops[i].invoked);
    let mut last: HashMap<&S::Op, usize> = HashMap::new();
    let mut later = vec![None; ops.len()];
    for i in order {
        if let Some(earlier) = last.insert(&ops[i].op, i) {
            later[earlier] = Some(i);
        }
    }
    later
}

#[cfg(test)]
mod tests {
    use super::super::specs::UNSEEN;
    use super::super::{check, Outcome, Verdict};
    use super::*;
    use crate::kv::{KvOp, KvRet, KvSpec, Version};

    type Op = Operation<KvOp, KvRet>;

    fn put(value: &str, expected: Option<Version>) -> KvOp {
        KvOp::Put {
            key: "k".into(),
            value: value.into(),
            expected,
        }
    }

    fn done(client: u64, op: KvOp, invoked: u64, at: u64, ret: KvRet) -> Op {
        Operation {
            client,
            op,
            invoked,
            outcome: Outcome::Returned { at, ret },
        }
    }

    fn lost(client: u64, op: KvOp, invoked: u64) -> Op {
        Operation {
            client,
            op,
            invoked,
            outcome: Outcome::Unknown,
        }
    }

    fn ok(version: Version) -> KvRet {
        KvRet::PutOk { version }
    }

    fn read(value: &str, version: Version) -> KvRet {
        KvRet::GetOk {
            value: Some(value.into()),
            version,
        }
    }

    fn get() -> KvOp {
        KvOp::Get { key: "k".into() }
    }

    fn linearizable(history: &[Op]) -> bool {
        check::<KvSpec>(&history.to_vec()) == Verdict::Linearizable
    }

    #[test]
    fn unseen_values_become_one_placeholder_and_seen_ones_stay() {
        let history = vec![
            lost(1, put("x", None), 0),
            lost(2, put("y", Some(3)), 0),
            lost(3, put("z", None), 0),
            done(4, get(), 0, 1, read("z", 1)),
        ];
        let blind = blinded::<KvSpec>(&history);
        assert_eq!(blind[0].op, put(UNSEEN, None));
        assert_eq!(blind[1].op, put(UNSEEN, Some(3)));
        assert_eq!(blind[2].op, history[2].op);
        assert_eq!(copies::<KvSpec>(&blind), vec![None; 4]);
    }

    /// A put at version 4 needs two lost writes before it, and only one was invoked in
    /// time: with the second invoked in time, the history is linearizable.
    #[test]
    fn a_copy_takes_effect_only_after_its_own_invocation() {
        let history = |second: u64| {
            vec![
                done(0, put("a", None), 0, 1, ok(1)),
                lost(1, put("x", None), 2),
                lost(2, put("y", None), second),
                done(3, put("b", None), 5, 6, ok(4)),
            ]
        };
        assert!(!linearizable(&history(10)));
        assert!(linearizable(&history(3)));
        let late = history(10);
        let blind = blinded::<KvSpec>(&late);
        assert_eq!(copies::<KvSpec>(&blind), vec![None, Some(2), None, None]);
    }

    /// A lost conditional put is a no-op at version 1, but could have taken effect at
    /// version 0: only if it was invoked before the put that then saw version 2.
    #[test]
    fn a_write_that_is_a_no_op_now_may_have_taken_effect_earlier() {
        let history = |invoked: u64| {
            vec![
                lost(1, put("x", Some(0)), invoked),
                done(2, put("a", None), 1, 2, ok(2)),
                done(3, get(), 3, 4, read("a", 2)),
            ]
        };
        assert!(linearizable(&history(0)));
        assert!(!linearizable(&history(3)));
    }

    /// A lost put whose value a read shows must have taken effect before that read.
    #[test]
    fn a_seen_value_is_not_blinded() {
        let history = |invoked: u64| {
            vec![
                done(0, put("a", None), 0, 1, ok(1)),
                lost(1, put("x", None), invoked),
                done(2, get(), 3, 4, read("x", 2)),
            ]
        };
        assert!(linearizable(&history(2)));
        assert!(!linearizable(&history(5)));
    }
}
