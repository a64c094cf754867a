//! Our own history format: one JSON event per line, written with serde from the specs'
//! operation and result types, so the runtime can record exactly what the checker reads.

use super::recorder::Recorder;
use super::{lines, ParseError};
use crate::history::{Client, History, HistorySpec, Time};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One line: `{"client": 1, "time": 1200, "invoke": OP}` or
/// `{"client": 1, "time": 1350, "return": RESULT}`. Times are on one clock for the whole
/// history (the recorder's, in any unit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<Op, Ret> {
    pub client: Client,
    pub time: Time,
    #[serde(flatten)]
    pub kind: EventKind<Op, Ret>,
}

/// What happened: a client invoked an operation, or it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind<Op, Ret> {
    Invoke(Op),
    Return(Ret),
}

/// Reads a history of `S` in our JSON format.
pub fn json<S>(text: &str) -> Result<History<S>, ParseError>
where
    S: HistorySpec<Op: DeserializeOwned, Ret: DeserializeOwned>,
{
    let mut recorder = Recorder::new();
    for (line, content) in lines(text) {
        let event: Event<S::Op, S::Ret> =
            serde_json::from_str(content).map_err(|e| ParseError {
                line,
                message: e.to_string(),
            })?;
        match event.kind {
            EventKind::Invoke(op) => recorder.invoke(event.client, op, event.time),
            EventKind::Return(ret) => recorder.returned(event.client, line, event.time, ret)?,
        }
    }
    Ok(recorder.finish())
}
