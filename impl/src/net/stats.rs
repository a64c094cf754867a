//! A node's counters: what came in, what went out, what was dropped and why, and what
//! was saved. Printed on shutdown and sent to anyone who asks with a stats datagram.

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::fmt;

/// Counters of one node since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub msgs_in: u64,
    pub msgs_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Datagrams without a coord header, of another version or kind, or whose body does
    /// not decode (unknown message variants included).
    pub decode_errors: u64,
    /// Datagrams over the size limit.
    pub oversized: u64,
    /// Peer-only messages from an address that is not the configured peer's.
    pub dropped_non_peer: u64,
    /// Peer-only messages from a peer's address without a valid tag (with a cluster key).
    pub dropped_unauthenticated: u64,
    /// Messages to a client whose address this node has not learned.
    pub unroutable: u64,
    /// Outgoing messages that failed to encode or send.
    pub send_errors: u64,
    pub saves: u64,
    pub bytes_saved: u64,
    pub timers_fired: u64,
    /// Admin commands obeyed (partitions and heals).
    pub admin_commands: u64,
    /// Admin datagrams refused: not from this machine, or unsigned in a keyed cluster.
    pub dropped_admin: u64,
    /// Messages dropped because their sender is cut off by a partition.
    pub partitioned_in: u64,
    /// Messages not sent because their destination is cut off by a partition.
    pub partitioned_out: u64,
    /// Frames sent and received over peer links (messages too large for a datagram).
    pub link_frames_out: u64,
    pub link_frames_in: u64,
    /// Messages a peer link dropped: it could not connect, or its queue was full.
    pub link_dropped: u64,
    /// Connections accepted at the client port (ZooKeeper's protocol), and refused there
    /// because the node had too many (from that address, or in all).
    pub client_accepted: u64,
    pub client_refused: u64,
    /// Client connections closed for a frame that breaks the protocol (a length over the
    /// limit, a record that does not decode, an unknown opcode).
    pub client_bad_frames: u64,
    /// Frames received and sent at the client port, four-letter words included.
    pub client_frames_in: u64,
    pub client_frames_out: u64,
}

/// The answer to a stats request or an admin command: counters, the actor's own one-line
/// status, and the peers a partition cuts the node off from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReply {
    pub stats: Stats,
    pub status: String,
    pub partitioned_from: Vec<Id>,
}

impl StatsReply {
    /// A `name=value` field of the status line, such as `role` in `role=leader term=2`.
    pub fn field(&self, name: &str) -> Option<&str> {
        (self.status.split_whitespace()).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }
}

impl Stats {
    fn fields(&self) -> [(&'static str, u64); 25] {
        [
            ("msgs_in", self.msgs_in),
            ("msgs_out", self.msgs_out),
            ("bytes_in", self.bytes_in),
            ("bytes_out", self.bytes_out),
            ("decode_errors", self.decode_errors),
            ("oversized", self.oversized),
            ("dropped_non_peer", self.dropped_non_peer),
            ("dropped_unauthenticated", self.dropped_unauthenticated),
            ("unroutable", self.unroutable),
            ("send_errors", self.send_errors),
            ("saves", self.saves),
            ("bytes_saved", self.bytes_saved),
            ("timers_fired", self.timers_fired),
            ("admin_commands", self.admin_commands),
            ("dropped_admin", self.dropped_admin),
            ("partitioned_in", self.partitioned_in),
            ("partitioned_out", self.partitioned_out),
            ("link_frames_out", self.link_frames_out),
            ("link_frames_in", self.link_frames_in),
            ("link_dropped", self.link_dropped),
            ("client_accepted", self.client_accepted),
            ("client_refused", self.client_refused),
            ("client_bad_frames", self.client_bad_frames),
            ("client_frames_in", self.client_frames_in),
            ("client_frames_out", self.client_frames_out),
        ]
    }
}

/// One `name value` pair per line.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.fields() {
            writeln!(f, "{name} {value}")?;
        }
        Ok(())
    }
}
