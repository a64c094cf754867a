//! Asking a running node for its counters and status with one stats datagram.

use super::frame::{decode, decode_body, encode, FrameError, Kind, MAX_DATAGRAM};
use super::stats::StatsReply;
use stateright::actor::Id;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Sends a stats request to `addr` and waits up to `timeout` for the answer.
pub fn request_stats(addr: SocketAddr, timeout: Duration) -> io::Result<StatsReply> {
    let socket = UdpSocket::bind(("0.0.0.0", 0))?;
    let request = encode(Kind::StatsRequest, Id::from(0), &(), None).map_err(invalid)?;
    socket.send_to(&request, addr)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("no stats from {addr} within {timeout:?}"),
            ));
        }
        socket.set_read_timeout(Some(left))?;
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
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

fn invalid(e: FrameError) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e.to_string())
}
