//! ZooKeeper's four-letter words: a command sent as the first four bytes of a connection,
//! answered in plain text, after which the server closes the connection. These answer
//! `ruok`, `srvr`, `stat`, `envi`, `mntr`, `conf` and `isro` in ZooKeeper's formats, from
//! the node's counters and the znode server's state.

use std::fmt::Write;

/// The version this server reports: ZooKeeper's protocol version it speaks, then coord's.
pub const VERSION: &str = concat!("3.8.0-coord-", env!("CARGO_PKG_VERSION"));

/// The words this server answers.
pub const WORDS: [&[u8; 4]; 7] = [
    b"ruok", b"srvr", b"stat", b"envi", b"mntr", b"conf", b"isro",
];

/// What the words report, gathered from the node's state and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `leader`, `follower` or `standalone` (ZooKeeper's `Mode`); `None` while the node
    /// knows no leader, when ZooKeeper's server is not running.
    pub mode: Option<&'static str>,
    pub zxid: u64,
    pub node_count: u64,
    pub watch_count: u64,
    pub ephemerals_count: u64,
    pub approximate_data_size: u64,
    /// Latency of answered requests, in milliseconds: min, total and count, max.
    pub latency_min: u64,
    pub latency_total: u64,
    pub latency_count: u64,
    pub latency_max: u64,
    pub received: u64,
    pub sent: u64,
    pub connections: u64,
    pub outstanding: u64,
    /// One line per connection for `stat`: ` /ip:port[1](queued=..,recved=..,sent=..)`.
    pub clients: Vec<String>,
    /// `key=value` lines for `conf`.
    pub conf: Vec<(String, String)>,
    /// With a leader: its followers and how many of them are in sync.
    pub followers: Option<(u64, u64)>,
}

/// The answer to `word`, or `None` if this server does not know it.
pub fn answer(word: &[u8; 4], report: &Report) -> Option<String> {
    let serving = report.mode.is_some();
    let text = match word {
        b"ruok" => "imok".to_string(),
        b"isro" => match serving {
            true => "rw".to_string(),
            false => "null".to_string(),
        },
        b"srvr" | b"stat" if !serving => not_serving(),
        b"srvr" => status(report, false),
        b"stat" => status(report, true),
        b"envi" => environment(),
        b"mntr" if !serving => not_serving(),
        b"mntr" => monitor(report),
        b"conf" => conf(report),
        _ => return None,
    };
    Some(text)
}

fn not_serving() -> String {
    "This ZooKeeper instance is not currently serving requests\n".to_string()
}

/// `srvr`, and `stat` with the connections listed.
fn status(r: &Report, clients: bool) -> String {
    let mut s = format!("Zookeeper version: {VERSION}\n");
    if clients {
        s.push_str("Clients:\n");
        for line in &r.clients {
            let _ = writeln!(s, "{line}");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Latency min/avg/max: {}/{}/{}",
        r.latency_min,
        java_double(average(r)),
        r.latency_max
    );
    let _ = writeln!(s, "Received: {}", r.received);
    let _ = writeln!(s, "Sent: {}", r.sent);
    let _ = writeln!(s, "Connections: {}", r.connections);
    let _ = writeln!(s, "Outstanding: {}", r.outstanding);
    let _ = writeln!(s, "Zxid: 0x{:x}", r.zxid);
    let _ = writeln!(s, "Mode: {}", r.mode.unwrap_or("standalone"));
    let _ = writeln!(s, "Node count: {}", r.node_count);
    s
}

fn average(r: &Report) -> f64 {
    match r.latency_count {
        0 => 0.0,
        n => r.latency_total as f64 / n as f64,
    }
}

/// A double as Java prints it: shortest digits, and `.0` for a whole number.
fn java_double(v: f64) -> String {
    match v.fract() == 0.0 {
        true => format!("{v:.1}"),
        false => format!("{v}"),
    }
}

fn environment() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let dir = std::env::current_dir().map_or("?".into(), |d| d.display().to_string());
    let lines = [
        ("zookeeper.version", VERSION.to_string()),
        ("host.name", host),
        ("os.name", std::env::consts::OS.to_string()),
        ("os.arch", std::env::consts::ARCH.to_string()),
        ("user.dir", dir),
    ];
    let mut s = "Environment:\n".to_string();
    for (k, v) in lines {
        let _ = writeln!(s, "{k}={v}");
    }
    s
}

/// `mntr`: one `name<TAB>value` per line.
fn monitor(r: &Report) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(s, "zk_{k}\t{v}");
    };
    line("version", VERSION.to_string());
    line("server_state", r.mode.unwrap_or("standalone").to_string());
    line("avg_latency", java_double(average(r)));
    line("max_latency", r.latency_max.to_string());
    line("min_latency", r.latency_min.to_string());
    line("packets_received", r.received.to_string());
    line("packets_sent", r.sent.to_string());
    line("num_alive_connections", r.connections.to_string());
    line("outstanding_requests", r.outstanding.to_string());
    line("znode_count", r.node_count.to_string());
    line("watch_count", r.watch_count.to_string());
    line("ephemerals_count", r.ephemerals_count.to_string());
    line("approximate_data_size", r.approximate_data_size.to_string());
    if let Some((followers, synced)) = r.followers {
        line("followers", followers.to_string());
        line("synced_followers", synced.to_string());
    }
    s
}

fn conf(r: &Report) -> String {
    let mut s = String::new();
    for (k, v) in &r.conf {
        let _ = writeln!(s, "{k}={v}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            mode: Some("leader"),
            zxid: 0x1f,
            node_count: 5,
            latency_min: 1,
            latency_total: 9,
            latency_count: 3,
            latency_max: 5,
            received: 10,
            sent: 9,
            connections: 2,
            clients: vec![" /127.0.0.1:5000[1](queued=0,recved=3,sent=3)".into()],
            conf: vec![("clientPort".into(), "2181".into())],
            followers: Some((2, 1)),
            ..Report::default()
        }
    }

    #[test]
    fn ruok_and_isro_are_one_word() {
        assert_eq!(answer(b"ruok", &report()).unwrap(), "imok");
        assert_eq!(answer(b"isro", &report()).unwrap(), "rw");
        assert_eq!(answer(b"dump", &report()), None);
    }

    #[test]
    fn srvr_reads_as_zookeepers_and_stat_adds_the_clients() {
        let srvr = answer(b"srvr", &report()).unwrap();
        let expected = format!(
            "Zookeeper version: {VERSION}\nLatency min/avg/max: 1/3.0/5\nReceived: 10\n\
             Sent: 9\nConnections: 2\nOutstanding: 0\nZxid: 0x1f\nMode: leader\nNode count: 5\n"
        );
        assert_eq!(srvr, expected);
        let stat = answer(b"stat", &report()).unwrap();
        assert!(stat.contains("Clients:\n /127.0.0.1:5000[1](queued=0,recved=3,sent=3)\n\n"));
        assert!(stat.ends_with("Node count: 5\n"));
    }

    #[test]
    fn a_node_without_a_leader_is_not_serving() {
        let idle = Report {
            mode: None,
            ..report()
        };
        assert!(answer(b"srvr", &idle)
            .unwrap()
            .contains("not currently serving"));
        assert_eq!(answer(b"isro", &idle).unwrap(), "null");
        assert_eq!(answer(b"ruok", &idle).unwrap(), "imok");
    }

    #[test]
    fn mntr_is_tab_separated_and_envi_names_the_version_kazoo_parses() {
        let mntr = answer(b"mntr", &report()).unwrap();
        assert!(mntr.contains("zk_server_state\tleader\n"));
        assert!(mntr.contains("zk_znode_count\t5\n"));
        assert!(mntr.contains("zk_synced_followers\t1\n"));
        let envi = answer(b"envi", &report()).unwrap();
        assert!(envi.starts_with("Environment:\nzookeeper.version=3.8.0-coord-"));
        assert_eq!(answer(b"conf", &report()).unwrap(), "clientPort=2181\n");
    }
}
