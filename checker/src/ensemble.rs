//! `coord zookeeper up`: a real ZooKeeper 3.8 ensemble (Debian's package) on 127.0.0.1,
//! in the foreground until Ctrl-C, when every member is stopped: the server coord's
//! ZooKeeper is compared with, for any client that speaks ZooKeeper's protocol.

use coord_checker::members::Members;
use coord_checker::zookeeper::ZooKeeperEnsemble;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum ZooKeeperCommand {
    /// Start an ensemble on free ports, print its connect string, stay in the foreground;
    /// Ctrl-C stops it and removes its files.
    Up {
        /// Number of members.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
        members: u16,
    },
}

pub fn run(command: &ZooKeeperCommand) -> Result<bool, String> {
    let ZooKeeperCommand::Up { members } = command;
    let interrupted = on_interrupt()?;
    let ensemble = ZooKeeperEnsemble::start(usize::from(*members))?;
    for i in 0..ensemble.count() {
        let pid = ensemble.pid(i).unwrap_or_default();
        println!("member {i}: {} (pid {pid})", ensemble.client_addr(i));
    }
    println!("version: ZooKeeper {}", ensemble.version(0)?);
    println!("files:   {}", ensemble.dir().display());
    println!("connect: {}", ensemble.connect_string());
    println!("Ctrl-C stops the ensemble.");
    while !interrupted.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("stopping the ensemble");
    Ok(true)
}

/// A flag that Ctrl-C (or SIGTERM) sets, so that a command that started processes stops
/// them before it exits.
pub fn on_interrupt() -> Result<Arc<AtomicBool>, String> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    ctrlc::set_handler(move || set.store(true, Ordering::Relaxed))
        .map_err(|e| format!("cannot handle signals: {e}"))?;
    Ok(flag)
}
