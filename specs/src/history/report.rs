//! What the checker tells a person when a history is not linearizable.

use super::budget::Exhausted;
use super::{HistorySpec, Operation, Outcome, Time};
use smol_str::SmolStr;
use std::fmt;

/// One operation as printed: who, what, what came back, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub client: super::Client,
    pub op: String,
    /// The printed result, `None` for an unknown outcome.
    pub result: Option<String>,
    pub invoked: Time,
    pub returned: Option<Time>,
}

impl Row {
    pub(super) fn of<S: HistorySpec>(op: &Operation<S::Op, S::Ret>) -> Row {
        let (result, returned) = match &op.outcome {
            Outcome::Returned { at, ret } => (Some(ret.to_string()), Some(*at)),
            Outcome::Unknown => (None, None),
        };
        Row {
            client: op.client,
            op: op.op.to_string(),
            result,
            invoked: op.invoked,
            returned,
        }
    }
}

/// A history that is not linearizable. Rule (a smallest window): the report names the
/// first operation whose result no order of the operations before its return explains, and
/// shows only the operations of its partition around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The independent object whose operations fail, if the spec has several.
    pub partition: Option<SmolStr>,
    /// How many operations that partition has.
    pub operations: usize,
    /// The first operation whose result cannot be explained.
    pub culprit: Row,
    /// The operations concurrent with it and the few that returned just before it began.
    pub window: Vec<Row>,
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let returned = self.returned.map_or("-".to_string(), |at| at.to_string());
        let result = self.result.as_deref().unwrap_or("? (no reply)");
        write!(
            f,
            "{:>8} {:>12} {:>12}  {} -> {}",
            self.client, self.invoked, returned, self.op, result
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = scope(&self.partition, self.operations);
        let c = &self.culprit;
        writeln!(f, "not linearizable: among {scope}, no order explains")?;
        writeln!(
            f,
            "client {}'s {} -> {}",
            c.client,
            c.op,
            c.result.as_deref().unwrap_or("?")
        )?;
        writeln!(f, "together with everything that returned before it.")?;
        writeln!(
            f,
            "{:>8} {:>12} {:>12}  operation -> result",
            "client", "invoked", "returned"
        )?;
        for row in &self.window {
            let mark = if row == c {
                "   <- cannot be linearized"
            } else {
                ""
            };
            writeln!(f, "{row}{mark}")?;
        }
        Ok(())
    }
}

/// A history the checker could not decide within its limits. Rule (bounded search): the
/// verdict is then unknown, never a guess.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    /// The first partition left undecided, if the spec has several.
    pub partition: Option<SmolStr>,
    /// How many operations that partition has.
    pub operations: usize,
    /// The limit the search reached.
    pub reason: Exhausted,
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = scope(&self.partition, self.operations);
        writeln!(
            f,
            "unknown: the checker could not decide {scope}: {}; every partition it decided is linearizable.",
            self.reason
        )
    }
}

/// "the N operations on KEY", or "the N operations" of a spec checked whole.
fn scope(partition: &Option<SmolStr>, operations: usize) -> String {
    match partition {
        Some(key) => format!("the {operations} operations on {key:?}"),
        None => format!("the {operations} operations"),
    }
}
