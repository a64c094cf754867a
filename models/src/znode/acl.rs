//! The checks of ACLs: a write's permission is decided where the write is ordered, against
//! the tree as of its place in the log, with the identities it carried from its connection
//! (ZooKeeper's leader checks it in its `PrepRequestProcessor`, in order).

use super::{clients_with_ids, znode_bug, znode_model, State, ZnodeCfg, ZnodeModel, FIXED_LEADER};
use crate::check::{all_hold, bug_check, Check};
use crate::run::Search;
use coord::znode::client::{Call, Script};
use coord::znode::conn::Call as Ask;
use coord::znode::ZkBug;
use coord_specs::znode::acl::digest_id;
use coord_specs::znode::build::{create, set, set_acl};
use coord_specs::znode::{perms, Acl, CreateMode, Identity, ZkError, ZkOp, ZkRet};

/// See [`refused`].
pub const REFUSED: &str = "a write is refused for want of permission";

/// Some client was answered `NoAuth`: the checks see a write refused, not only allowed.
pub(super) fn refused(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state)
        .any(|(_, c)| (c.program.iter()).any(|r| *r == ZkRet::Err(ZkError::NoAuth)))
}

/// The credentials of the owner in `znode-acl`.
const OWNER: &[u8] = b"owner:secret";

/// The identities a model client has at its server: `ip` is its name (`coord`), then the
/// `digest` id of each credentials it added.
fn identities(credentials: &[&[u8]]) -> Vec<Identity> {
    let digests = credentials.iter().map(|c| ("digest".into(), digest_id(c)));
    std::iter::once(("ip".into(), "coord".into()))
        .chain(digests)
        .collect()
}

/// A call of `op` by a client with `ids`, as its history records it.
fn by(ids: &[Identity], op: ZkOp) -> Call {
    Call::plain(op.by(ids.to_vec()))
}

/// `znode-acl`: the owner, at `s0`, adds its digest credentials, creates `/n` open to
/// everyone, then restricts it to itself with `setACL`; another client, at `s1`, with no
/// credentials, sets `/n`. Its set succeeds before the `setACL` in log order and is
/// refused after, whatever its server's tree showed when it arrived.
pub fn revoke() -> ZnodeCfg<Script> {
    let owner_ids = identities(&[OWNER]);
    let only_owner = Acl {
        perms: perms::ALL,
        scheme: "digest".into(),
        id: digest_id(OWNER),
    };
    let add_auth = Call {
        ask: Ask::SetAuth {
            scheme: "digest".into(),
            auth: OWNER.to_vec(),
        },
        watch: false,
        sync: false,
    };
    let owner = Script(vec![
        add_auth,
        by(&owner_ids, create("/n", "", CreateMode::Persistent, 0)),
        by(&owner_ids, set_acl("/n", &[only_owner], -1)),
    ]);
    let other = Script(vec![by(&identities(&[]), set("/n", "x", -1))]);
    ZnodeCfg::new(vec![(0, owner), (1, other)])
}

/// The ACL checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "znode-acl",
            about: "znode, an owner restricts a node with setACL while a client without its credentials writes it at another server: the write is allowed or refused (NoAuth) by its place in the log, linearizable",
            search: Search::Dfs,
            expect: all_hold(&[&["linearizable", REFUSED, "every client finishes"]]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(revoke(), b, judged),
        },
        bug_check(
            "znode-bug-acl-checked-on-arrival",
            "deliberate bug: a server decides a write's permission against its own tree when the write arrives, so a write let through before a setACL is applied after it",
            "linearizable",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::AclCheckedOnArrival, revoke(), b, judged),
        ),
    ]
}
