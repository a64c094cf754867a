//! `coord explore NAME`: stateright's Explorer web UI on one check.

use crate::SizeArgs;
use std::net::{SocketAddr, TcpListener};

#[derive(clap::Args)]
pub struct ExploreArgs {
    /// The check to explore (`coord list` names them).
    name: String,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    #[command(flatten)]
    sizes: SizeArgs,
}

pub fn run(args: &ExploreArgs) -> Result<(), String> {
    let checks = coord_models::select(std::slice::from_ref(&args.name))?;
    let check = checks
        .into_iter()
        .find(|c| c.name == args.name)
        .ok_or_else(|| format!("{:?} names a family; explore one check of it", args.name))?;
    let model = check.model(&args.sizes.bounds())?;
    // Fail with a clear message rather than a panic inside the web server.
    drop(TcpListener::bind(args.addr).map_err(|e| format!("cannot serve on {}: {e}", args.addr))?);
    println!(
        "Explorer for {} on http://{} (Ctrl-C to stop)",
        check.name, args.addr
    );
    model.explore(&args.addr.to_string());
    Ok(())
}
