//! Jepsen's string key-value map with get, put and append, as in its etcd-style KV tests.
//!
//! Every key starts as the empty string. A put replaces the value, an append concatenates
//! to it, a get returns it (the empty string for a key never written).

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::BTreeMap;
use std::fmt;

/// A key of the map.
pub type Key = SmolStr;

/// An operation a client invokes on the map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum JepsenKvOp {
    Get { key: Key },
    Put { key: Key, value: String },
    Append { key: Key, value: String },
}

/// What an operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum JepsenKvRet {
    /// The value read.
    Value(String),
    /// A put or append took effect.
    Done,
}

impl JepsenKvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &Key {
        match self {
            JepsenKvOp::Get { key } | JepsenKvOp::Put { key, .. } => key,
            JepsenKvOp::Append { key, .. } => key,
        }
    }

    /// True for operations that never change the map.
    pub fn is_read(&self) -> bool {
        matches!(self, JepsenKvOp::Get { .. })
    }
}

impl fmt::Display for JepsenKvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JepsenKvOp::Get { key } => write!(f, "get({key:?})"),
            JepsenKvOp::Put { key, value } => write!(f, "put({key:?}, {value:?})"),
            JepsenKvOp::Append { key, value } => write!(f, "append({key:?}, {value:?})"),
        }
    }
}

impl fmt::Display for JepsenKvRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JepsenKvRet::Value(value) => write!(f, "{value:?}"),
            JepsenKvRet::Done => write!(f, "ok"),
        }
    }
}

/// The sequential specification: a map from key to string, absent keys being empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JepsenKvSpec {
    entries: BTreeMap<Key, String>,
}

impl JepsenKvSpec {
    /// The value of `key`: the empty string if it was never written.
    pub fn value(&self, key: &Key) -> &str {
        self.entries.get(key).map_or("", String::as_str)
    }

    /// Every key written, with its value.
    pub fn entries(&self) -> impl Iterator<Item = (&Key, &String)> {
        self.entries.iter()
    }
}

impl stateright::semantics::SequentialSpec for JepsenKvSpec {
    type Op = JepsenKvOp;
    type Ret = JepsenKvRet;

    fn invoke(&mut self, op: &JepsenKvOp) -> JepsenKvRet {
        match op {
            JepsenKvOp::Get { key } => {
                JepsenKvRet::Value(self.entries.get(key).cloned().unwrap_or_default())
            }
            JepsenKvOp::Put { key, value } => {
                self.entries.insert(key.clone(), value.clone());
                JepsenKvRet::Done
            }
            JepsenKvOp::Append { key, value } => {
                self.entries.entry(key.clone()).or_default().push_str(value);
                JepsenKvRet::Done
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::SequentialSpec;

    #[test]
    fn append_concatenates_and_put_replaces() {
        let mut spec = JepsenKvSpec::default();
        let get = JepsenKvOp::Get { key: "k".into() };
        let value = |v: &str| JepsenKvRet::Value(v.into());
        assert_eq!(spec.invoke(&get), value(""));
        let append = |v: &str| JepsenKvOp::Append {
            key: "k".into(),
            value: v.into(),
        };
        spec.invoke(&append("a"));
        spec.invoke(&append("b"));
        assert_eq!(spec.invoke(&get), value("ab"));
        spec.invoke(&JepsenKvOp::Put {
            key: "k".into(),
            value: "c".into(),
        });
        assert_eq!(spec.invoke(&get), value("c"));
        assert_eq!(spec.invoke(&JepsenKvOp::Get { key: "j".into() }), value(""));
    }
}
