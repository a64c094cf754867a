//! Log output for the commands that run nodes and clients: `tracing` events on stderr,
//! filtered by `RUST_LOG` (warnings and errors by default).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
