//! `coord history check FILE`: check a recorded history for linearizability, and
//! `coord history bench`: measure how fast that is.

mod bench;

use clap::{Subcommand, ValueEnum};
use coord_specs::history::format::{detect, jepsen_edn, jepsen_log, json, Format, ParseError};
use coord_specs::history::{check, History, HistorySpec, Verdict};
use coord_specs::jepsen_kv::JepsenKvSpec;
use coord_specs::kv::KvSpec;
use coord_specs::register::RegisterSpec;
use coord_specs::znode::data::ZnodeDataSpec;
use coord_specs::znode::ZnodeSpec;
use serde::de::DeserializeOwned;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(Subcommand)]
enum HistoryCommand {
    /// Check a recorded history: exit 0 if linearizable, 1 if not, 2 if unreadable.
    Check(CheckArgs),
    /// Time the checker on generated histories (of the versioned map, or Jepsen's
    /// list-append workload with and without anomalies).
    Bench(bench::BenchArgs),
    /// Print a generated Jepsen list-append history (EDN lines), to check or draw.
    Generate(bench::GenerateArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The history file.
    file: PathBuf,
    /// The sequential spec to check against (implied by the two Jepsen formats).
    #[arg(long, value_enum)]
    spec: Option<SpecArg>,
    /// The file's format (recognized from its content when not given).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SpecArg {
    /// The versioned key-value map (`specs/src/kv.rs`).
    Kv,
    /// Jepsen's compare-and-set register.
    Register,
    /// Jepsen's string map with get, put and append.
    JepsenKv,
    /// ZooKeeper's znode tree.
    Znode,
    /// The znode tree, its results compared without zxids (as `coord test zk` checks).
    ZnodeData,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Our JSON lines of invoke and return events.
    Json,
    /// Jepsen's EDN history maps.
    JepsenEdn,
    /// Jepsen's `jepsen.util` log lines.
    JepsenLog,
}

/// Runs a `history` subcommand; `Ok(true)` if every history checked is linearizable.
pub fn run(args: &HistoryArgs) -> Result<bool, String> {
    match &args.command {
        HistoryCommand::Check(args) => run_check(args),
        HistoryCommand::Bench(args) => bench::run(args),
        HistoryCommand::Generate(args) => bench::generate(args),
    }
}

fn run_check(args: &CheckArgs) -> Result<bool, String> {
    let name = args.file.display();
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{name}: {e}"))?;
    let unreadable = |e: ParseError| format!("{name}: {e}");
    let format = match args.format {
        Some(FormatArg::Json) => Format::Json,
        Some(FormatArg::JepsenEdn) => Format::JepsenEdn,
        Some(FormatArg::JepsenLog) => Format::JepsenLog,
        None => detect(&text).map_err(unreadable)?,
    };
    let (operations, verdict) = match (format, args.spec) {
        (Format::Json, Some(SpecArg::Kv)) => json_verdict::<KvSpec>(&text),
        (Format::Json, Some(SpecArg::Register)) => json_verdict::<RegisterSpec>(&text),
        (Format::Json, Some(SpecArg::JepsenKv)) => json_verdict::<JepsenKvSpec>(&text),
        (Format::Json, Some(SpecArg::Znode)) => json_verdict::<ZnodeSpec>(&text),
        (Format::Json, Some(SpecArg::ZnodeData)) => json_verdict::<ZnodeDataSpec>(&text),
        (Format::Json, None) => return Err(format!("{name}: a JSON history needs --spec")),
        (Format::JepsenEdn, None | Some(SpecArg::JepsenKv)) => {
            verdict::<JepsenKvSpec>(jepsen_edn(&text))
        }
        (Format::JepsenLog, None | Some(SpecArg::Register)) => {
            verdict::<RegisterSpec>(jepsen_log(&text))
        }
        (format, Some(spec)) => {
            return Err(format!(
                "{name}: {format:?} histories are not of spec {spec:?}"
            ))
        }
    }
    .map_err(unreadable)?;
    match verdict {
        Verdict::Linearizable => {
            println!("{name}: linearizable ({operations} operations)");
            Ok(true)
        }
        Verdict::NotLinearizable(failure) => {
            print!("{name}: {failure}");
            Ok(false)
        }
        Verdict::Unknown(undecided) => {
            print!("{name}: {undecided}");
            Ok(false)
        }
    }
}

/// The number of operations read and the checker's verdict on them.
fn verdict<S: HistorySpec>(
    history: Result<History<S>, ParseError>,
) -> Result<(usize, Verdict), ParseError> {
    history.map(|h| (h.len(), check::<S>(&h)))
}

/// [`verdict`] on a history in our JSON format.
fn json_verdict<S>(text: &str) -> Result<(usize, Verdict), ParseError>
where
    S: HistorySpec<Op: DeserializeOwned, Ret: DeserializeOwned>,
{
    verdict::<S>(json::<S>(text))
}
