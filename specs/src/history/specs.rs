//! How each sequential spec splits into independent objects for the history checker.

use super::HistorySpec;
use crate::jepsen_kv::{JepsenKvOp, JepsenKvSpec};
use crate::kv::{KvOp, KvSpec};
use crate::register::{RegisterOp, RegisterSpec};
use crate::znode::{ZkOp, ZnodeSpec};
use smol_str::SmolStr;

/// Keys of the versioned map are independent: a put or get touches one key only.
impl HistorySpec for KvSpec {
    fn partition(op: &KvOp) -> Option<SmolStr> {
        Some(op.key().clone())
    }

    fn is_read(op: &KvOp) -> bool {
        op.is_read()
    }
}

/// Keys of Jepsen's string map are independent.
impl HistorySpec for JepsenKvSpec {
    fn partition(op: &JepsenKvOp) -> Option<SmolStr> {
        Some(op.key().clone())
    }

    fn is_read(op: &JepsenKvOp) -> bool {
        op.is_read()
    }
}

/// A register is a single object.
impl HistorySpec for RegisterSpec {
    fn partition(_: &RegisterOp) -> Option<SmolStr> {
        None
    }

    fn is_read(op: &RegisterOp) -> bool {
        op.is_read()
    }
}

/// Znodes are not independent: every write takes the next zxid of the whole tree, and a
/// stat shows it.
impl HistorySpec for ZnodeSpec {
    fn partition(_: &ZkOp) -> Option<SmolStr> {
        None
    }

    fn is_read(op: &ZkOp) -> bool {
        op.is_read()
    }
}
