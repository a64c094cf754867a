//! `coord stats ADDR`: a running node's status line and counters.

use coord::net::admin::request_stats;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    /// The node's address.
    addr: SocketAddr,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

pub fn run(args: &StatsArgs) -> Result<bool, String> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let reply = request_stats(args.addr, timeout).map_err(|e| format!("{}: {e}", args.addr))?;
    println!("status {}", reply.status);
    if !reply.partitioned_from.is_empty() {
        let peers: Vec<String> = reply
            .partitioned_from
            .iter()
            .map(|p| p.to_string())
            .collect();
        println!("partitioned from {}", peers.join(" "));
    }
    print!("{}", reply.stats);
    Ok(true)
}
