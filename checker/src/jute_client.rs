//! A small blocking client of ZooKeeper's client protocol, written on coord's own jute
//! codec (`coord::net::zk`: the records the client port decodes, here encoded, and the
//! replies it encodes, here decoded). One session per TCP connection, one request in
//! flight at a time; every frame the server sends is kept in the order it came, so a
//! caller sees where each watch event fell among the replies.
//!
//! The same code drives coord's client port and a real ZooKeeper, which is what makes
//! the differential tester's and the benchmark's comparisons like for like.

use coord::net::zk::proto::{xid, PASSWORD_LEN, PROTOCOL_VERSION};
use coord::net::zk::records::{ConnectRequest, ConnectResponse, Record, WatcherEvent};
use coord::net::zk::reply::{Body, Reply};
use coord::net::zk::request::{Op, Request};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// The largest frame this client reads: ZooKeeper's `jute.maxbuffer` and some.
const MAX_FRAME: usize = 0x10_0000 + 1024;

/// One session on one connection.
pub struct Session {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    next_xid: i32,
    /// The highest zxid a reply carried: a resumed session asks a server at least as
    /// recent.
    last_zxid: i64,
    /// Every read and write gives up after this.
    wait: Duration,
    /// What the server answered to the handshake.
    pub handshake: ConnectResponse,
    /// The server this session is connected to.
    pub server: SocketAddr,
}

/// An error of the connection (not a ZooKeeper error code, which a [`Reply`] carries).
pub type Result<T> = io::Result<T>;

impl Session {
    /// Opens a new session at `server`, asking for a timeout of `timeout_ms`; every read
    /// and write of the connection gives up after `wait`.
    pub fn connect(server: SocketAddr, timeout_ms: i32, wait: Duration) -> Result<Session> {
        let request = new_session(0, timeout_ms);
        let (reader, writer, handshake) = handshake(server, &request, wait)?;
        Ok(Session {
            reader,
            writer,
            next_xid: 1,
            last_zxid: 0,
            wait,
            handshake,
            server,
        })
    }

    /// Replaces this session, which expired, with a new one at `server` that asks the
    /// server to have seen every zxid this one saw (a server further behind refuses it,
    /// as it refuses a resumed session): what the client read or wrote before, it never
    /// reads older again.
    pub fn renew(&mut self, server: SocketAddr) -> Result<()> {
        let request = new_session(self.last_zxid, self.handshake.timeout);
        self.reconnect(server, &request)
    }

    /// Takes the session to `server` on a new connection, as ZooKeeper's client does when
    /// it loses its server. A request whose answer was lost may or may not have happened.
    pub fn resume(&mut self, server: SocketAddr) -> Result<()> {
        let request = ConnectRequest {
            protocol_version: PROTOCOL_VERSION,
            last_zxid_seen: self.last_zxid,
            timeout: self.handshake.timeout,
            session_id: self.handshake.session_id,
            passwd: self.handshake.passwd.clone(),
            read_only: Some(false),
        };
        self.reconnect(server, &request)
    }

    /// This session's connection closed, and a new one to `server` opened with `request`.
    fn reconnect(&mut self, server: SocketAddr, request: &ConnectRequest) -> Result<()> {
        let _ = self.writer.get_ref().shutdown(Shutdown::Both);
        let (reader, writer, handshake) = handshake(server, request, self.wait)?;
        (self.reader, self.writer, self.handshake) = (reader, writer, handshake);
        self.server = server;
        Ok(())
    }

    /// The session's id, as the server numbered it.
    pub fn id(&self) -> i64 {
        self.handshake.session_id
    }

    /// Sends `op` and waits for its reply: the watch events that came before the reply,
    /// in order, and the reply. Ping replies in between are dropped.
    pub fn call(&mut self, op: Op) -> Result<(Vec<WatcherEvent>, Reply)> {
        let code = op.opcode();
        let xid = match op {
            Op::Ping => xid::PING,
            _ => {
                self.next_xid += 1;
                self.next_xid - 1
            }
        };
        self.send_frame(&Request { xid, op }.encode())?;
        let mut events = Vec::new();
        loop {
            let frame = self.read_frame()?;
            let reply = Reply::decode(&frame, code).map_err(invalid)?;
            self.last_zxid = self.last_zxid.max(reply.header.zxid);
            match (reply.header.xid, reply.body) {
                (x, body) if x == xid => {
                    return Ok((events, Reply { body, ..reply }));
                }
                (xid::NOTIFICATION, Body::Event(event)) => events.push(event),
                (xid::PING, _) => {}
                (other, _) => {
                    return Err(invalid(format!("a reply to xid {other} while {xid} waits")));
                }
            }
        }
    }

    /// Keeps the session alive: a ping, and the events that came before its answer.
    pub fn ping(&mut self) -> Result<Vec<WatcherEvent>> {
        Ok(self.call(Op::Ping)?.0)
    }

    /// Ends the session (`closeSession`): the events before the reply, and the reply.
    pub fn close(mut self) -> Result<(Vec<WatcherEvent>, Reply)> {
        let answer = self.call(Op::CloseSession);
        self.abandon();
        answer
    }

    /// Drops the connection without ending the session, as a client that crashed: the
    /// session expires once its timeout passes without a word from it.
    pub fn abandon(self) {
        let _ = self.writer.get_ref().shutdown(Shutdown::Both);
    }

    fn send_frame(&mut self, payload: &[u8]) -> Result<()> {
        send_frame(&mut self.writer, payload)
    }

    fn read_frame(&mut self) -> Result<Vec<u8>> {
        read_frame(&mut self.reader)
    }
}

/// The handshake of a new session, asking for a timeout of `timeout_ms` from a server that
/// has seen `last_zxid`.
fn new_session(last_zxid: i64, timeout_ms: i32) -> ConnectRequest {
    ConnectRequest {
        protocol_version: PROTOCOL_VERSION,
        last_zxid_seen: last_zxid,
        timeout: timeout_ms,
        session_id: 0,
        passwd: vec![0; PASSWORD_LEN],
        read_only: Some(false),
    }
}

/// The error of a handshake that the server answered with a timeout of 0: the session
/// it was asked to resume has expired.
#[derive(Debug)]
struct Expired;

impl std::fmt::Display for Expired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server refused the session")
    }
}

impl std::error::Error for Expired {}

/// Whether `e` says that the session expired (and not that a server or a connection
/// failed).
pub fn is_expired(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Expired>())
}

/// A new connection to `server` and its handshake: an error if the server refused the
/// session (a timeout of 0: it expired; see [`is_expired`]).
fn handshake(
    server: SocketAddr,
    request: &ConnectRequest,
    wait: Duration,
) -> Result<(BufReader<TcpStream>, BufWriter<TcpStream>, ConnectResponse)> {
    let stream = TcpStream::connect_timeout(&server, wait)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(wait))?;
    stream.set_write_timeout(Some(wait))?;
    let (mut reader, mut writer) = (BufReader::new(stream.try_clone()?), BufWriter::new(stream));
    send_frame(&mut writer, &request.to_bytes())?;
    let answer = ConnectResponse::from_bytes(&read_frame(&mut reader)?).map_err(invalid)?;
    if answer.timeout <= 0 {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, Expired));
    }
    Ok((reader, writer, answer))
}

fn send_frame(writer: &mut BufWriter<TcpStream>, payload: &[u8]) -> Result<()> {
    let len = u32::try_from(payload.len()).map_err(invalid)?;
    writer.write_all(&len.to_be_bytes())?;
    writer.write_all(payload)?;
    writer.flush()
}

fn read_frame(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>> {
    let mut len = [0; 4];
    reader.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(invalid(format!("a frame of {len} bytes")));
    }
    let mut frame = vec![0; len];
    reader.read_exact(&mut frame)?;
    Ok(frame)
}

fn invalid(e: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// `Op::Create2` of `path` with open ACLs: the create every caller here makes.
pub fn create(path: &str, data: &[u8], flags: i32) -> Op {
    Op::Create2(coord::net::zk::request::Create {
        path: path.to_string(),
        data: Some(data.to_vec()),
        acl: vec![coord::net::zk::records::Acl::open()],
        flags,
    })
}

/// Whether a reply carries no error.
pub fn is_ok(reply: &Reply) -> bool {
    reply.header.err == coord::net::zk::proto::err::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_carries_open_acls_and_the_flags() {
        let Op::Create2(c) = create("/a", b"x", 3) else {
            panic!("not a create2");
        };
        assert_eq!((c.path.as_str(), c.flags), ("/a", 3));
        assert_eq!(c.acl, vec![coord::net::zk::records::Acl::open()]);
        assert_eq!(
            coord::net::zk::proto::opcode::CREATE2,
            Op::Create2(c).opcode()
        );
    }
}
