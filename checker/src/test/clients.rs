//! The clients of a run: each performs random operations one at a time, with a random
//! pause between them, and every invocation and reply goes into the history.

use super::progress::Tally;
use super::record::Recorder;
use super::subject::{Op, Ret, Session, Subject};
use coord_specs::history::Client;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a client waits for one operation's reply (its actor retries meanwhile) before
/// it leaves the outcome unknown and goes on.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts at a setup operation or a final read.
const TRIES: usize = 3;

/// One client of the workload.
pub struct Worker<'a, S: Subject> {
    pub subject: &'a S,
    pub recorder: &'a Recorder<Op<S>, Ret<S>>,
    pub tally: &'a Tally,
    pub client: Client,
    /// How many keys the workload shares.
    pub keys: u16,
    /// Percent of its operations that are reads.
    pub read_share: u8,
    pub seed: u64,
    /// The mean pause between two operations.
    pub think: Duration,
}

impl<S: Subject> Worker<'_, S> {
    /// Invokes operations until `end` or `stop`; the last one may run up to
    /// [`OP_TIMEOUT`] past `end`.
    pub fn run(&self, end: Instant, stop: &AtomicBool) -> Result<(), String> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut session = Session::new(self.client);
        let mut conn = S::Conn::default();
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            let op = session.next(self.subject, self.keys, self.read_share, &mut rng);
            let deadline = Instant::now() + OP_TIMEOUT;
            match self.perform(&mut conn, op.clone(), false, deadline, stop)? {
                Some(ret) => {
                    session.saw(self.subject, &op, &ret);
                    let failed = self.subject.failed(&ret);
                    let t = self.tally;
                    t.count(if failed { &t.failed } else { &t.ok });
                }
                None => self.tally.count(&self.tally.unknown),
            }
            let pause = self.think.mul_f64(rng.random_range(0.0..2.0));
            let until = (Instant::now() + pause).min(end);
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
            }
        }
        Ok(())
    }

    /// Performs `op` (`strict`: see [`Subject::perform`]), recording its invocation before
    /// the request leaves and its reply the moment it arrives.
    pub fn perform(
        &self,
        conn: &mut S::Conn,
        op: Op<S>,
        strict: bool,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<Option<Ret<S>>, String> {
        let (recorder, client) = (self.recorder, self.client);
        recorder.invoke(client, op.clone());
        let mut on_reply = |ret: &Ret<S>| recorder.returned(client, recorder.now(), ret.clone());
        self.subject
            .perform(conn, op, strict, stop, deadline, &mut on_reply)
    }

    /// Performs each of `ops` strictly, trying each up to [`TRIES`] times until it is
    /// answered; returns how many never were.
    pub fn strictly(&self, ops: &[Op<S>], stop: &AtomicBool) -> Result<usize, String> {
        let (mut unanswered, mut conn) = (0, S::Conn::default());
        for op in ops {
            let mut answered = false;
            for _ in 0..TRIES {
                let deadline = Instant::now() + OP_TIMEOUT;
                if (self.perform(&mut conn, op.clone(), true, deadline, stop)?).is_some() {
                    answered = true;
                    break;
                }
            }
            unanswered += usize::from(!answered);
        }
        Ok(unanswered)
    }
}
