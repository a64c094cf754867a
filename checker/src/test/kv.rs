//! The Raft KV service under test: a random mix of gets, puts and conditional puts on a
//! few shared keys, each performed by the model-checked client actor.

use super::settle::{raft_leads, raft_settled};
use super::subject::{FirstReply, Subject, Versioned};
use crate::client::{run_until, Cluster};
use coord::client::ClientMsg;
use coord::net::stats::StatsReply;
use coord::raft::Msg;
use coord_specs::kv::{KvOp, KvRet, KvSpec, Version};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// A Raft KV cluster.
pub struct Kv {
    pub cluster: Cluster,
}

impl Subject for Kv {
    type Spec = KvSpec;
    const SPEC: &'static str = "kv";

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

    /// One fresh client actor per operation (a new id, a random first server), as `coord
    /// kv` runs one: it retries at other servers and follows redirects on its own. Every
    /// read is linearizable (a ReadIndex read at the leader), strict or not.
    fn perform(
        &self,
        op: KvOp,
        _strict: bool,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&KvRet),
    ) -> Result<Option<KvRet>, String> {
        let mut client = self.cluster.kv_client(vec![op])?;
        let mut reply = FirstReply::new(on_reply);
        let observe = |_, msg: &Msg<KvOp, KvRet>| {
            if let Msg::Client(ClientMsg::Reply { seq: 1, ret }) = msg {
                reply.offer(|| ret.clone());
            }
        };
        run_until(&mut client, stop, Some(deadline), |s| s.next >= 1, observe)?;
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
        })
    }

    fn read(&self, key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    fn leads(&self, node: &StatsReply) -> bool {
        raft_leads(node)
    }

    fn settled(&self, nodes: &[StatsReply]) -> bool {
        raft_settled(nodes)
    }
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
        let target = crate::client::Target::of_members(Vec::new(), None);
        Kv {
            cluster: target.resolve(crate::system::System::Kv).unwrap(),
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
