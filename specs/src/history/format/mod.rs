//! Reading recorded histories: our own JSON lines, Jepsen's EDN history lines, and
//! Jepsen's `jepsen.util` log lines.

mod edn;
mod jepsen_edn;
mod jepsen_log;
mod json;
mod recorder;

pub use jepsen_edn::{jepsen_edn, write_jepsen_edn};
pub use jepsen_log::jepsen_log;
pub use json::{json, Event, EventKind};

use std::fmt;

/// A format a history can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Our own: one [`Event`] per line, as JSON.
    Json,
    /// Jepsen's history maps, one per line: `{:process 0, :type :invoke, :f :get, ...}`.
    JepsenEdn,
    /// Jepsen's log of a register test: `INFO  jepsen.util - 3 :invoke :cas [1 4]`.
    JepsenLog,
}

/// Why a history cannot be read, and where (1-based line number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The marker of a Jepsen log line that records an operation.
const LOG_MARKER: &str = "jepsen.util - ";

/// Rule: the first line that is not blank tells the format: a JSON object starts with `{"`,
/// an EDN map with `{:`; otherwise a Jepsen log has lines that name `jepsen.util`.
pub fn detect(text: &str) -> Result<Format, ParseError> {
    let Some((i, first)) = lines(text).next() else {
        return Err(ParseError {
            line: 1,
            message: "the history is empty".into(),
        });
    };
    let compact: String = first.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("{\"") {
        Ok(Format::Json)
    } else if compact.starts_with("{:") {
        Ok(Format::JepsenEdn)
    } else if text.contains(LOG_MARKER) {
        Ok(Format::JepsenLog)
    } else {
        Err(ParseError {
            line: i,
            message: "neither JSON events, Jepsen history maps nor jepsen.util log lines".into(),
        })
    }
}

/// The lines of `text` that are not blank, with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    (text.lines().enumerate())
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}
