//! `coord kv put|get` (and the same operations for `coord chain`): one operation by the
//! very client actor the models check.

use crate::client::{first_answer, Cluster, Target};
use crate::logging;
use crate::system::System;
use coord::client::{ClientMsg, Wire};
use coord::net::admit::Admit;
use coord::net::Runtime;
use coord_specs::kv::{KvOp, KvRet};
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::Actor;

#[derive(clap::Subcommand, Debug)]
pub enum KvCommand {
    /// Store VALUE under KEY (only if KEY is at version V, with --expect-version V).
    Put(PutArgs),
    /// Print KEY's value and version.
    Get(GetArgs),
}

#[derive(clap::Args, Debug)]
pub struct PutArgs {
    key: String,
    value: String,
    /// Put only if the key's version is this (0: only if absent).
    #[arg(long)]
    expect_version: Option<u64>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct GetArgs {
    key: String,
    #[command(flatten)]
    pub target: Target,
}

impl PutArgs {
    pub fn op(&self) -> KvOp {
        KvOp::Put {
            key: self.key.as_str().into(),
            value: self.value.as_str().into(),
            expected: self.expect_version,
        }
    }
}

impl GetArgs {
    pub fn op(&self) -> KvOp {
        KvOp::Get {
            key: self.key.as_str().into(),
        }
    }
}

pub fn run(command: &KvCommand) -> Result<bool, String> {
    logging::init();
    let (op, target) = match command {
        KvCommand::Put(put) => (put.op(), &put.target),
        KvCommand::Get(get) => (get.op(), &get.target),
    };
    let cluster = target.resolve(System::Kv)?;
    let client = cluster.kv_client(vec![op.clone()])?;
    report(&op, answer(&cluster, client, "leader"))
}

/// Prints the answer to `op` (or the error), and whether it is a success.
pub fn report(op: &KvOp, answer: Result<KvRet, String>) -> Result<bool, String> {
    let ret = match answer {
        Ok(ret) => ret,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(false);
        }
    };
    match (op, ret) {
        (_, KvRet::PutOk { version }) => println!("ok: {} is at version {version}", op.key()),
        (
            _,
            KvRet::GetOk {
                value: Some(value),
                version,
            },
        ) => println!("{value} (version {version})"),
        (_, KvRet::GetOk { value: None, .. }) => {
            eprintln!("error: no key {}", op.key());
            return Ok(false);
        }
        (KvOp::Put { expected, .. }, KvRet::VersionMismatch { current }) => {
            let expected = expected.unwrap_or_default();
            eprintln!(
                "error: version mismatch: {} is at version {current}, not {expected}",
                op.key()
            );
            return Ok(false);
        }
        (KvOp::Get { .. }, KvRet::VersionMismatch { .. }) => {
            return Err("a get was answered with a version mismatch".into())
        }
    }
    Ok(true)
}

/// Runs a client of one operation to its answer, or fails when no `server` (a leader,
/// the head or tail) answered in time.
pub fn answer<A>(cluster: &Cluster, mut client: Runtime<A>, server: &str) -> Result<KvRet, String>
where
    A: Actor<Storage = ()>,
    A::Msg: Admit + Serialize + DeserializeOwned + Wire<KvOp, KvRet>,
{
    let answer = first_answer(cluster, &mut client, |msg| match msg.as_client() {
        Some(ClientMsg::Reply { seq: 1, ret }) => Some(ret.clone()),
        _ => None,
    })?;
    answer.ok_or_else(|| cluster.unreachable(server))
}
