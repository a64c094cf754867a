//! Turning a stream of invoke and completion events into operations.

use super::ParseError;
use crate::history::{Client, Operation, Outcome, Time};
use std::collections::BTreeMap;

/// The operations read so far. Rule (one operation in flight per client): a client that
/// invokes again before its last operation completed gave up on it, so that operation's
/// outcome is unknown; so is that of an operation still open at the end.
pub(super) struct Recorder<Op, Ret> {
    open: BTreeMap<Client, Operation<Op, Ret>>,
    done: Vec<Operation<Op, Ret>>,
}

impl<Op, Ret> Recorder<Op, Ret> {
    pub(super) fn new() -> Self {
        Recorder {
            open: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    pub(super) fn invoke(&mut self, client: Client, op: Op, invoked: Time) {
        let outcome = Outcome::Unknown;
        let operation = Operation {
            client,
            op,
            invoked,
            outcome,
        };
        if let Some(abandoned) = self.open.insert(client, operation) {
            self.done.push(abandoned);
        }
    }

    /// The open operation of `client`, removed; `line` names the completion in the error.
    fn take(&mut self, client: Client, line: usize) -> Result<Operation<Op, Ret>, ParseError> {
        self.open
            .remove(&client)
            .ok_or_else(|| never_invoked(client, line))
    }

    /// The open operation's invocation, to build its result from.
    pub(super) fn open(&self, client: Client, line: usize) -> Result<&Op, ParseError> {
        let open = self.open.get(&client).map(|o| &o.op);
        open.ok_or_else(|| never_invoked(client, line))
    }

    /// `client`'s operation returned `ret` at `at`, read on line `line`.
    pub(super) fn returned(
        &mut self,
        client: Client,
        line: usize,
        at: Time,
        ret: Ret,
    ) -> Result<(), ParseError> {
        let mut op = self.take(client, line)?;
        op.outcome = Outcome::Returned { at, ret };
        self.done.push(op);
        Ok(())
    }

    /// `client`'s operation certainly did not take effect (Jepsen's `:fail`): it is dropped.
    pub(super) fn failed(&mut self, client: Client, line: usize) -> Result<(), ParseError> {
        self.take(client, line).map(drop)
    }

    /// `client` does not know whether its operation took effect (Jepsen's `:info`).
    pub(super) fn unknown(&mut self, client: Client, line: usize) -> Result<(), ParseError> {
        let op = self.take(client, line)?;
        self.done.push(op);
        Ok(())
    }

    pub(super) fn finish(mut self) -> Vec<Operation<Op, Ret>> {
        self.done.extend(self.open.into_values());
        self.done
    }
}

fn never_invoked(client: Client, line: usize) -> ParseError {
    ParseError {
        line,
        message: format!("client {client} completes an operation it never invoked"),
    }
}
