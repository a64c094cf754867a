//! `coord kv put|get`: one operation by the very client actor the models check.

use crate::client::{run_until, Target};
use crate::logging;
use crate::system::System;
use coord::client::ClientMsg;
use coord::raft::Msg;
use coord_specs::kv::{KvOp, KvRet};
use std::sync::atomic::AtomicBool;

#[derive(clap::Subcommand, Debug)]
pub enum KvCommand {
    /// Store VALUE under KEY (only if KEY is at version V, with --expect-version V).
    Put {
        key: String,
        value: String,
        /// Put only if the key's version is this (0: only if absent).
        #[arg(long)]
        expect_version: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// Print KEY's value and version.
    Get {
        key: String,
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(command: &KvCommand) -> Result<bool, String> {
    logging::init();
    let (op, target) = match command {
        KvCommand::Put {
            key,
            value,
            expect_version,
            target,
        } => (
            KvOp::Put {
                key: key.into(),
                value: value.into(),
                expected: *expect_version,
            },
            target,
        ),
        KvCommand::Get { key, target } => (KvOp::Get { key: key.into() }, target),
    };
    let ret = match perform(target, op.clone()) {
        Ok(ret) => ret,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(false);
        }
    };
    match (&op, ret) {
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

/// Runs one operation to its answer, or fails when no leader answered in time.
fn perform(target: &Target, op: KvOp) -> Result<KvRet, String> {
    let cluster = target.resolve(System::Kv)?;
    let mut client = cluster.kv_client(vec![op])?;
    let mut answer = None;
    let done = run_until(
        &mut client,
        &AtomicBool::new(false),
        Some(cluster.deadline()),
        |state| state.next >= 1,
        |_, msg| {
            if let Msg::Client(ClientMsg::Reply { seq: 1, ret }) = msg {
                answer = Some(ret.clone());
            }
        },
    )?;
    match (done, answer) {
        (true, Some(ret)) => Ok(ret),
        _ => Err(cluster.unreachable("leader")),
    }
}
