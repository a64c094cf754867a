//! `coord history check FILE`: check a recorded history for linearizability (and draw
//! what the check found with `--html`), `coord history bench`: measure how fast that is,
//! and `coord history generate`: write a generated history.

mod bench;
mod html;
mod limits;

use clap::{Subcommand, ValueEnum};
use coord_specs::history::format::{detect, jepsen_edn, jepsen_log, json, Format, ParseError};
use coord_specs::history::{analyze, Analysis, History, HistorySpec, Verdict};
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
    /// Check a recorded history: exit 0 if linearizable, 1 if not, 2 if unreadable, 3 if
    /// the search reached --max-memory or --timeout (verdict unknown).
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
    /// Write one self-contained HTML page that draws the history and what the check found.
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    #[command(flatten)]
    limits: limits::LimitArgs,
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
        (Format::Json, Some(SpecArg::Kv)) => json_verdict::<KvSpec>(&text, args),
        (Format::Json, Some(SpecArg::Register)) => json_verdict::<RegisterSpec>(&text, args),
        (Format::Json, Some(SpecArg::JepsenKv)) => json_verdict::<JepsenKvSpec>(&text, args),
        (Format::Json, Some(SpecArg::Znode)) => json_verdict::<ZnodeSpec>(&text, args),
        (Format::Json, Some(SpecArg::ZnodeData)) => json_verdict::<ZnodeDataSpec>(&text, args),
        (Format::Json, None) => return Err(format!("{name}: a JSON history needs --spec")),
        (Format::JepsenEdn, None | Some(SpecArg::JepsenKv)) => {
            verdict::<JepsenKvSpec>(jepsen_edn(&text), args)
        }
        (Format::JepsenLog, None | Some(SpecArg::Register)) => {
            verdict::<RegisterSpec>(jepsen_log(&text), args)
        }
        (format, Some(spec)) => {
            return Err(format!(
                "{name}: {format:?} histories are not of spec {spec:?}"
            ))
        }
    }
    .map_err(unreadable)?;
    let (operations, verdict) = (operations, verdict?);
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
            std::io::Write::flush(&mut std::io::stdout()).map_err(|e| e.to_string())?;
            std::process::exit(UNKNOWN_EXIT);
        }
    }
}

/// The exit status of a check whose verdict is unknown.
const UNKNOWN_EXIT: i32 = 3;

/// What [`verdict`] returns: the number of operations read and the verdict on them (or why
/// the page could not be written), or why the file could not be read.
type Checked = Result<(usize, Result<Verdict, String>), ParseError>;

/// The number of operations read and the checker's verdict on them; writes the page if
/// `--html` asks for one.
fn verdict<S: HistorySpec>(history: Result<History<S>, ParseError>, args: &CheckArgs) -> Checked {
    let history = history?;
    let analysis: Analysis = analyze::<S>(&history, &args.limits.limits());
    let mut verdict = Ok(analysis.verdict.clone());
    if let Some(out) = &args.html {
        let title = args.file.display().to_string();
        let page = html::page::<S>(&title, &history, &analysis);
        match std::fs::write(out, page) {
            Ok(()) => println!("drawn: {}", out.display()),
            Err(e) => verdict = Err(format!("{}: {e}", out.display())),
        }
    }
    Ok((history.len(), verdict))
}

/// [`verdict`] on a history in our JSON format.
fn json_verdict<S>(text: &str, args: &CheckArgs) -> Checked
where
    S: HistorySpec<Op: DeserializeOwned, Ret: DeserializeOwned>,
{
    verdict::<S>(json::<S>(text), args)
}
