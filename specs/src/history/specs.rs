//! How each sequential spec splits into independent objects for the history checker.

use super::budget::{btree_bytes, debug_heap_bytes, string_bytes};
use super::HistorySpec;
use crate::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec};
use crate::kv::{Key, KvOp, KvRet, KvSpec, Value, Version};
use crate::register::{RegisterOp, RegisterRet, RegisterSpec};
use crate::znode::data::{ZkDataRet, ZnodeDataSpec};
use crate::znode::{ZkOp, ZkRet, ZnodeSpec};
use smol_str::SmolStr;
use std::collections::HashSet;

/// An upper bound on the bytes of one znode entry of the tree (path, data and stat).
const ZNODE_ENTRY: usize = 256;

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

    /// Rule (versions only grow): a result needs its key at one version when the
    /// operation takes effect (a get's version, one below a put's, a mismatch's current),
    /// and nothing takes a key back to an earlier version, so a result that does not agree
    /// now is out of reach unless the key is still below that version.
    fn reachable<'a>(&self, op: &KvOp, ret: &KvRet, _: impl Iterator<Item = &'a KvOp>) -> bool {
        let needed = match ret {
            KvRet::GetOk { version, .. } => *version,
            KvRet::PutOk { version } => match version.checked_sub(1) {
                Some(before) => before,
                None => return false,
            },
            KvRet::VersionMismatch { current } => *current,
        };
        self.version(op.key()) < needed
    }

    fn rewinds(_: &KvOp) -> bool {
        false
    }

    fn heap_bytes(&self) -> usize {
        debug_heap_bytes(self, size_of::<(Key, (Value, Version))>())
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

    /// Every string read, each followed by a NUL.
    type Seen = String;

    fn see(seen: &mut String, ret: &JepsenKvRet) {
        if let JepsenKvRet::Value(read) = ret {
            seen.push_str(read);
            seen.push('\0');
        }
    }

    /// A read returns what puts and appends built together, so a value is seen if it is
    /// part of a string read. One that is not was replaced by a put before any read could
    /// show it, or written after the last read: its text never matters.
    fn unseen(op: &JepsenKvOp, seen: &String) -> Option<JepsenKvOp> {
        let blind = |value: &str| !seen.contains(value) && !seen.contains(UNSEEN);
        match op {
            JepsenKvOp::Append { key, value } if blind(value) => Some(JepsenKvOp::Append {
                key: key.clone(),
                value: UNSEEN.into(),
            }),
            JepsenKvOp::Put { key, value } if blind(value) => Some(JepsenKvOp::Put {
                key: key.clone(),
                value: UNSEEN.into(),
            }),
            _ => None,
        }
    }

    /// Rule (a list only grows): between puts, a key's string only grows by appends, so a
    /// get can still return only a string that starts with the current one, or with the
    /// value of a put not yet linearized.
    fn reachable<'a>(
        &self,
        op: &JepsenKvOp,
        ret: &JepsenKvRet,
        mut rewinds: impl Iterator<Item = &'a JepsenKvOp>,
    ) -> bool {
        let (JepsenKvOp::Get { key }, JepsenKvRet::Value(read)) = (op, ret) else {
            return true;
        };
        read.starts_with(self.value(key))
            || rewinds.any(|put| {
                matches!(put, JepsenKvOp::Put { key: k, value } if k == key && read.starts_with(value.as_str()))
            })
    }

    fn rewinds(op: &JepsenKvOp) -> bool {
        matches!(op, JepsenKvOp::Put { .. })
    }

    fn heap_bytes(&self) -> usize {
        let entries = self.entries().count();
        let strings = (self.entries())
            .map(|(key, value)| string_bytes(key.len()) + string_bytes(value.capacity()))
            .sum::<usize>();
        btree_bytes(entries, size_of::<(smol_str::SmolStr, String)>()) + strings
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

    /// A write can bring back any value.
    fn reachable<'a>(
        &self,
        _: &RegisterOp,
        _: &RegisterRet,
        _: impl Iterator<Item = &'a RegisterOp>,
    ) -> bool {
        true
    }

    fn rewinds(_: &RegisterOp) -> bool {
        false
    }

    /// The value is held inline.
    fn heap_bytes(&self) -> usize {
        0
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

    /// Not used: the tree's histories are short.
    fn reachable<'a>(&self, _: &ZkOp, _: &ZkRet, _: impl Iterator<Item = &'a ZkOp>) -> bool {
        true
    }

    fn rewinds(_: &ZkOp) -> bool {
        false
    }

    fn heap_bytes(&self) -> usize {
        debug_heap_bytes(self, ZNODE_ENTRY)
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
    /// As for [`ZnodeSpec`].
    fn reachable<'a>(&self, _: &ZkOp, _: &ZkDataRet, _: impl Iterator<Item = &'a ZkOp>) -> bool {
        true
    }

    fn rewinds(_: &ZkOp) -> bool {
        false
    }

    fn heap_bytes(&self) -> usize {
        debug_heap_bytes(self, ZNODE_ENTRY)
    }
}
