//! Swarm testing (Groce, Zhang, Eide, Chen and Regehr, ISSTA 2012): each random walk draws
//! its own weights for the kinds of step from its seed, instead of every walk sharing one
//! mix.
//!
//! One fixed mix explores the runs it makes likely and almost never the others: with
//! deliveries far likelier than timers, an entry reaches every follower before any
//! election can overtake it; with a client's timers as likely as anyone's, it halts long
//! before it waits in line; with crashes always possible, a walk never ends. A
//! counterexample often needs one link slow while the others run, only some actors
//! timing out, or a kind of step rare while another is frequent. So each walk draws:
//! for each kind of step, how likely it is against a delivery; for each link (a sender
//! and a receiver) of the deliveries and losses, and each actor of the other kinds, how
//! much more likely than its kind's base (1 to 32 times) that link or actor is to take
//! such a step, so that a walk's slow link may carry its messages 32 times more slowly
//! than another; which actors' timers it leaves out (each with probability one half); and
//! how many crashes and how many losses it may take (0 to 3 each). The draws come first
//! from the walk's random stream, so the seed still replays the walk exactly.

use rand::Rng;

/// The kinds of step a walk weighs apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A message is delivered.
    Deliver,
    /// An actor makes a random choice.
    Choose,
    /// A timer fires.
    Timer,
    /// An actor crashes (and restarts, or recovers).
    Crash,
    /// A message is lost.
    Lose,
}

const KINDS: usize = 5;
const ALL: [StepKind; KINDS] = [
    StepKind::Deliver,
    StepKind::Choose,
    StepKind::Timer,
    StepKind::Crash,
    StepKind::Lose,
];

impl StepKind {
    /// Whether a step of this kind has a sender, and its weight is its link's.
    fn linked(self) -> bool {
        matches!(self, StepKind::Deliver | StepKind::Lose)
    }
}

/// A step's kind and the actor that takes it: the receiver of a delivery or a loss (and
/// its sender, `from`), the actor whose timer fires, that chooses or that crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepClass {
    pub kind: StepKind,
    pub actor: usize,
    pub from: Option<usize>,
}

/// One walk's weights: `weights[kind][from * actors + actor]` for a step with a sender,
/// `weights[kind][actor]` for one without: a kind's base times the link's or the actor's
/// factor; and how many more crashes and losses the walk may take.
#[derive(Clone, Debug)]
pub struct Swarm {
    actors: usize,
    weights: [Vec<u32>; KINDS],
    /// Crashes, then losses, the walk may still take.
    faults: [u32; 2],
}

/// The base weight of a delivery and of a choice; timers, crashes and losses draw theirs
/// from 1 up to this (a power of two), so that they are at most as likely as a delivery.
const DELIVERY: u32 = 16;
/// The largest factor of one link or actor over its kind's base, as a power of two (32).
const MAX_FACTOR_LOG2: u32 = 5;
/// The most crashes, and the most losses, one walk may take.
const MAX_FAULTS: u32 = 3;

impl Swarm {
    /// Draws the weights of a walk over `actors` actors: each actor's timers are left out
    /// with probability one half, and each walk may crash, and lose, from 0 to
    /// [`MAX_FAULTS`] times.
    pub fn draw(rng: &mut impl Rng, actors: usize) -> Swarm {
        let weights = ALL.map(|kind| {
            let base = match kind {
                StepKind::Deliver | StepKind::Choose => DELIVERY,
                _ => 1 << rng.random_range(0..=DELIVERY.ilog2()),
            };
            let entries = if kind.linked() {
                actors * actors
            } else {
                actors
            };
            (0..entries)
                .map(|_| {
                    let off = kind == StepKind::Timer && rng.random_bool(0.5);
                    u32::from(!off) * (base << rng.random_range(0..=MAX_FACTOR_LOG2))
                })
                .collect()
        });
        let faults = [(); 2].map(|_| rng.random_range(0..=MAX_FAULTS));
        Swarm {
            actors,
            weights,
            faults,
        }
    }

    /// How likely the walk is to take a step of class `step`, against its other steps; 0
    /// for a step the walk leaves out, or a fault past its budget.
    pub fn weight(&self, step: StepClass) -> u32 {
        if budget(step.kind).is_some_and(|b| self.faults[b] == 0) {
            return 0;
        }
        let at = step
            .from
            .map_or(step.actor, |f| f * self.actors + step.actor);
        self.weights[step.kind as usize][at]
    }

    /// Notes that the walk took a step of class `step`: a crash or a loss uses one of its
    /// budget.
    pub fn took(&mut self, step: StepClass) {
        if let Some(b) = budget(step.kind) {
            self.faults[b] = self.faults[b].saturating_sub(1);
        }
    }
}

/// Which of [`Swarm::faults`] a step of `kind` uses, if it is a fault.
fn budget(kind: StepKind) -> Option<usize> {
    match kind {
        StepKind::Crash => Some(0),
        StepKind::Lose => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{StepClass, StepKind, Swarm};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The weights of `kind` for each actor, from actor 0 for kinds with a sender.
    fn weights(swarm: &Swarm, kind: StepKind) -> Vec<u32> {
        let linked = [StepKind::Deliver, StepKind::Lose].contains(&kind);
        let from = linked.then_some(0);
        (0..4)
            .map(|actor| swarm.weight(StepClass { kind, actor, from }))
            .collect()
    }

    /// Over many walks, each kind takes weights within its range, the walks differ in
    /// them, about half the actors' timers are left out, some walks may not crash or lose
    /// at all, and the links of one walk differ.
    #[test]
    fn walks_draw_different_weights_within_their_ranges() {
        let swarms: Vec<Swarm> = (0..200)
            .map(|seed| Swarm::draw(&mut StdRng::seed_from_u64(seed), 4))
            .collect();
        let all = |kind| swarms.iter().flat_map(move |s| weights(s, kind));
        assert!(all(StepKind::Deliver).all(|w| (16..=512).contains(&w)));
        assert!(all(StepKind::Timer).all(|w| w <= 512));
        let timers_off = all(StepKind::Timer).filter(|&w| w == 0).count();
        assert!(
            (300..500).contains(&timers_off),
            "{timers_off} of 800 timers off"
        );
        for kind in [StepKind::Crash, StepKind::Lose] {
            let off = (swarms.iter())
                .filter(|s| weights(s, kind) == [0; 4])
                .count();
            assert!(
                (25..100).contains(&off),
                "{kind:?} off in {off} of 200 walks"
            );
        }
        let timers: Vec<_> = swarms.iter().map(|s| weights(s, StepKind::Timer)).collect();
        assert!(timers.iter().any(|t| t != &timers[0]), "every walk alike");
        let uneven = |s: &&Swarm| {
            weights(s, StepKind::Deliver)
                .windows(2)
                .any(|w| w[0] != w[1])
        };
        assert!(swarms.iter().filter(uneven).count() > 150, "links alike");
    }

    /// A walk takes at most its budget of crashes: after it, a crash weighs nothing.
    #[test]
    fn crashes_stop_at_the_walks_budget() {
        let crash = StepClass {
            kind: StepKind::Crash,
            actor: 0,
            from: None,
        };
        for seed in 0..50 {
            let mut swarm = Swarm::draw(&mut StdRng::seed_from_u64(seed), 2);
            let budget = swarm.faults[0];
            for _ in 0..budget {
                assert!(
                    swarm.weight(crash) > 0,
                    "seed {seed}: a crash within budget"
                );
                swarm.took(crash);
            }
            assert_eq!(swarm.weight(crash), 0, "seed {seed}: past the budget");
        }
    }

    /// The same stream draws the same weights.
    #[test]
    fn a_seed_draws_the_same_weights() {
        let draw = || Swarm::draw(&mut StdRng::seed_from_u64(7), 3).weights;
        assert_eq!(draw(), draw());
    }
}
