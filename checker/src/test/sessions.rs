//! Plain reads judged by what ZooKeeper promises them, which is less than linearizability:
//! a session never reads older than what it already saw or wrote (ZooKeeper's
//! "sequential consistency" and "single system image": a server that is behind the
//! session's last zxid refuses it). A plain read may be stale with respect to other
//! sessions' writes; only the session's own past bounds it. Writes and `sync` reads are
//! still judged linearizable, by the history checker, on the history without the plain
//! reads.
//!
//! The rule is checked per key, by versions: a plain read of a key that shows a version
//! below the newest version of that key its session had already read or written, or the
//! same version with another value, is stale. (Across keys the promise says more, which
//! versions alone cannot show.)

use super::subject::{Op, Ret, Subject, Versioned};
use coord_specs::history::{Client, History, HistorySpec, Operation, Time};
use std::collections::BTreeMap;

/// A plain read that shows an older state than its session had seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub client: Client,
    /// When the read was invoked and returned.
    pub read: (Time, Time),
    pub key: String,
    /// The version it read, and the newest its session had seen.
    pub version: i64,
    pub seen: i64,
    /// When the session saw that version (the return of that read or write).
    pub seen_at: Time,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |t: Time| t as f64 / 1e6;
        write!(
            f,
            "client {} read {} at version {} ({:.3} s to {:.3} s), after it had seen \
             version {} at {:.3} s",
            self.client,
            self.key,
            self.version,
            s(self.read.0),
            s(self.read.1),
            self.seen,
            s(self.seen_at)
        )
    }
}

/// Whether `op` is one of the plain reads judged per session: a read by a workload
/// client (not the `reader`, whose reads are `sync` reads).
pub fn plain_read<S: Subject>(op: &Operation<Op<S>, Ret<S>>, reader: Client) -> bool {
    op.client != reader && S::Spec::changes_nothing(&op.op, None)
}

/// The plain reads of `history` (as [`plain_read`] tells them) that are stale by the
/// rule of this module, in each client's order.
pub fn stale_reads<S: Subject>(
    subject: &S,
    history: &History<S::Spec>,
    reader: Client,
) -> Vec<Stale> {
    let mut order: Vec<&Operation<Op<S>, Ret<S>>> = history.iter().collect();
    order.sort_by_key(|op| (op.client, op.invoked));
    let mut seen: BTreeMap<(Client, &str), (Versioned, Time)> = BTreeMap::new();
    let mut stale = Vec::new();
    for op in order {
        let (Some(ret), Some(at)) = (op.ret(), op.returned()) else {
            continue;
        };
        let shown = match subject.write_of(&op.op, ret) {
            Some(write) => write,
            None => match subject.read_of(&op.op, ret) {
                Some(read) => read,
                None => continue,
            },
        };
        let before = seen.get(&(op.client, shown.key)).copied();
        if let Some((newest, when)) = before.filter(|_| plain_read::<S>(op, reader)) {
            let older = shown.version < newest.version
                || (shown.version == newest.version && shown.value != newest.value);
            if older {
                stale.push(Stale {
                    client: op.client,
                    read: (op.invoked, at),
                    key: shown.key.to_string(),
                    version: shown.version,
                    seen: newest.version,
                    seen_at: when,
                });
            }
        }
        if before.is_none_or(|(newest, _)| shown.version >= newest.version) {
            seen.insert((op.client, shown.key), (shown, at));
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
            seen: 1,
            seen_at: 3,
        };
        assert_eq!(stale, vec![expected]);
        let line = stale[0].to_string();
        assert!(line.contains("client 0 read /k0 at version 0"), "{line}");
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
