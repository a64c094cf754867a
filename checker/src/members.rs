//! A cluster under test, as seen from outside: the client address of each member, and
//! members that a test may stop and start again. A real ZooKeeper ensemble and a coord
//! cluster both are one, so a harness written once drives either.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a four-letter word may take to be answered.
const FOUR_LETTER_WAIT: Duration = Duration::from_secs(5);

/// The members of a running cluster that speaks ZooKeeper's client protocol.
pub trait Members {
    /// How many members the cluster has, running or not.
    fn count(&self) -> usize;
    /// Member `i`'s client address.
    fn client_addr(&self, i: usize) -> SocketAddr;
    /// Stops member `i` (its clients see their connection close); its data stays.
    fn stop(&mut self, i: usize) -> Result<(), String>;
    /// Starts member `i` again on its data, without waiting for it to serve: like a
    /// restarted server, it may need the others to form a quorum first.
    fn start(&mut self, i: usize) -> Result<(), String>;

    /// `host:port,host:port,...`: every member's client address, in member order.
    fn connect_string(&self) -> String {
        let addrs: Vec<String> = (0..self.count())
            .map(|i| self.client_addr(i).to_string())
            .collect();
        addrs.join(",")
    }

    /// Whether member `i` serves clients: its `srvr` names its mode (leader, follower,
    /// standalone), which a server outside a quorum does not.
    fn serving(&self, i: usize) -> bool {
        four_letter_word(self.client_addr(i), "srvr").is_ok_and(|a| a.contains("Mode: "))
    }

    /// Waits until member `i` serves; an error after `within`.
    fn wait_serving(&self, i: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while !self.serving(i) {
            if Instant::now() > deadline {
                return Err(format!("member {i} did not serve within {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }
}

/// Sends a four-letter word (`ruok`, `srvr`, `mntr`, ...) to a server's client port and
/// returns its whole answer; the server closes the connection after it.
pub fn four_letter_word(addr: SocketAddr, word: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, FOUR_LETTER_WAIT)?;
    stream.set_read_timeout(Some(FOUR_LETTER_WAIT))?;
    stream.set_write_timeout(Some(FOUR_LETTER_WAIT))?;
    stream.write_all(word.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}
