//! `coord chain put|get`: one operation on a running chain by the client actor the chain
//! models check. A put goes to the head and a classic get to the tail, both by way of the
//! manager's redirect; `get --craq` asks a random node, which answers at its clean
//! version or after asking the tail (CRAQ).

use crate::kv::{answer, report, GetArgs, PutArgs};
use crate::logging;
use crate::system::System;

#[derive(clap::Subcommand, Debug)]
pub enum ChainCommand {
    /// Store VALUE under KEY (only if KEY is at version V, with --expect-version V).
    Put(PutArgs),
    /// Print KEY's value and version, read at the tail (or at any node with --craq).
    Get {
        #[command(flatten)]
        get: GetArgs,
        /// Read at a random node (CRAQ) rather than at the tail.
        #[arg(long)]
        craq: bool,
    },
}

pub fn run(command: &ChainCommand) -> Result<bool, String> {
    logging::init();
    let (op, target, craq) = match command {
        ChainCommand::Put(put) => (put.op(), &put.target, false),
        ChainCommand::Get { get, craq } => (get.op(), &get.target, *craq),
    };
    let cluster = target.resolve(System::Chain)?;
    let node = craq.then(|| rand::random_range(0..cluster.size().saturating_sub(1).max(1)));
    let client = cluster.chain_client(vec![op.clone()], node)?;
    report(&op, answer(&cluster, client, "chain node"))
}
