//! How each sequential spec splits into independent objects for the history checker.

use super::HistorySpec;
use crate::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec};
use crate::kv::{KvOp, KvRet, KvSpec, Value};
use crate::register::{RegisterOp, RegisterRet, RegisterSpec};
use crate::znode::data::{ZkDataRet, ZnodeDataSpec};
use crate::znode::{ZkOp, ZkRet, ZnodeSpec};
use smol_str::SmolStr;
use std::collections::HashSet;

/// A value no client writes in practice, standing for any value no read returned.
pub(super) const UNSEEN: &str = "\u{0}unseen";

/// Keys of the versioned map are independent: a put or get touches one key only. Only a
/// get shows a value.
impl HistorySpec for KvSpec {
    fn partition(op: &KvOp) -> Option<SmolStr> {
        Some(op.key().clone())
    }

    fn changes_nothing(op: &KvOp, ret: Option<&KvRet>) -> bool {
        op.is_read() || matches!(ret, Some(KvRet::VersionMismatch { .. }))
    }

    type Seen = HashSet<Value>;

    fn see(seen: &mut HashSet<Value>, ret: &KvRet) {
        if let KvRet::GetOk {
            value: Some(value), ..
        } = ret
        {
            seen.insert(value.clone());
        }
    }

    fn unseen(op: &KvOp, seen: &HashSet<Value>) -> Option<KvOp> {
        match op {
            KvOp::Put {
                key,
                value,
                expected,
            } if !seen.contains(value) && !seen.contains(UNSEEN) => Some(KvOp::Put {
                key: key.clone(),
                value: UNSEEN.into(),
                expected: *expected,
            }),
            _ => None,
        }
    }
}

/// Keys of Jepsen's string map are independent.
impl HistorySpec for JepsenKvSpec {
    fn partition(op: &JepsenKvOp) -> Option<SmolStr> {
        Some(op.key().clone())
    }

    fn changes_nothing(op: &JepsenKvOp, _: Option<&JepsenKvRet>) -> bool {
        op.is_read()
    }

    /// Not used: a read returns what puts and appends built together.
    type Seen = ();

    fn see(_: &mut (), _: &JepsenKvRet) {}

    fn unseen(_: &JepsenKvOp, _: &()) -> Option<JepsenKvOp> {
        None
    }
}

/// A register is a single object.
impl HistorySpec for RegisterSpec {
    fn partition(_: &RegisterOp) -> Option<SmolStr> {
        None
    }

    fn changes_nothing(op: &RegisterOp, ret: Option<&RegisterRet>) -> bool {
        op.is_read() || ret == Some(&RegisterRet::Cas(false))
    }

    /// Not used: a compare-and-set tests a value without returning it.
    type Seen = ();

    fn see(_: &mut (), _: &RegisterRet) {}

    fn unseen(_: &RegisterOp, _: &()) -> Option<RegisterOp> {
        None
    }
}

/// Znodes are not independent: every write takes the next zxid of the whole tree, and a
/// stat shows it.
impl HistorySpec for ZnodeSpec {
    fn partition(_: &ZkOp) -> Option<SmolStr> {
        None
    }

    fn changes_nothing(op: &ZkOp, ret: Option<&ZkRet>) -> bool {
        op.is_read() || matches!(ret, Some(ZkRet::Err(_) | ZkRet::MultiFailed { .. }))
    }

    /// Not used: the tree is one object, checked whole, and its histories are short.
    type Seen = ();

    fn see(_: &mut (), _: &ZkRet) {}

    fn unseen(_: &ZkOp, _: &()) -> Option<ZkOp> {
        None
    }
}

/// Judged without zxids, znodes are still one tree: a create or delete changes its parent.
impl HistorySpec for ZnodeDataSpec {
    fn partition(_: &ZkOp) -> Option<SmolStr> {
        None
    }

    fn changes_nothing(op: &ZkOp, ret: Option<&ZkDataRet>) -> bool {
        ZnodeSpec::changes_nothing(op, ret.map(|r| &r.0))
    }

    /// Not used, as for [`ZnodeSpec`].
    type Seen = ();

    fn see(_: &mut (), _: &ZkDataRet) {}

    fn unseen(_: &ZkOp, _: &()) -> Option<ZkOp> {
        None
    }
}
