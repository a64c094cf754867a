//! A chain node's read lease from the configuration manager, at run time.
//!
//! Epochs keep a removed node's writes out of the rebuilt chain, but a read answered from
//! one node's own state goes nowhere else: a tail (or, in CRAQ, any node) that was paused
//! or cut off while the manager removed it would answer from a history that the chain has
//! moved past. The rule that prevents it: a node answers reads only while it holds a lease,
//! and the manager removes a node only after a silence longer than any lease.
//!
//! Heartbeat `n` asks for a lease; the manager answers it with its configuration, and
//! since the answer resets the node's silence, the manager will not remove the node for a
//! whole detector period after it received heartbeat `n`, hence after the node sent it.
//! The lease therefore runs from the moment the node *sent* heartbeat `n` (a timer set
//! then, shorter than that period), not from when the answer arrives: an answer that waited
//! in the socket through a pause is already expired when it is read (overdue timers fire
//! before waiting datagrams).

/// Heartbeats asked, answered and run out. The lease holds while some answered heartbeat
/// has not yet run out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The number of the latest heartbeat sent.
    asked: u64,
    /// The latest heartbeat the manager answered before it ran out.
    granted: u64,
    /// The latest heartbeat whose lease timer has fired.
    expired: u64,
}

impl Lease {
    /// Numbers the next heartbeat.
    pub fn ask(&mut self) -> u64 {
        self.asked += 1;
        self.asked
    }

    /// The manager answered heartbeat `beat`, naming this node a member in the node's own
    /// epoch: the lease runs until that heartbeat's timer fires. An answer to a heartbeat
    /// already run out, or never sent by this process, grants nothing.
    pub fn grant(&mut self, beat: u64) {
        if beat > self.expired && beat <= self.asked {
            self.granted = self.granted.max(beat);
        }
    }

    /// Heartbeat `beat`'s timer fired. Timers of one length fire in the order they were
    /// set, so every earlier heartbeat has run out too.
    pub fn expire(&mut self, beat: u64) {
        self.expired = self.expired.max(beat);
    }

    pub fn holds(&self) -> bool {
        self.granted > self.expired
    }
}

#[cfg(test)]
mod tests {
    use super::Lease;

    #[test]
    fn a_lease_holds_from_an_answered_heartbeat_until_its_timer_fires() {
        let mut lease = Lease::default();
        assert!(!lease.holds(), "no lease before the manager answers");
        let first = lease.ask();
        lease.grant(first);
        assert!(lease.holds());
        let second = lease.ask();
        lease.expire(first);
        assert!(!lease.holds(), "the second heartbeat is not answered yet");
        lease.grant(second);
        assert!(lease.holds());
    }

    #[test]
    fn an_answer_read_after_its_heartbeat_ran_out_grants_nothing() {
        let mut lease = Lease::default();
        let beat = lease.ask();
        lease.expire(beat);
        lease.grant(beat);
        assert!(!lease.holds(), "a paused node reads the answer too late");
        lease.grant(beat + 1);
        assert!(!lease.holds(), "an answer to a heartbeat never sent");
    }
}
