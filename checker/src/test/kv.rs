//! The Raft KV service under test: a random mix of gets, puts and conditional puts on a
//! few shared keys, each performed by the model-checked client actor.

use super::subject::{Subject, Writes};
use crate::client::Cluster;
use coord::client::ClientMsg;
use coord::net::stats::StatsReply;
use coord::raft::Msg;
use coord_specs::history::{Client, History};
use coord_specs::kv::{Key, KvOp, KvRet, KvSpec, Version};
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// A Raft KV cluster, and the keys its clients share.
pub struct Kv {
    pub cluster: Cluster,
    pub keys: u16,
}

/// What a client remembers: the newest version it saw of each key (the version its next
/// conditional put expects), and how many values it has written (each value is unique,
/// `c<client>-<n>`, so a read names the write it saw).
pub struct KvSession {
    client: Client,
    seen: BTreeMap<Key, Version>,
    written: u64,
}

impl Subject for Kv {
    type Spec = KvSpec;
    type Session = KvSession;
    const SPEC: &'static str = "kv";

    fn session(&self, client: Client) -> KvSession {
        KvSession {
            client,
            seen: BTreeMap::new(),
            written: 0,
        }
    }

    /// Half gets, three in ten puts, two in ten puts conditional on the version last seen.
    fn next_op(&self, session: &mut KvSession, rng: &mut StdRng) -> KvOp {
        let key: Key = format!("k{}", rng.random_range(0..self.keys)).into();
        let roll = rng.random_range(0..10);
        if roll < 5 {
            return KvOp::Get { key };
        }
        session.written += 1;
        let value = format!("c{}-{}", session.client, session.written).into();
        let expected = (roll >= 8).then(|| session.seen.get(&key).copied().unwrap_or(0));
        KvOp::Put {
            key,
            value,
            expected,
        }
    }

    fn saw(&self, session: &mut KvSession, op: &KvOp, ret: &KvRet) {
        let version = match *ret {
            KvRet::PutOk { version }
            | KvRet::VersionMismatch { current: version }
            | KvRet::GetOk { version, .. } => version,
        };
        session.seen.insert(op.key().clone(), version);
    }

    fn failed(&self, ret: &KvRet) -> bool {
        matches!(ret, KvRet::VersionMismatch { .. })
    }

    /// One fresh client actor per operation (a new id, a random first server), as `coord
    /// kv` runs one: it retries at other servers and follows redirects on its own.
    fn perform(
        &self,
        op: KvOp,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&KvRet),
    ) -> Result<Option<KvRet>, String> {
        let mut client = self.cluster.kv_client(vec![op])?;
        let mut answer = None;
        let observe = |_, msg: &Msg<KvOp, KvRet>| {
            if let (None, Msg::Client(ClientMsg::Reply { seq: 1, ret })) = (&answer, msg) {
                on_reply(ret);
                answer = Some(ret.clone());
            }
        };
        (client.run(stop, Some(deadline), |state| state.next >= 1, observe))
            .map_err(|e| format!("client: {e}"))?;
        Ok(answer)
    }

    /// A get of every key that an acknowledged put wrote.
    fn read_back(&self, history: &History<KvSpec>) -> Vec<KvOp> {
        let keys: BTreeSet<&Key> = (history.iter())
            .filter(|op| matches!(op.ret(), Some(KvRet::PutOk { .. })))
            .map(|op| op.op.key())
            .collect();
        (keys.into_iter())
            .map(|key| KvOp::Get { key: key.clone() })
            .collect()
    }

    /// Rule (versions): every put that takes effect raises its key's version by one, so an
    /// acknowledged put at version v is lost if the final read shows a version below v, or
    /// v with another value.
    fn lost_writes(&self, history: &History<KvSpec>, reader: Client) -> Writes {
        let mut last: BTreeMap<&Key, (Option<&str>, Version)> = BTreeMap::new();
        for op in history.iter().filter(|op| op.client == reader) {
            if let Some(KvRet::GetOk { value, version }) = op.ret() {
                last.insert(op.op.key(), (value.as_deref(), *version));
            }
        }
        let mut writes = Writes::default();
        for op in history.iter().filter(|op| op.client != reader) {
            let (Some(&KvRet::PutOk { version }), KvOp::Put { key, value, .. }) =
                (op.ret(), &op.op)
            else {
                continue;
            };
            writes.acknowledged += 1;
            match last.get(key) {
                None => writes.unverified += 1,
                Some(&(shown, current)) => {
                    let kept = version < current || (version == current && shown == Some(value));
                    writes.lost += usize::from(!kept);
                }
            }
        }
        writes
    }

    fn leads(&self, node: &StatsReply) -> bool {
        node.field("role") == Some("leader")
    }

    /// One leader, and every node has applied all it holds, as far as the leader has.
    fn settled(&self, nodes: &[StatsReply]) -> bool {
        let number = |reply: &StatsReply, name| reply.field(name)?.parse::<u64>().ok();
        let leaders: Vec<&StatsReply> = nodes.iter().filter(|n| self.leads(n)).collect();
        let [leader] = leaders.as_slice() else {
            return false;
        };
        let target = (number(leader, "commit"), number(leader, "last"));
        (nodes.iter()).all(|n| (number(n, "applied"), number(n, "last")) == target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coord_specs::history::{Operation, Outcome};

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
            keys: 2,
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
        assert_eq!(kv().read_back(&history).len(), 3);
        let writes = kv().lost_writes(&history, reader);
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
        assert_eq!(kv().lost_writes(&older, reader).lost, 1);
    }
}
