//! `coord counter incr PATH`: the counter recipe (`coord::recipes::counter`), the very
//! program the `znode-counter` checks run, as one client session; prints the new value.

use crate::client::{run_until, Target};
use crate::logging;
use crate::system::System;
use crate::zk::{check_path, explain};
use coord::recipes::counter::{Counter, Phase};
use coord_specs::znode::build::create;
use coord_specs::znode::CreateMode;
use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The pause after a first conflict, doubled after each further one...
const BACKOFF: Range<Duration> = Duration::from_millis(10)..Duration::from_millis(20);
/// ...at most this many times (to 0.64 to 1.28 s).
const MAX_DOUBLINGS: u32 = 6;

#[derive(clap::Subcommand, Debug)]
pub enum CounterCommand {
    /// Add one to the counter at PATH (created with value 0 if there is none) and print
    /// its new value.
    Incr {
        path: String,
        #[command(flatten)]
        target: Target,
    },
}

pub fn run(command: &CounterCommand) -> Result<bool, String> {
    logging::init();
    let CounterCommand::Incr { path, target } = command;
    check_path(path)?;
    let cluster = target.resolve(System::Zk)?;
    let mut client = cluster.zk_client(|_| Counter::new(path, BACKOFF, MAX_DOUBLINGS))?;
    let done = run_until(
        &mut client,
        &AtomicBool::new(false),
        Some(cluster.deadline()),
        |state| state.done,
        |_, _| {},
    )?;
    let counter = &client.state().program;
    match counter.phase {
        Phase::Done if done => {
            println!("{}", counter.value);
            Ok(true)
        }
        // The only call whose error ends the increment, bar a deletion meanwhile, is the
        // creation of a missing counter.
        Phase::Failed(error) => {
            let creation = create(path, "0", CreateMode::Persistent, 0);
            eprintln!("error: {}", explain(error, &creation));
            Ok(false)
        }
        _ => {
            eprintln!("error: {}", cluster.unreachable("leader"));
            Ok(false)
        }
    }
}
