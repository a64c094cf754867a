//! The replicated key-value map with versioned conditional put: the state machine that
//! Raft replicates. Written apart from `coord_specs::kv::KvSpec` on purpose, so that a
//! mistake in either one shows up as a disagreement in the model checker.

use crate::raft::StateMachine;
use coord_specs::kv::{Key, KvOp, KvRet, Value, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Each key's current value and version; a missing key has version 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvStore {
    pub data: BTreeMap<Key, (Value, Version)>,
}

impl StateMachine for KvStore {
    type Op = KvOp;
    type Ret = KvRet;

    /// A put takes effect only when its expected version, if any, is the key's version;
    /// then the version goes up by one.
    fn apply(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Get { .. } => self.read(op).expect("get is a read"),
            KvOp::Put {
                key,
                value,
                expected,
            } => {
                let version = self.data.get(key).map(|(_, v)| *v).unwrap_or_default();
                match expected {
                    Some(e) if *e != version => KvRet::VersionMismatch { current: version },
                    _ => {
                        self.data.insert(key.clone(), (value.clone(), version + 1));
                        KvRet::PutOk {
                            version: version + 1,
                        }
                    }
                }
            }
        }
    }

    fn read(&self, op: &KvOp) -> Option<KvRet> {
        let KvOp::Get { key } = op else {
            return None;
        };
        let (value, version) = match self.data.get(key) {
            Some((value, version)) => (Some(value.clone()), *version),
            None => (None, 0),
        };
        Some(KvRet::GetOk { value, version })
    }
}
