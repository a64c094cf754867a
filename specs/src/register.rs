//! A compare-and-set register, the object of Jepsen's classic register tests.
//!
//! The register starts absent (`nil`). A write stores a value; a compare-and-set stores `to`
//! only if the register holds `from`, and says whether it did; a read returns the value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value the register holds; Jepsen's register tests use small integers.
pub type Value = i64;

/// An operation a client invokes on the register.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RegisterOp {
    Read,
    Write(Value),
    /// Store `to` if the register holds `from`.
    Cas {
        from: Value,
        to: Value,
    },
}

/// What an operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RegisterRet {
    /// The value read; `None` if the register was never written.
    Read(Option<Value>),
    Written,
    /// Whether the compare-and-set found `from` and stored `to`.
    Cas(bool),
}

impl RegisterOp {
    /// True for operations that never change the register.
    pub fn is_read(&self) -> bool {
        matches!(self, RegisterOp::Read)
    }
}

impl fmt::Display for RegisterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterOp::Read => write!(f, "read"),
            RegisterOp::Write(v) => write!(f, "write({v})"),
            RegisterOp::Cas { from, to } => write!(f, "cas({from} -> {to})"),
        }
    }
}

impl fmt::Display for RegisterRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterRet::Read(None) => write!(f, "nil"),
            RegisterRet::Read(Some(v)) => write!(f, "{v}"),
            RegisterRet::Written => write!(f, "ok"),
            RegisterRet::Cas(true) => write!(f, "ok"),
            RegisterRet::Cas(false) => write!(f, "no match"),
        }
    }
}

/// The sequential specification: the value held, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RegisterSpec {
    value: Option<Value>,
}

impl stateright::semantics::SequentialSpec for RegisterSpec {
    type Op = RegisterOp;
    type Ret = RegisterRet;

    fn invoke(&mut self, op: &RegisterOp) -> RegisterRet {
        match *op {
            RegisterOp::Read => RegisterRet::Read(self.value),
            RegisterOp::Write(v) => {
                self.value = Some(v);
                RegisterRet::Written
            }
            RegisterOp::Cas { from, to } => {
                let matched = self.value == Some(from);
                if matched {
                    self.value = Some(to);
                }
                RegisterRet::Cas(matched)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::SequentialSpec;

    #[test]
    fn starts_absent_and_cas_needs_the_expected_value() {
        let mut spec = RegisterSpec::default();
        assert_eq!(spec.invoke(&RegisterOp::Read), RegisterRet::Read(None));
        let cas = |from, to| RegisterOp::Cas { from, to };
        assert_eq!(spec.invoke(&cas(0, 1)), RegisterRet::Cas(false));
        assert_eq!(spec.invoke(&RegisterOp::Write(0)), RegisterRet::Written);
        assert_eq!(spec.invoke(&cas(0, 1)), RegisterRet::Cas(true));
        assert_eq!(spec.invoke(&RegisterOp::Read), RegisterRet::Read(Some(1)));
    }
}
