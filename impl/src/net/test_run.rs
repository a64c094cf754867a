//! What the runtime's socket tests share: a node run beside the test's own code, and
//! length-prefixed frames on a blocking TCP stream.

use super::admit::Admit;
use super::door::Door;
use super::durable::Durable;
use super::Runtime;
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::Actor;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A generous bound on every wait, for a loaded machine.
pub const WAIT: Duration = Duration::from_secs(30);

/// Runs `node` on another thread while `body` runs, then stops it (also when `body`
/// panics, so that the test ends).
pub fn run_beside<A, D>(mut node: Runtime<A, D>, body: impl FnOnce())
where
    A: Actor,
    A::Msg: Admit + Serialize + DeserializeOwned,
    A::Storage: Durable,
    D: Door<A>,
    Runtime<A, D>: Send,
{
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            let deadline = Instant::now() + 4 * WAIT;
            node.run(&stop, Some(deadline), |_| false, |_, _| {})
                .unwrap()
        });
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop_on_drop = StopOnDrop(&stop);
        body();
        drop(stop_on_drop);
        running.join().unwrap();
    });
}

/// Writes `payload` with its 4-byte length before it.
pub fn write_framed(stream: &mut TcpStream, payload: &[u8]) {
    stream
        .write_all(&(payload.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(payload).unwrap();
}

/// Reads one length-prefixed frame.
pub fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut payload).unwrap();
    payload
}

/// True once the other side has closed `stream` (reads end), within its read timeout.
pub fn closed(stream: &mut TcpStream) -> bool {
    stream.read_to_end(&mut Vec::new()).is_ok()
}
