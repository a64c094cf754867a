//! One non-blocking TCP connection's buffers, shared by the peer links and the client
//! ports: bytes read and not yet framed (bounded), and bytes waiting to be written.
//! Frames are length-prefixed with a 4-byte big-endian length, as ZooKeeper's are.

use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};

/// How many bytes one read call asks for.
const CHUNK: usize = 64 * 1024;

/// What the next bytes of a stream hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Not a whole frame yet.
    Partial,
    /// A whole frame's payload (without its length prefix).
    Frame(Vec<u8>),
    /// A length prefix that is negative or over the limit: the stream cannot go on.
    BadLength(i32),
}

/// Whether a read stopped because the peer closed its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// Everything available was read (the socket would block).
    Drained,
    /// The input buffer is full: more may be waiting in the socket.
    Full,
    /// The peer closed its side (or the connection failed).
    Closed,
}

/// A TCP stream with its input and output buffers.
pub struct Stream {
    pub socket: TcpStream,
    input: Vec<u8>,
    /// How much of `input` was already taken.
    taken: usize,
    output: Vec<u8>,
    /// How much of `output` was already written.
    written: usize,
}

impl Stream {
    pub fn new(socket: TcpStream) -> Self {
        Stream {
            socket,
            input: Vec::new(),
            taken: 0,
            output: Vec::new(),
            written: 0,
        }
    }

    /// Reads what the socket has, until it would block or `cap` bytes are buffered.
    pub fn fill(&mut self, cap: usize) -> Fill {
        if self.taken > 0 {
            self.input.drain(..self.taken);
            self.taken = 0;
        }
        loop {
            let room = cap.saturating_sub(self.input.len());
            if room == 0 {
                return Fill::Full;
            }
            let start = self.input.len();
            self.input.resize(start + room.min(CHUNK), 0);
            let read = self.socket.read(&mut self.input[start..]);
            let n = *read.as_ref().unwrap_or(&0);
            self.input.truncate(start + n);
            match read {
                Ok(0) => return Fill::Closed,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Fill::Drained,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Fill::Closed,
            }
        }
    }

    /// The unread input.
    pub fn unread(&self) -> &[u8] {
        &self.input[self.taken..]
    }

    /// Marks `n` bytes of input as read.
    pub fn take(&mut self, n: usize) {
        self.taken = (self.taken + n).min(self.input.len());
    }

    /// The next length-prefixed frame of at most `limit` bytes.
    pub fn next_frame(&mut self, limit: usize) -> Next {
        let unread = self.unread();
        let Some(prefix) = unread.get(..4) else {
            return Next::Partial;
        };
        let len = i32::from_be_bytes(prefix.try_into().expect("4 bytes"));
        let size = match usize::try_from(len) {
            Ok(size) if size <= limit => size,
            _ => return Next::BadLength(len),
        };
        let Some(payload) = unread.get(4..4 + size) else {
            return Next::Partial;
        };
        let frame = payload.to_vec();
        self.take(4 + size);
        Next::Frame(frame)
    }

    /// Queues `payload` as one length-prefixed frame.
    pub fn queue_frame(&mut self, payload: &[u8]) {
        let len = u32::try_from(payload.len()).expect("a frame fits a 4-byte length");
        self.output.extend_from_slice(&len.to_be_bytes());
        self.output.extend_from_slice(payload);
    }

    /// Queues bytes as they are (a four-letter word's answer has no length prefix).
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.output.len() - self.written
    }

    /// Writes what is queued until the socket would block. An error means the connection
    /// is gone.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.written < self.output.len() {
            match self.socket.write(&self.output[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
        } else if self.written > CHUNK && self.written * 2 > self.output.len() {
            self.output.drain(..self.written);
            self.written = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};
    use std::time::{Duration, Instant};

    /// A connected pair: a blocking std end, and a non-blocking mio `Stream`.
    fn pair() -> (std::net::TcpStream, Stream) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (client, Stream::new(TcpStream::from_std(server)))
    }

    /// Reads into `stream` until `done` holds for its next frame (bounded).
    fn read_until(stream: &mut Stream, cap: usize) -> Next {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            stream.fill(cap);
            match stream.next_frame(100) {
                Next::Partial if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                next => return next,
            }
        }
    }

    #[test]
    fn frames_split_across_reads_come_out_whole_and_in_order() {
        let (mut client, mut stream) = pair();
        client.write_all(&[0, 0, 0, 3, b'a']).unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        stream.fill(1024);
        assert_eq!(stream.next_frame(100), Next::Partial);
        client.write_all(&[b'b', b'c', 0, 0, 0, 0]).unwrap();
        assert_eq!(read_until(&mut stream, 1024), Next::Frame(b"abc".to_vec()));
        assert_eq!(read_until(&mut stream, 1024), Next::Frame(Vec::new()));
    }

    #[test]
    fn a_length_over_the_limit_or_negative_is_refused() {
        let (mut client, mut stream) = pair();
        client.write_all(&101u32.to_be_bytes()).unwrap();
        assert_eq!(read_until(&mut stream, 1024), Next::BadLength(101));
        let (mut client, mut stream) = pair();
        client.write_all(&(-5i32).to_be_bytes()).unwrap();
        assert_eq!(read_until(&mut stream, 1024), Next::BadLength(-5));
    }

    #[test]
    fn input_stops_at_the_cap_and_output_is_written() {
        let (mut client, mut stream) = pair();
        client.write_all(&[7; 64]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(stream.fill(16), Fill::Full);
        assert_eq!(stream.unread().len(), 16);
        stream.queue_frame(b"xy");
        stream.flush().unwrap();
        assert_eq!(stream.pending(), 0);
        let mut got = [0u8; 6];
        client.read_exact(&mut got).unwrap();
        assert_eq!(got, [0, 0, 0, 2, b'x', b'y']);
        drop(client);
        std::thread::sleep(Duration::from_millis(20));
        stream.take(16);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stream.fill(1024) != Fill::Closed {
            assert!(Instant::now() < deadline, "the close is seen");
            stream.take(stream.unread().len());
        }
    }
}
