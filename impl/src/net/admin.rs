//! Talking to a running node as its operator: asking for its counters and status, and
//! commanding it (partitions). Each is one datagram, answered with the node's stats.

use super::frame::{decode, decode_body, encode, ClusterKey, FrameError, Kind, MAX_DATAGRAM};
use super::partition::AdminCommand;
use super::stats::StatsReply;
use serde::Serialize;
use stateright::actor::Id;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// How long to wait for an answer to a command before sending it again.
const RESEND: Duration = Duration::from_millis(250);

/// Sends a stats request to `addr` and waits up to `timeout` for the answer.
pub fn request_stats(addr: SocketAddr, timeout: Duration) -> io::Result<StatsReply> {
    exchange(addr, Kind::StatsRequest, &(), None, timeout)
}

/// Sends `command` to the node at `addr` (on this machine: a node obeys only loopback
/// addresses), signed with `key` if given, until it acknowledges with its stats or
/// `timeout` passes. A command is idempotent, so sending it again is harmless.
pub fn command(
    addr: SocketAddr,
    command: &AdminCommand,
    key: Option<&ClusterKey>,
    timeout: Duration,
) -> io::Result<StatsReply> {
    exchange(addr, Kind::Admin, command, key, timeout)
}

/// Sends one datagram of `kind` to `addr`, again every [`RESEND`], until a stats reply
/// comes back from `addr` or `timeout` passes.
fn exchange<T: Serialize>(
    addr: SocketAddr,
    kind: Kind,
    body: &T,
    key: Option<&ClusterKey>,
    timeout: Duration,
) -> io::Result<StatsReply> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    let request = encode(kind, Id::from(0), body, key).map_err(invalid)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        socket.send_to(&request, addr)?;
        let resend = Instant::now() + RESEND;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("no answer from {addr} within {timeout:?}"),
                ));
            }
            if now >= resend {
                break;
            }
            socket.set_read_timeout(Some(resend.min(deadline) - now))?;
            let (n, from) = match socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                // An ICMP "port unreachable": the node is not up (yet); try again later.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            if from != addr {
                continue;
            }
            let frame = decode(&buf[..n], None).map_err(invalid)?;
            if frame.kind == Kind::StatsReply {
                return decode_body(frame.body).map_err(invalid);
            }
        }
    }
}

fn invalid(e: FrameError) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e.to_string())
}
