//! A key-value map with versioned conditional put, the first replicated object.
//!
//! Every key starts absent at version 0. A put that matches the expected version (or has
//! none) stores the value and bumps the version by one; any other put changes nothing and
//! reports the current version. A get returns the value and its version.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::BTreeMap;
use std::fmt;

/// A key of the map.
pub type Key = SmolStr;
/// A value stored under a key.
pub type Value = SmolStr;
/// How many successful puts a key has seen; 0 means the key was never written.
pub type Version = u64;

/// An operation a client invokes on the map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvOp {
    /// Store `value` under `key` if the key's version equals `expected` (or always if `None`).
    Put {
        key: Key,
        value: Value,
        expected: Option<Version>,
    },
    /// Read `key`.
    Get { key: Key },
}

/// What an operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvRet {
    /// The put took effect; the key now has `version`.
    PutOk { version: Version },
    /// The put's expected version was not the key's version, `current`; nothing changed.
    VersionMismatch { current: Version },
    /// The key's value (`None` if absent) and version.
    GetOk {
        value: Option<Value>,
        version: Version,
    },
}

impl KvOp {
    /// True for operations that never change the map.
    pub fn is_read(&self) -> bool {
        matches!(self, KvOp::Get { .. })
    }

    /// The key the operation touches.
    pub fn key(&self) -> &Key {
        match self {
            KvOp::Put { key, .. } | KvOp::Get { key } => key,
        }
    }
}

impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Put {
                key,
                value,
                expected: None,
            } => write!(f, "put({key}, {value})"),
            KvOp::Put {
                key,
                value,
                expected: Some(v),
            } => write!(f, "put({key}, {value}, if version {v})"),
            KvOp::Get { key } => write!(f, "get({key})"),
        }
    }
}

impl fmt::Display for KvRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvRet::PutOk { version } => write!(f, "ok(version {version})"),
            KvRet::VersionMismatch { current } => write!(f, "version mismatch (is {current})"),
            KvRet::GetOk { value: None, .. } => write!(f, "absent"),
            KvRet::GetOk {
                value: Some(v),
                version,
            } => write!(f, "{v} (version {version})"),
        }
    }
}

/// The sequential specification: a map from key to (value, version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvSpec {
    entries: BTreeMap<Key, (Value, Version)>,
}

impl KvSpec {
    /// The version of `key`, 0 if it was never written.
    pub fn version(&self, key: &Key) -> Version {
        self.entries.get(key).map_or(0, |(_, v)| *v)
    }
}

impl stateright::semantics::SequentialSpec for KvSpec {
    type Op = KvOp;
    type Ret = KvRet;

    fn invoke(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Get { key } => match self.entries.get(key) {
                Some((value, version)) => KvRet::GetOk {
                    value: Some(value.clone()),
                    version: *version,
                },
                None => KvRet::GetOk {
                    value: None,
                    version: 0,
                },
            },
            KvOp::Put {
                key,
                value,
                expected,
            } => {
                let current = self.version(key);
                if expected.is_some_and(|e| e != current) {
                    return KvRet::VersionMismatch { current };
                }
                self.entries
                    .insert(key.clone(), (value.clone(), current + 1));
                KvRet::PutOk {
                    version: current + 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::SequentialSpec;

    fn put(key: &str, value: &str, expected: Option<Version>) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
            expected,
        }
    }

    #[test]
    fn absent_key_reads_as_version_zero() {
        let mut spec = KvSpec::default();
        assert_eq!(
            spec.invoke(&KvOp::Get { key: "k".into() }),
            KvRet::GetOk {
                value: None,
                version: 0
            }
        );
    }

    #[test]
    fn conditional_put_succeeds_only_on_matching_version() {
        let mut spec = KvSpec::default();
        assert_eq!(
            spec.invoke(&put("k", "a", Some(0))),
            KvRet::PutOk { version: 1 }
        );
        assert_eq!(
            spec.invoke(&put("k", "b", Some(0))),
            KvRet::VersionMismatch { current: 1 }
        );
        assert_eq!(
            spec.invoke(&put("k", "c", None)),
            KvRet::PutOk { version: 2 }
        );
        assert_eq!(
            spec.invoke(&KvOp::Get { key: "k".into() }),
            KvRet::GetOk {
                value: Some("c".into()),
                version: 2
            }
        );
    }

    #[test]
    fn keys_are_independent() {
        let mut spec = KvSpec::default();
        spec.invoke(&put("a", "1", None));
        assert_eq!(spec.version(&"b".into()), 0);
        assert!(spec.is_valid_history(vec![
            (put("b", "2", Some(0)), KvRet::PutOk { version: 1 }),
            (
                KvOp::Get { key: "a".into() },
                KvRet::GetOk {
                    value: Some("1".into()),
                    version: 1
                }
            ),
        ]));
    }
}
