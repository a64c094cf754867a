//! The versioned key-value map under test, replicated by Raft or by chain replication:
//! gets, puts and conditional puts, each performed by the model-checked client actor.

use super::chain::Chain;
use super::role::Role;
use super::settle::{raft_holders, raft_leads, raft_replaced, raft_settled};
use super::subject::{FirstReply, Subject, Versioned};
use crate::client::{run_until, Cluster};
use coord::client::{Client, Wire};
use coord::net::admit::Admit;
use coord::net::stats::StatsReply;
use coord::net::Runtime;
use coord_specs::kv::{KvOp, KvRet, KvSpec, Version};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// A cluster that replicates the map.
pub struct Kv {
    pub cluster: Cluster,
    pub service: Service,
}

/// Which protocol replicates the map, and how its clients read.
pub enum Service {
    Raft,
    /// Chain replication: the nodes in chain order, then the manager's replicas.
    Chain(Chain),
}

impl Subject for Kv {
    type Spec = KvSpec;
    const SPEC: &'static str = "kv";
    type Conn = ();

    fn key(&self, i: u16) -> String {
        format!("k{i}")
    }

    fn write(&self, key: &str, value: &str, expected: Option<i64>) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
            expected: expected.map(|v| v.max(0) as Version),
        }
    }

    fn failed(&self, ret: &KvRet) -> bool {
        matches!(ret, KvRet::VersionMismatch { .. })
    }

    /// One fresh client actor per operation, as `coord kv` and `coord chain` run one: it
    /// retries at other servers and follows redirects on its own. A Raft client starts at
    /// a random server, and every read is linearizable (ReadIndex). A chain client's write
    /// starts at the manager, which sends it to the head; a read (unless `strict`: then
    /// at the manager, which sends it to the tail) starts at a random node, which answers
    /// it under CRAQ reads, and under tail reads sends it on to the tail it knows of, as
    /// a client that remembers an old configuration would.
    fn perform(
        &self,
        _: &mut (),
        op: KvOp,
        strict: bool,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&KvRet),
    ) -> Result<Option<KvRet>, String> {
        let mut reply = FirstReply::new(on_reply);
        match &self.service {
            Service::Raft => {
                let client = self.cluster.kv_client(vec![op])?;
                call(client, stop, deadline, &mut reply)?;
            }
            Service::Chain(chain) => {
                let anywhere = op.is_read() && !strict;
                let node = anywhere.then(|| rand::random_range(0..chain.nodes.len()));
                let client = self.cluster.chain_client(vec![op], node)?;
                call(client, stop, deadline, &mut reply)?;
            }
        }
        Ok(reply.answer)
    }

    fn write_of<'a>(&self, op: &'a KvOp, ret: &'a KvRet) -> Option<Versioned<'a>> {
        let (KvOp::Put { key, value, .. }, KvRet::PutOk { version }) = (op, ret) else {
            return None;
        };
        let (key, value, version) = (key.as_str(), Some(value.as_str()), *version as i64);
        Some(Versioned {
            key,
            value,
            version,
            zxid: None,
        })
    }

    fn read_of<'a>(&self, op: &'a KvOp, ret: &'a KvRet) -> Option<Versioned<'a>> {
        let KvRet::GetOk { value, version } = ret else {
            return None;
        };
        let (key, value, version) = (op.key().as_str(), value.as_deref(), *version as i64);
        Some(Versioned {
            key,
            value,
            version,
            zxid: None,
        })
    }

    fn read(&self, key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    fn ready(&self, nodes: &[StatsReply]) -> bool {
        match &self.service {
            Service::Raft => nodes.iter().any(raft_leads),
            Service::Chain(chain) => chain.ready(nodes),
        }
    }

    fn holders(&self, nodes: &[Option<StatsReply>], role: Role) -> Vec<usize> {
        match &self.service {
            Service::Raft => raft_holders(nodes, role),
            Service::Chain(chain) => chain.holders(nodes, role),
        }
    }

    fn replaced(&self, nodes: &[Option<StatsReply>], target: usize, role: Option<Role>) -> bool {
        match &self.service {
            Service::Raft => raft_replaced(nodes, target, role),
            Service::Chain(chain) => chain.replaced(nodes, target, role),
        }
    }

    fn groups(&self, members: usize) -> Vec<Range<usize>> {
        match &self.service {
            Service::Raft => std::iter::once(0..members).collect(),
            Service::Chain(chain) => chain.groups(members),
        }
    }

    /// Raft: one leader and everything applied. Chain: see [`Chain::settled`].
    fn settled(&self, nodes: &[StatsReply]) -> bool {
        match &self.service {
            Service::Raft => raft_settled(nodes),
            Service::Chain(chain) => chain.settled(nodes),
        }
    }
}

/// Runs a one-call `client` until its reply (kept in `reply`), `deadline` or `stop`.
fn call<M>(
    mut client: Runtime<Client<KvOp, KvRet, M>>,
    stop: &AtomicBool,
    deadline: Instant,
    reply: &mut FirstReply<KvRet>,
) -> Result<(), String>
where
    M: Wire<KvOp, KvRet> + Admit + Clone + Debug + Eq + Hash + Serialize + DeserializeOwned,
{
    let observe = |_, msg: &M| {
        if let Some(coord::client::ClientMsg::Reply { seq: 1, ret }) = msg.as_client() {
            reply.offer(|| ret.clone());
        }
    };
    run_until(&mut client, stop, Some(deadline), |s| s.next >= 1, observe)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::subject::{lost_writes, read_back, Writes};
    use super::*;
    use coord_specs::history::{Client, Operation, Outcome};

    fn put(client: Client, key: &str, value: &str, version: Version) -> Operation<KvOp, KvRet> {
        Operation {
            client,
            op: KvOp::Put {
                key: key.into(),
                value: value.into(),
                expected: None,
            },
            invoked: 0,
            outcome: Outcome::Returned {
                at: 1,
                ret: KvRet::PutOk { version },
            },
        }
    }

    fn get(client: Client, key: &str, value: &str, version: Version) -> Operation<KvOp, KvRet> {
        Operation {
            client,
            op: KvOp::Get { key: key.into() },
            invoked: 2,
            outcome: Outcome::Returned {
                at: 3,
                ret: KvRet::GetOk {
                    value: Some(value.into()),
                    version,
                },
            },
        }
    }

    fn kv() -> Kv {
        let target = crate::client::Target::of_members(Vec::new(), 0, None);
        Kv {
            cluster: target.resolve(crate::system::System::Kv).unwrap(),
            service: Service::Raft,
        }
    }

    #[test]
    fn a_write_is_lost_if_the_final_read_shows_an_older_version_or_another_value() {
        let reader = 9;
        let history = vec![
            put(0, "a", "x", 1),
            put(1, "a", "y", 2),
            put(0, "b", "z", 1),
            put(1, "b", "w", 2),
            put(1, "c", "v", 1),
            get(reader, "a", "y", 2),
            get(reader, "b", "q", 2),
        ];
        assert_eq!(read_back(&kv(), &history).len(), 3);
        let writes = lost_writes(&kv(), &history, reader);
        let expected = Writes {
            acknowledged: 5,
            lost: 1,
            unverified: 1,
        };
        assert_eq!(writes, expected);
        let older = vec![
            put(0, "a", "x", 1),
            put(1, "a", "y", 2),
            get(reader, "a", "x", 1),
        ];
        assert_eq!(lost_writes(&kv(), &older, reader).lost, 1);
    }
}
