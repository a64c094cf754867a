//! Jepsen's EDN history lines for its string key-value map (get, put, append).

use super::edn::{read_all, Edn};
use super::recorder::Recorder;
use super::{lines, ParseError};
use crate::history::{Client, History, Outcome, Time};
use crate::jepsen_kv::{JepsenKvOp, JepsenKvRet, JepsenKvSpec};

/// Reads a history such as
/// `{:process 0, :type :invoke, :f :append, :key "k", :value "x 0 0 y"}`, one map per line.
/// Rule (Jepsen's completion types): `:ok` returned, `:fail` certainly did not take effect,
/// `:info` (or no completion at all) may or may not have. The time of an event is its line
/// number. Lines of the nemesis (a process that is not a number) are skipped.
pub fn jepsen_edn(text: &str) -> Result<History<JepsenKvSpec>, ParseError> {
    let mut recorder = Recorder::new();
    for (line, content) in lines(text) {
        let error = |message: String| ParseError { line, message };
        let map = match read_all(content).map_err(error)?.as_slice() {
            [map @ Edn::Map(_)] => map.clone(),
            _ => return Err(error("expected one map".into())),
        };
        let field = |name: &str| map.get(name).ok_or_else(|| error(format!("no :{name}")));
        let client = match field("process")? {
            Edn::Int(p) => Client::try_from(*p).map_err(|_| error("negative :process".into()))?,
            _ => continue,
        };
        let keyword = |name: &str| match field(name)? {
            Edn::Keyword(k) => Ok(k.as_str()),
            other => Err(error(format!(":{name} is {other:?}, not a keyword"))),
        };
        let value = || match field("value")? {
            Edn::Str(s) => Ok(s.clone()),
            Edn::Nil => Ok(String::new()),
            other => Err(error(format!(":value is {other:?}, not a string"))),
        };
        let time = line as u64;
        match keyword("type")? {
            "invoke" => {
                let key = match field("key")? {
                    Edn::Str(k) => k.as_str().into(),
                    other => return Err(error(format!(":key is {other:?}, not a string"))),
                };
                let op = match keyword("f")? {
                    "get" => JepsenKvOp::Get { key },
                    "put" => JepsenKvOp::Put {
                        key,
                        value: value()?,
                    },
                    "append" => JepsenKvOp::Append {
                        key,
                        value: value()?,
                    },
                    f => return Err(error(format!("unknown :f :{f}"))),
                };
                recorder.invoke(client, op, time);
            }
            "ok" => {
                let ret = match recorder.open(client, line)? {
                    JepsenKvOp::Get { .. } => JepsenKvRet::Value(value()?),
                    _ => JepsenKvRet::Done,
                };
                recorder.returned(client, line, time, ret)?;
            }
            "fail" => recorder.failed(client, line)?,
            "info" => recorder.unknown(client, line)?,
            t => return Err(error(format!("unknown :type :{t}"))),
        }
    }
    Ok(recorder.finish())
}

/// Writes `history` as Jepsen's EDN history lines, which [`jepsen_edn`] reads back: each
/// invocation and completion at its time, an unknown outcome as `:info` right after its
/// invocation (it has no time of its own).
pub fn write_jepsen_edn(history: &History<JepsenKvSpec>) -> String {
    let mut events: Vec<(Time, bool, String)> = Vec::with_capacity(2 * history.len());
    for op in history {
        let (f, key, value) = match &op.op {
            JepsenKvOp::Get { key } => ("get", key, None),
            JepsenKvOp::Put { key, value } => ("put", key, Some(value)),
            JepsenKvOp::Append { key, value } => ("append", key, Some(value)),
        };
        let line = |kind: &str, value: Option<&String>| {
            let value = value.map_or("nil".to_string(), |v| edn_string(v));
            let key = edn_string(key);
            format!(
                "{{:process {}, :type :{kind}, :f :{f}, :key {key}, :value {value}}}\n",
                op.client
            )
        };
        events.push((op.invoked, false, line("invoke", value)));
        match &op.outcome {
            Outcome::Returned { at, ret } => {
                let value = match ret {
                    JepsenKvRet::Value(read) => Some(read),
                    JepsenKvRet::Done => value,
                };
                events.push((*at, true, line("ok", value)));
            }
            Outcome::Unknown => events.push((op.invoked, true, line("info", value))),
        }
    }
    events.sort();
    events.into_iter().map(|(_, _, line)| line).collect()
}

/// `text` as an EDN string literal.
fn edn_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}
