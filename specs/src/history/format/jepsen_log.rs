//! Jepsen's `jepsen.util` log lines for its compare-and-set register test.

use super::edn::{read_all, Edn};
use super::recorder::Recorder;
use super::{lines, ParseError, LOG_MARKER};
use crate::history::{Client, History};
use crate::register::{RegisterOp, RegisterRet, RegisterSpec, Value};

/// Reads lines such as `INFO  jepsen.util - 3 :invoke :cas [1 4]`: process, type, function
/// and value. Rule (Jepsen's completion types): `:ok` returned, `:fail` certainly did not
/// take effect (a compare-and-set that found another value), `:info` or no completion at
/// all may or may not have; `nil` is the absent value. A failed read (`:fail :read
/// :timed-out`) is dropped, as a read with an unknown outcome constrains nothing. The time
/// of an event is its line number. Other log lines and the nemesis's lines are skipped.
pub fn jepsen_log(text: &str) -> Result<History<RegisterSpec>, ParseError> {
    let mut recorder = Recorder::new();
    for (line, content) in lines(text) {
        let Some((_, fields)) = content.split_once(LOG_MARKER) else {
            continue;
        };
        let error = |message: String| ParseError { line, message };
        let fields = read_all(fields).map_err(error)?;
        let [process, Edn::Keyword(kind), Edn::Keyword(f), value] = fields.as_slice() else {
            return Err(error("expected: process :type :f value".into()));
        };
        let client = match process {
            Edn::Int(p) => Client::try_from(*p).map_err(|_| error("negative process".into()))?,
            _ => continue,
        };
        let time = line as u64;
        let int = |v: &Edn| match v {
            Edn::Int(n) => Ok(*n as Value),
            other => Err(error(format!("expected an integer, not {other:?}"))),
        };
        match kind.as_str() {
            "invoke" => {
                let op = match (f.as_str(), value) {
                    ("read", _) => RegisterOp::Read,
                    ("write", v) => RegisterOp::Write(int(v)?),
                    ("cas", Edn::Vector(pair)) if pair.len() == 2 => RegisterOp::Cas {
                        from: int(&pair[0])?,
                        to: int(&pair[1])?,
                    },
                    _ => return Err(error(format!("unknown operation :{f} {value:?}"))),
                };
                recorder.invoke(client, op, time);
            }
            "ok" => {
                let ret = match recorder.open(client, line)? {
                    RegisterOp::Read if *value == Edn::Nil => RegisterRet::Read(None),
                    RegisterOp::Read => RegisterRet::Read(Some(int(value)?)),
                    RegisterOp::Write(_) => RegisterRet::Written,
                    RegisterOp::Cas { .. } => RegisterRet::Cas(true),
                };
                recorder.returned(client, line, time, ret)?;
            }
            "fail" => recorder.failed(client, line)?,
            "info" => recorder.unknown(client, line)?,
            t => return Err(error(format!("unknown type :{t}"))),
        }
    }
    Ok(recorder.finish())
}
