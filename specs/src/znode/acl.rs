//! Who may do what to a znode: a caller's identities, and the rule that matches them
//! against a node's ACL (ZooKeeper's `ZooKeeperServer.checkACL` and its `digest` and `ip`
//! authentication providers). A super user is not modelled.

use super::{Acl, ZkError};
use base64::Engine;
use sha1::{Digest, Sha1};
use smol_str::SmolStr;

/// An identity of a caller, as `(scheme, id)`: `("ip", "127.0.0.1")`, or
/// `("digest", "user:hash")` (see [`digest_id`]). Every caller also is `world:anyone`,
/// which is never listed.
pub type Identity = (SmolStr, SmolStr);

/// ZooKeeper's permission bits (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// Rule (ZooKeeper's `DigestAuthenticationProvider.generateDigest`): the `digest` id of
/// the credentials `user:password` is the user (the text before the first `:`), a `:`,
/// and the base64 of the SHA-1 of the whole credentials.
pub fn digest_id(credentials: &[u8]) -> SmolStr {
    let text = String::from_utf8_lossy(credentials);
    let user = text.split(':').next().unwrap_or_default();
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(text.as_bytes()));
    SmolStr::from(format!("{user}:{hash}"))
}

/// The user a `digest` id names (the text before its first `:`), as `whoAmI` shows it
/// (ZooKeeper's `getUserName`); any other id as it is.
pub fn user_name(scheme: &str, id: &str) -> SmolStr {
    match scheme {
        "digest" => SmolStr::from(id.split(':').next().unwrap_or_default()),
        _ => SmolStr::from(id),
    }
}

/// Rule (ZooKeeper's `IPAuthenticationProvider.matches`): an `ip` ACL id `address[/bits]`
/// matches a caller's IPv4 address if both agree on the first `bits` bits (all 32 without
/// a mask). ZooKeeper 3.8 compares IPv4 addresses only: an IPv6 one never matches.
pub fn ip_matches(pattern: &str, address: &str) -> bool {
    let (base, bits) = match pattern.split_once('/') {
        Some((base, bits)) => (base, bits.parse::<u32>().ok()),
        None => (pattern, Some(32)),
    };
    let parse = |a: &str| a.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
    match (parse(base), parse(address), bits) {
        (Some(base), Some(address), Some(bits)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            base & mask == address & mask
        }
        _ => false,
    }
}

/// Rule (ZooKeeper's `ZooKeeperServer.checkACL`): a caller with `ids` may do what needs
/// `perm` to a node with `acl` if the ACL is empty, or if an entry granting `perm` is
/// `world:anyone`, or an `ip` entry matching one of the caller's `ip` ids (see
/// [`ip_matches`]), or a `digest` entry equal to one of its `digest` ids. Otherwise the
/// answer is `NoAuth`.
pub fn check_acl(acl: &[Acl], perm: i32, ids: &[Identity]) -> Result<(), ZkError> {
    let grants = |entry: &Acl| match entry.scheme.as_str() {
        "world" => entry.id == "anyone",
        "ip" => (ids.iter()).any(|(s, id)| s == "ip" && ip_matches(&entry.id, id)),
        "digest" => (ids.iter()).any(|(s, id)| s == "digest" && *id == entry.id),
        _ => false,
    };
    match acl.is_empty() || acl.iter().any(|e| e.perms & perm != 0 && grants(e)) {
        true => Ok(()),
        false => Err(ZkError::NoAuth),
    }
}

/// Rule (ZooKeeper's `getACL`): a caller without ADMIN on the node sees each `digest`
/// entry's id with its hash replaced by `x` (`user:x`).
pub fn redact(acl: &[Acl]) -> Vec<Acl> {
    let hide = |entry: &Acl| match entry.scheme == "digest" {
        true => Acl {
            id: format!("{}:x", user_name("digest", &entry.id)).into(),
            ..entry.clone()
        },
        false => entry.clone(),
    };
    acl.iter().map(hide).collect()
}

/// Rule (ZooKeeper's `fixupACL`): the ACL a create or `setACL` stores is the list given
/// without its repeated entries (first kept), in which an `auth` entry stands for one
/// entry with its permissions per authenticated identity of the caller (its `digest`
/// ids; `ip` is not authenticated). An empty list, an `auth` entry from a caller with no
/// authenticated identity, or an entry that is not [`Acl::is_valid`] is `InvalidAcl`.
pub fn fixup_acl(acl: &[Acl], ids: &[Identity]) -> Result<Vec<Acl>, ZkError> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for entry in acl {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    if unique.is_empty() {
        return Err(ZkError::InvalidAcl);
    }
    let mut kept = Vec::with_capacity(unique.len());
    for entry in unique {
        if entry.scheme == "auth" {
            let authenticated = ids.iter().filter(|(scheme, _)| scheme == "digest");
            let expanded: Vec<Acl> = (authenticated.map(|(scheme, id)| Acl {
                perms: entry.perms,
                scheme: scheme.clone(),
                id: id.clone(),
            }))
            .collect();
            if expanded.is_empty() {
                return Err(ZkError::InvalidAcl);
            }
            kept.extend(expanded);
        } else if entry.is_valid() {
            kept.push(entry.clone());
        } else {
            return Err(ZkError::InvalidAcl);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests;
