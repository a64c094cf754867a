use super::*;
use crate::znode::build::*;
use crate::znode::{CreateMode::*, ZkOp, ZkRet, ZnodeSpec, ANY_VERSION};
use stateright::semantics::SequentialSpec;
use ZkError::{InvalidAcl, NoAuth, NoNode};

fn entry(perms: i32, scheme: &str, id: &str) -> Acl {
    let (scheme, id) = (scheme.into(), id.into());
    Acl { perms, scheme, id }
}

fn ids(list: &[(&str, &str)]) -> Vec<Identity> {
    list.iter()
        .map(|(s, id)| ((*s).into(), (*id).into()))
        .collect()
}

#[test]
fn a_digest_id_is_the_user_and_the_base64_sha1_of_the_credentials() {
    // ZooKeeper's documentation gives this pair for `super:test`.
    assert_eq!(
        digest_id(b"super:test"),
        "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
    );
    assert_eq!(digest_id(b"u:p"), "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
    assert_eq!(user_name("digest", "u:Jq7w"), "u");
    assert_eq!(user_name("ip", "10.0.0.1"), "10.0.0.1");
}

#[test]
fn an_ip_entry_matches_the_masked_ipv4_address() {
    for (pattern, address) in [
        ("127.0.0.1", "127.0.0.1"),
        ("10.1.2.3/8", "10.200.0.9"),
        ("10.1.2.3/0", "192.168.1.1"),
        ("192.168.1.0/25", "192.168.1.127"),
    ] {
        assert!(ip_matches(pattern, address), "{pattern} {address}");
    }
    for (pattern, address) in [
        ("127.0.0.1", "127.0.0.2"),
        ("192.168.1.0/25", "192.168.1.128"),
        ("10.0.0.0/33", "10.0.0.0"),
        ("10.0.0.0/x", "10.0.0.0"),
        ("::1", "::1"),
        ("127.0.0.1", "client-1"),
    ] {
        assert!(!ip_matches(pattern, address), "{pattern} {address}");
    }
}

#[test]
fn check_acl_grants_by_world_ip_or_digest_and_the_permission_bit() {
    let caller = ids(&[("ip", "10.0.0.5"), ("digest", "u:h")]);
    assert_eq!(
        check_acl(&[], perms::ADMIN, &caller),
        Ok(()),
        "an empty ACL lets anyone"
    );
    let (read, write, all) = (perms::READ, perms::WRITE, perms::ALL);
    let table = [
        // (entry's perms, scheme, id), the permission asked, granted
        ((read, "world", "anyone"), read, true),
        ((read, "world", "anyone"), write, false),
        ((write, "ip", "10.0.0.0/8"), write, true),
        ((write, "ip", "11.0.0.0/8"), write, false),
        ((all, "digest", "u:h"), perms::DELETE, true),
        ((all, "digest", "u:other"), perms::DELETE, false),
        ((all, "digest", "10.0.0.5"), perms::DELETE, false),
        ((all, "sasl", "u"), read, false),
        ((perms::ADMIN, "digest", "u:h"), read | perms::ADMIN, true),
    ];
    for ((bits, scheme, id), perm, granted) in table {
        let acl = [entry(bits, scheme, id)];
        let got = check_acl(&acl, perm, &caller);
        assert_eq!(got.is_ok(), granted, "{scheme}:{id}:{bits} asked {perm}");
    }
    assert_eq!(check_acl(&[entry(1, "digest", "v:h")], 1, &[]), Err(NoAuth));
}

#[test]
fn auth_stands_for_the_callers_digest_ids() {
    let caller = ids(&[("ip", "10.0.0.5"), ("digest", "u:h"), ("digest", "v:g")]);
    let auth = entry(perms::READ, "auth", "");
    let world = Acl::anyone(perms::ALL);
    assert_eq!(
        fixup_acl(&[auth.clone(), world.clone(), auth.clone()], &caller),
        Ok(vec![
            entry(perms::READ, "digest", "u:h"),
            entry(perms::READ, "digest", "v:g"),
            world.clone()
        ])
    );
    let ip_only = ids(&[("ip", "10.0.0.5")]);
    assert_eq!(fixup_acl(&[auth], &ip_only), Err(InvalidAcl));
    assert_eq!(fixup_acl(&[], &caller), Err(InvalidAcl));
    assert_eq!(
        fixup_acl(&[entry(1, "ip", "host")], &caller),
        Err(InvalidAcl)
    );
}

#[test]
fn get_acl_hides_digest_hashes_from_a_caller_without_admin() {
    let acl = [entry(31, "digest", "u:h"), entry(1, "ip", "10.0.0.1")];
    let hidden = [entry(31, "digest", "u:x"), entry(1, "ip", "10.0.0.1")];
    assert_eq!(redact(&acl), hidden);
}

/// A tree where `/p` lets `alice` do anything and nobody else only `perm`, with a child
/// `/p/c` of the same ACL.
fn guarded(perm: i32) -> ZnodeSpec {
    let mut spec = ZnodeSpec::default();
    let acl = [digest("alice", perms::ALL), Acl::anyone(perm)];
    for path in ["/p", "/p/c"] {
        let op = as_user(with_acl(create(path, "", Persistent, 1), &acl), "alice");
        assert!(matches!(spec.invoke(&op), ZkRet::Created { .. }), "{path}");
    }
    spec
}

/// Rule table (ZooKeeper 3.8): each operation, the permission it needs, and on which node.
#[test]
fn each_operation_needs_its_permission() {
    let table: Vec<(ZkOp, i32)> = vec![
        (create("/p/new", "", Persistent, 1), perms::CREATE),
        (delete("/p/c", ANY_VERSION), perms::DELETE),
        (set("/p", "x", ANY_VERSION), perms::WRITE),
        (set_acl("/p", &Acl::open(), ANY_VERSION), perms::ADMIN),
        (
            ZkOp::Check {
                path: "/p".into(),
                version: ANY_VERSION,
            },
            perms::READ,
        ),
        (get("/p"), perms::READ),
        (kids("/p"), perms::READ),
        (exists("/p"), perms::READ),
        (
            ZkOp::GetAllChildrenNumber { path: "/p".into() },
            perms::READ,
        ),
        (get_acl("/p"), perms::READ | perms::ADMIN),
        (
            multi(vec![step_set("/p", "x", ANY_VERSION)], 1),
            perms::WRITE,
        ),
        (multi(vec![step_check("/p", ANY_VERSION)], 1), perms::READ),
        (
            multi(vec![step_create("/p/m", Persistent)], 1),
            perms::CREATE,
        ),
        (
            multi(vec![step_delete("/p/c", ANY_VERSION)], 1),
            perms::DELETE,
        ),
    ];
    assert!(matches!(
        guarded(perms::ADMIN).invoke(&get_acl("/p")),
        ZkRet::Acl { .. }
    ));
    for (op, needed) in table {
        let refused = |ret: &ZkRet| {
            matches!(
                ret,
                ZkRet::Err(NoAuth) | ZkRet::MultiFailed { error: NoAuth, .. }
            )
        };
        let others = perms::ALL & !needed;
        assert!(
            refused(&guarded(others).invoke(&op)),
            "{op} without {needed}"
        );
        assert!(!refused(&guarded(needed).invoke(&op)), "{op} with {needed}");
        let by_alice = as_user(op.clone(), "alice");
        assert!(!refused(&guarded(0).invoke(&by_alice)), "{op} by alice");
        assert!(
            refused(&guarded(0).invoke(&as_user(op.clone(), "bob"))),
            "{op} by bob"
        );
    }
    for free in [
        ZkOp::Sync { path: "/p".into() },
        ZkOp::GetEphemerals {
            prefix: "/p".into(),
            session: 1,
        },
        close(1),
    ] {
        assert!(
            !matches!(guarded(0).invoke(&free), ZkRet::Err(NoAuth)),
            "{free}"
        );
    }
}

#[test]
fn the_permission_is_checked_where_zookeeper_checks_it() {
    let mut spec = guarded(perms::READ);
    // delete asks the parent before it looks for the node
    assert_eq!(spec.invoke(&delete("/p/none", 0)), ZkRet::Err(NoAuth));
    // a missing node is NoNode before any permission
    assert_eq!(spec.invoke(&set("/p/none", "", 0)), ZkRet::Err(NoNode));
    assert_eq!(spec.invoke(&exists("/p/none")), ZkRet::Exists(None));
    // an invalid ACL is refused before the permission
    let bad = with_acl(create("/p/x", "", Persistent, 1), &[]);
    assert_eq!(spec.invoke(&bad), ZkRet::Err(InvalidAcl));
    // a reader without ADMIN sees the ACL with hashes hidden
    let ZkRet::Acl { acl, .. } = spec.invoke(&get_acl("/p")) else {
        panic!("getACL with READ answers");
    };
    assert_eq!(
        acl,
        redact(&[digest("alice", perms::ALL), Acl::anyone(perms::READ)])
    );
    assert_eq!(acl[0].id, "alice:x");
    // an ephemeral node goes with its session even under a parent that refuses DELETE
    let eph = as_user(create("/p/e", "", Ephemeral, 7), "alice");
    assert!(matches!(spec.invoke(&eph), ZkRet::Created { .. }));
    assert_eq!(spec.invoke(&close(7)), ZkRet::SessionClosed);
    assert_eq!(
        spec.invoke(&as_user(exists("/p/e"), "alice")),
        ZkRet::Exists(None)
    );
}
