//! What a client keeps: a place in its script and a server of its own, and from one step
//! to the next, a place that never goes back and a resend count that never goes down.

use super::{Client, ClientState, Wire};
use crate::invariants::{ensure, Broken, Invariants};
use std::fmt::Debug;
use std::hash::Hash;

impl<Op, Ret, M> Invariants for Client<Op, Ret, M>
where
    Op: Clone + Debug + Eq + Hash,
    Ret: Clone + Debug + Eq + Hash,
    M: Wire<Op, Ret> + Clone + Debug + Eq + Hash,
{
    fn invariants(&self, state: &ClientState) -> Result<(), Broken> {
        let (next, len) = (state.next, self.script.len());
        ensure("the place in the script is within it", next <= len, || {
            format!("operation {next} of {len}")
        })?;
        ensure(
            "the client talks to one of its servers",
            self.servers.contains(&state.target),
            || format!("target {:?}, servers {:?}", state.target, self.servers),
        )
    }

    fn step_invariants(&self, before: &ClientState, after: &ClientState) -> Result<(), Broken> {
        ensure(
            "the place in the script never goes back",
            after.next >= before.next,
            || format!("operation {} after {}", after.next, before.next),
        )?;
        ensure(
            "the resend count never goes down",
            after.resends >= before.resends,
            || format!("{} resends after {}", after.resends, before.resends),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::assert_kept;
    use stateright::actor::Id;
    use std::time::Duration;

    type TestClient = Client<u8, u8, crate::raft::Msg<u8, u8>>;

    fn client() -> TestClient {
        let timeout = Duration::from_millis(1)..Duration::from_millis(2);
        Client::new(vec![Id::from(0), Id::from(1)], 0, vec![1, 2], timeout)
    }

    fn at(next: usize, target: usize, resends: u8) -> ClientState {
        ClientState {
            next,
            target: Id::from(target),
            resends,
        }
    }

    fn broken(r: Result<(), Broken>) -> &'static str {
        r.unwrap_err().invariant
    }

    #[test]
    fn a_client_past_its_script_is_caught() {
        assert_eq!(client().invariants(&at(2, 0, 0)), Ok(()));
        let found = broken(client().invariants(&at(3, 0, 0)));
        assert_eq!(found, "the place in the script is within it");
    }

    #[test]
    fn a_client_talking_to_a_stranger_is_caught() {
        let found = broken(client().invariants(&at(0, 5, 0)));
        assert_eq!(found, "the client talks to one of its servers");
    }

    #[test]
    fn a_client_going_back_in_its_script_is_caught() {
        let c = client();
        assert_eq!(c.step_invariants(&at(1, 0, 0), &at(2, 1, 1)), Ok(()));
        let found = broken(c.step_invariants(&at(1, 0, 0), &at(0, 0, 0)));
        assert_eq!(found, "the place in the script never goes back");
    }

    #[test]
    fn a_resend_count_going_down_is_caught() {
        let found = broken(client().step_invariants(&at(1, 0, 2), &at(1, 0, 1)));
        assert_eq!(found, "the resend count never goes down");
    }

    #[test]
    #[should_panic(expected = "invariant broken: the place in the script is within it")]
    fn a_broken_invariant_panics_naming_it() {
        assert_kept(&client(), None, &at(9, 0, 0));
    }
}
