//! Whether some message in flight matches, on any of stateright's networks.
//!
//! stateright 0.31's `Network::iter_all` never ends on an ordered network that holds a
//! message: once it enters a flow its cursor stays on that flow's first message, which it
//! yields again and again (`NetworkIter::Ordered` never advances its index). Asking
//! whether some message matches then hangs as soon as the first one does not. The fix
//! belongs upstream (advance the cursor, then move to the next flow); until then the
//! models ask here, which walks an ordered network's flows itself.

use stateright::actor::{Envelope, Network};

/// True if `matches` holds for some message in `network`.
pub fn any_in_flight<M: Eq + std::hash::Hash>(
    network: &Network<M>,
    mut matches: impl FnMut(Envelope<&M>) -> bool,
) -> bool {
    match network {
        Network::Ordered(flows) => flows
            .iter()
            .any(|(&(src, dst), flow)| flow.iter().any(|msg| matches(Envelope { src, dst, msg }))),
        _ => network.iter_all().any(matches),
    }
}

#[cfg(test)]
mod tests {
    use super::any_in_flight;
    use stateright::actor::{Envelope, Id, Network};

    fn envelope(src: usize, dst: usize, msg: u8) -> Envelope<u8> {
        Envelope {
            src: Id::from(src),
            dst: Id::from(dst),
            msg,
        }
    }

    #[test]
    fn every_message_of_every_flow_is_looked_at_once_and_the_search_ends() {
        let sent = [envelope(0, 1, 1), envelope(0, 1, 2), envelope(1, 0, 3)];
        for network in [
            Network::new_ordered(sent),
            Network::new_unordered_nonduplicating(sent),
        ] {
            let mut seen = Vec::new();
            let found = any_in_flight(&network, |env| {
                seen.push(*env.msg);
                false
            });
            assert!(!found);
            seen.sort();
            assert_eq!(seen, [1, 2, 3]);
            assert!(any_in_flight(&network, |env| *env.msg == 2 && env.dst == Id::from(1)));
            assert!(!any_in_flight(&network, |env| *env.msg == 3 && env.dst == Id::from(1)));
        }
    }
}
