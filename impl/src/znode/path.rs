//! Paths as the tree sees them: a list of names from the root down.

use coord_specs::znode::{is_unprintable, Path, ZkError};

/// One component of a path, such as `b` in `/a/b`. It is the same string type as
/// [`Path`], because `ZkRet::Children` names children with it.
pub type Name = Path;

/// Splits an absolute path into its names: `/` is `[]`, `/a/b` is `["a", "b"]`.
///
/// Rule (ZooKeeper's `PathUtils.validatePath`): a path starts with `/`; after that it is
/// empty (the root) or names separated by single `/`s, so it has no empty name (no `//`,
/// no trailing `/`); no name is `.` or `..`; no name contains NUL or a character ZooKeeper
/// takes for unprintable (`coord_specs::znode::is_unprintable`). Anything else is
/// `BadArguments`.
pub fn parse(path: &str) -> Result<Vec<&str>, ZkError> {
    let rest = path.strip_prefix('/').ok_or(ZkError::BadArguments)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = rest.split('/').collect();
    if names.iter().all(|name| is_valid_name(name)) {
        Ok(names)
    } else {
        Err(ZkError::BadArguments)
    }
}

/// A name is non-empty, is not `.` or `..`, and has no NUL and no unprintable character
/// (a `/` cannot occur: it splits).
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('\0')
        && !name.contains(is_unprintable)
}

/// The absolute path of a list of names: the inverse of [`parse`].
pub fn join<S: AsRef<str>>(names: &[S]) -> Path {
    let mut path = String::new();
    for name in names {
        path.push('/');
        path.push_str(name.as_ref());
    }
    if path.is_empty() {
        path.push('/');
    }
    Path::from(path)
}

/// The path of the child `name` of the node at `parent` (`/` and `a` give `/a`).
pub fn child_path(parent: &str, name: &str) -> Path {
    match parent {
        "/" => Path::from(format!("/{name}")),
        _ => Path::from(format!("{parent}/{name}")),
    }
}
