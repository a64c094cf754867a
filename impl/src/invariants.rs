//! Invariants an actor keeps, asserted in code (as TigerBeetle asserts its own): what
//! every state of the actor satisfies, and what no step of it may undo (a term or an
//! epoch never goes down).
//!
//! Each actor checks them in debug builds after every handler ([`checked`], or
//! [`debug_before`] and [`debug_kept`] around it) and on start ([`debug_started`]); the
//! models check them after every step of every actor, in release builds too, with
//! [`assert_kept`]. A broken invariant panics with its name and the state that broke it.

use stateright::actor::Actor;
use std::borrow::Cow;

/// An invariant found broken: its name, and what was found instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub invariant: &'static str,
    pub found: String,
}

/// `Ok` if `holds`, else the broken `invariant` with what `found` describes.
pub fn ensure(
    invariant: &'static str,
    holds: bool,
    found: impl FnOnce() -> String,
) -> Result<(), Broken> {
    if holds {
        Ok(())
    } else {
        Err(Broken {
            invariant,
            found: found(),
        })
    }
}

/// An actor whose states keep invariants.
pub trait Invariants: Actor {
    /// Every invariant of `state`: the first one broken, if any.
    fn invariants(&self, state: &Self::State) -> Result<(), Broken>;

    /// What a handler may not undo between `before` and `after`: the first rule broken,
    /// if any. A restart is no step (`on_start` has no state before it).
    fn step_invariants(&self, _before: &Self::State, _after: &Self::State) -> Result<(), Broken> {
        Ok(())
    }
}

/// Panics, naming the invariant and showing the state, if `after` breaks an invariant of
/// `actor` or the step from `before` (if any) to it breaks a rule of its steps.
pub fn assert_kept<A: Invariants>(actor: &A, before: Option<&A::State>, after: &A::State) {
    let kept = before
        .map_or(Ok(()), |before| actor.step_invariants(before, after))
        .and_then(|()| actor.invariants(after));
    if let Err(broken) = kept {
        panic!(
            "invariant broken: {} ({})\nstate: {after:?}",
            broken.invariant, broken.found
        );
    }
}

/// In debug builds, the state before a handler, for [`debug_kept`] after it; `None` in
/// release builds, which keep nothing.
pub fn debug_before<'a, S: Clone>(state: &Cow<'a, S>) -> Option<Cow<'a, S>> {
    cfg!(debug_assertions).then(|| state.clone())
}

/// In debug builds, [`assert_kept`] for a handler that left `after` from `before` (see
/// [`debug_before`]); nothing in release builds.
pub fn debug_kept<A: Invariants>(actor: &A, before: Option<Cow<A::State>>, after: &A::State) {
    if let Some(before) = before {
        assert_kept(actor, Some(&before), after);
    }
}

/// In debug builds, [`assert_kept`] for the state an actor starts in; nothing in release
/// builds.
pub fn debug_started<A: Invariants>(actor: &A, state: &A::State) {
    if cfg!(debug_assertions) {
        assert_kept(actor, None, state);
    }
}

/// Runs `handler` on `state`, then, in debug builds, asserts that `actor` kept its
/// invariants.
pub fn checked<A: Invariants>(
    actor: &A,
    state: &mut Cow<A::State>,
    handler: impl FnOnce(&mut Cow<A::State>),
) {
    let before = debug_before(state);
    handler(state);
    debug_kept(actor, before, state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_names_the_broken_invariant_and_what_was_found() {
        assert_eq!(ensure("x is small", true, || unreachable!()), Ok(()));
        let broken = ensure("x is small", false, || "x = 9".into()).unwrap_err();
        assert_eq!(broken.invariant, "x is small");
        assert_eq!(broken.found, "x = 9");
    }
}
