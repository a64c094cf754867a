//! Plain reads judged by what ZooKeeper promises them, which is less than linearizability:
//! a session never reads older than what it already saw or wrote (ZooKeeper's
//! "sequential consistency" and "single system image": a server that is behind the
//! session's last zxid refuses it). A plain read may be stale with respect to other
//! sessions' writes; only the session's own past bounds it. Writes and `sync` reads are
//! still judged linearizable, by the history checker, on the history without the plain
//! reads.
//!
//! A plain read of a key is stale for its session if
//! - (versions) it shows a version below the newest version of that key the session had
//!   already read or written, or that version with another value; or
//! - (zxids, for a system that numbers its writes in one order) the key was written at a
//!   zxid above the one of the state the read shows and no higher than the newest zxid
//!   the session had seen, of any key: a server serves a state as of one zxid, and one
//!   that has the session's newest zxid has every write up to it. The writes of a key
//!   known are those the history shows: acknowledged, or read by anyone.

use super::subject::{Op, Ret, Subject, Versioned};
use coord_specs::history::{Client, History, HistorySpec, Operation, Time};
use std::collections::{BTreeMap, BTreeSet};

/// A plain read that shows an older state than its session had seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub client: Client,
    /// When the read was invoked and returned.
    pub read: (Time, Time),
    pub key: String,
    /// The version it read.
    pub version: i64,
    pub why: Why,
}

/// What the session had seen that the stale read is older than.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Version `seen` of the same key, when the call that showed it returned at `at`.
    Version { seen: i64, at: Time },
    /// Zxid `horizon`, while the key was written at zxid `written`, above the read's
    /// `zxid` and no higher than `horizon`.
    Zxid {
        zxid: u64,
        written: u64,
        horizon: u64,
    },
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |t: Time| t as f64 / 1e6;
        let (client, key, version) = (self.client, &self.key, self.version);
        let (from, to) = (s(self.read.0), s(self.read.1));
        write!(
            f,
            "client {client} read {key} at version {version} ({from:.3} s to {to:.3} s)"
        )?;
        match self.why {
            Why::Version { seen, at } => {
                write!(f, ", after it had seen version {seen} at {:.3} s", s(at))
            }
            Why::Zxid {
                zxid,
                written,
                horizon,
            } => write!(
                f,
                " as of zxid {zxid:#x}, after it had seen zxid {horizon:#x}, by which the \
                 key was written at {written:#x}"
            ),
        }
    }
}

/// Whether `op` is one of the plain reads judged per session: a read by a workload
/// client (not the `reader`, whose reads are `sync` reads).
pub fn plain_read<S: Subject>(op: &Operation<Op<S>, Ret<S>>, reader: Client) -> bool {
    op.client != reader && S::Spec::changes_nothing(&op.op, None)
}

/// The state of a key that `op` wrote or read, if it returned.
fn shown<'a, S: Subject>(subject: &S, op: &'a Operation<Op<S>, Ret<S>>) -> Option<Versioned<'a>> {
    let ret = op.ret()?;
    (subject.write_of(&op.op, ret)).or_else(|| subject.read_of(&op.op, ret))
}

/// The plain reads of `history` (as [`plain_read`] tells them) that are stale by the
/// rules of this module, in each client's order.
pub fn stale_reads<S: Subject>(
    subject: &S,
    history: &History<S::Spec>,
    reader: Client,
) -> Vec<Stale> {
    let mut written: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for op in history {
        if let Some(state) = shown(subject, op) {
            written.entry(state.key).or_default().extend(state.zxid);
        }
    }
    let mut order: Vec<&Operation<Op<S>, Ret<S>>> = history.iter().collect();
    order.sort_by_key(|op| (op.client, op.invoked));
    let mut seen = BTreeMap::new();
    let mut horizon: BTreeMap<Client, u64> = BTreeMap::new();
    let mut stale = Vec::new();
    for op in order {
        let (Some(state), Some(at)) = (shown(subject, op), op.returned()) else {
            continue;
        };
        let before = seen.get(&(op.client, state.key)).copied();
        let why = match plain_read::<S>(op, reader) {
            false => None,
            true => (before.and_then(|(newest, when): (Versioned, Time)| {
                let older = state.version < newest.version
                    || (state.version == newest.version && state.value != newest.value);
                older.then_some(Why::Version {
                    seen: newest.version,
                    at: when,
                })
            }))
            .or_else(|| {
                let (zxid, &horizon) = (state.zxid?, horizon.get(&op.client)?);
                let newer = written.get(state.key)?.range(zxid + 1..).next();
                let later = newer.filter(|&&written| written <= horizon);
                later.map(|&written| Why::Zxid {
                    zxid,
                    written,
                    horizon,
                })
            }),
        };
        if let Some(why) = why {
            let (client, read, key) = (op.client, (op.invoked, at), state.key.to_string());
            let version = state.version;
            stale.push(Stale {
                client,
                read,
                key,
                version,
                why,
            });
        }
        if before.is_none_or(|(newest, _)| state.version >= newest.version) {
            seen.insert((op.client, state.key), (state, at));
        }
        if let Some(zxid) = state.zxid {
            let newest = horizon.entry(op.client).or_default();
            *newest = (*newest).max(zxid);
        }
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::zk::{Server, Zk};
    use crate::test::zk_wire::Wire;
    use coord_specs::history::{check, Outcome, Verdict};
    use coord_specs::znode::build::{create, get, set};
    use coord_specs::znode::data::{ZkDataRet, ZnodeDataSpec};
    use coord_specs::znode::{CreateMode, ZkOp};
    use stateright::semantics::SequentialSpec;

    const READER: Client = 9;

    fn subject() -> Zk<Wire> {
        let via = Wire {
            servers: Vec::new(),
        };
        let (server, keys, sync) = (Server::ZooKeeper, 1, false);
        Zk {
            via,
            server,
            keys,
            sync,
        }
    }

    /// `client`'s `op` from `invoked` to `invoked + 1`, returning what the spec in state
    /// `spec` returns.
    fn op(
        spec: &mut ZnodeDataSpec,
        client: Client,
        op: ZkOp,
        invoked: Time,
    ) -> Operation<ZkOp, ZkDataRet> {
        let ret = spec.invoke(&op);
        let outcome = Outcome::Returned {
            at: invoked + 1,
            ret,
        };
        Operation {
            client,
            op,
            invoked,
            outcome,
        }
    }

    /// /k0 created by the reader and set by client 0; each client then reads what the
    /// tree held before the set: `readers` says which clients read.
    fn history(readers: &[Client]) -> History<ZnodeDataSpec> {
        let mut now = ZnodeDataSpec::default();
        let created = op(
            &mut now,
            READER,
            create("/k0", "", CreateMode::Persistent, 0),
            0,
        );
        let before = now.clone();
        let mut ops = vec![created, op(&mut now, 0, set("/k0", "c0-1", -1), 2)];
        for (i, &client) in readers.iter().enumerate() {
            ops.push(op(
                &mut before.clone(),
                client,
                get("/k0"),
                4 + 2 * i as Time,
            ));
        }
        ops
    }

    /// Client 1 reads the node as it was before client 0's set returned: not
    /// linearizable, but client 1 had seen nothing newer, which is all ZooKeeper promises.
    #[test]
    fn a_read_staler_than_others_writes_but_not_than_its_session_passes() {
        let history = history(&[1]);
        assert!(matches!(
            check::<ZnodeDataSpec>(&history),
            Verdict::NotLinearizable(_)
        ));
        assert_eq!(stale_reads(&subject(), &history, READER), vec![]);
    }

    /// Client 0 reads the node as it was before its own set: stale for its session.
    #[test]
    fn a_read_older_than_its_sessions_own_write_is_stale() {
        let history = history(&[1, 0]);
        let stale = stale_reads(&subject(), &history, READER);
        let expected = Stale {
            client: 0,
            read: (6, 7),
            key: "/k0".into(),
            version: 0,
            why: Why::Version { seen: 1, at: 3 },
        };
        assert_eq!(stale, vec![expected]);
        let line = stale[0].to_string();
        assert!(line.contains("client 0 read /k0 at version 0"), "{line}");
    }

    /// Client 0 reads /k1 as of client 1's set, then /k0 as it was before client 2's set,
    /// which came earlier: no version of /k0 had client 0 seen, but the zxid it had seen
    /// is past that set. Client 3, which had seen nothing, may read the same.
    #[test]
    fn a_read_older_than_a_zxid_its_session_saw_on_another_key_is_stale() {
        let mut now = ZnodeDataSpec::default();
        let persistent = |path| create(path, "", CreateMode::Persistent, 0);
        let mut ops = vec![
            op(&mut now, READER, persistent("/k0"), 0),
            op(&mut now, READER, persistent("/k1"), 2),
        ];
        let before = now.clone();
        ops.push(op(&mut now, 2, set("/k0", "c2-1", -1), 4));
        ops.push(op(&mut now, 1, set("/k1", "c1-1", -1), 6));
        ops.push(op(&mut now, 0, get("/k1"), 8));
        ops.push(op(&mut before.clone(), 0, get("/k0"), 10));
        ops.push(op(&mut before.clone(), 3, get("/k0"), 10));
        // Newer than anything client 2 had seen.
        ops.push(op(&mut now.clone(), 2, get("/k1"), 10));
        let stale = stale_reads(&subject(), &ops, READER);
        let zxid = |i: usize| shown(&subject(), &ops[i]).unwrap().zxid.unwrap();
        let expected = Stale {
            client: 0,
            read: (10, 11),
            key: "/k0".into(),
            version: 0,
            why: Why::Zxid {
                zxid: zxid(5),
                written: zxid(2),
                horizon: zxid(4),
            },
        };
        assert!(zxid(5) < zxid(2) && zxid(2) < zxid(4), "{ops:?}");
        assert_eq!(stale, vec![expected]);
    }

    /// The reader's reads are `sync` reads, judged linearizable, never per session.
    #[test]
    fn only_the_workloads_reads_are_plain() {
        let by_reader = history(&[READER]);
        assert!(!plain_read::<Zk<Wire>>(&by_reader[2], READER));
        assert!(!plain_read::<Zk<Wire>>(&by_reader[1], READER));
        assert!(plain_read::<Zk<Wire>>(&history(&[1])[2], READER));
    }
}
