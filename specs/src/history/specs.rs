//! How each sequential spec splits into independent objects for the history checker.

use super::HistorySpec;
use crate::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec};
use crate::kv::{KvOp, KvRet, KvSpec};
use crate::register::{RegisterOp, RegisterRet, RegisterSpec};
use crate::znode::{ZkOp, ZkRet, ZnodeSpec};
use smol_str::SmolStr;

/// Keys of the versioned map are independent: a put or get touches one key only.
impl HistorySpec for KvSpec {
    fn partition(op: &KvOp) -> Option<SmolStr> {
        Some(op.key().clone())
    }

    fn changes_nothing(op: &KvOp, ret: Option<&KvRet>) -> bool {
        op.is_read() || matches!(ret, Some(KvRet::VersionMismatch { .. }))
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
}

/// A register is a single object.
impl HistorySpec for RegisterSpec {
    fn partition(_: &RegisterOp) -> Option<SmolStr> {
        None
    }

    fn changes_nothing(op: &RegisterOp, ret: Option<&RegisterRet>) -> bool {
        op.is_read() || ret == Some(&RegisterRet::Cas(false))
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
}
