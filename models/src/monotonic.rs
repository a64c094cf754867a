//! Monotonic reads per (client, server): the versions a client reads from one server never
//! go down. A weaker guarantee than linearizability, which the models check where reads
//! are deliberately not linearizable (CRAQ's eventual reads).

use coord::client::{ClientMsg, Wire};
use coord_specs::kv::{KvOp, KvRet, Version};
use stateright::actor::{Envelope, Id};
use std::collections::BTreeMap;

/// The latest version each client read from each server, and whether a read ever
/// returned a lower version than an earlier read by the same client from the same server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReadOrder {
    latest: BTreeMap<(Id, Id), Version>,
    went_back: bool,
}

impl ReadOrder {
    /// `record_msg_in` hook: a read's answer arriving at its client. `None` for any other
    /// message.
    pub fn on_receive<M: Wire<KvOp, KvRet>>(&self, env: Envelope<&M>) -> Option<Self> {
        let Some(ClientMsg::Reply {
            ret: KvRet::GetOk { version, .. },
            ..
        }) = env.msg.as_client()
        else {
            return None;
        };
        let mut next = self.clone();
        let latest = next.latest.entry((env.dst, env.src)).or_default();
        next.went_back |= *version < *latest;
        *latest = (*latest).max(*version);
        Some(next)
    }

    /// True if no client has read an older version from a server than it read before.
    pub fn is_monotonic(&self) -> bool {
        !self.went_back
    }
}
