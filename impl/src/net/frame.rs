//! The wire format of one datagram: a fixed header, a postcard body and, with a cluster
//! key, an HMAC-SHA256 tag over everything before it.
//!
//! ```text
//! magic "CRD" | version u8 | kind u8 (+0x80 if signed) | sender u64 (big endian) | body | [tag: 32 bytes]
//! ```
//!
//! The sender field carries the sender's actor id rather than trusting the UDP source
//! address alone: a client picks a fresh random id per process, so a later client that
//! happens to reuse a port is not mistaken for an earlier one by the servers' duplicate
//! suppression.

use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;
use stateright::actor::Id;
use std::fmt;

const MAGIC: &[u8; 3] = b"CRD";
/// Bumped on any incompatible change of the header or of a message type.
pub const VERSION: u8 = 3;
const HEADER: usize = 3 + 1 + 1 + 8;
const TAG: usize = 32;
const SIGNED: u8 = 0x80;
/// The largest datagram a node sends or accepts; larger ones are dropped.
pub const MAX_DATAGRAM: usize = 60_000;
/// The largest frame between peers over TCP (see [`super::link`]): Raft's AppendEntries
/// batches are bounded by bytes well below it, but one entry may be as large as ZooKeeper's
/// largest request.
pub const MAX_LINK_FRAME: usize = 8 << 20;

/// What a datagram carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One actor message.
    Msg = 0,
    /// A request for the receiver's counters and status.
    StatsRequest = 1,
    /// The counters and status, in answer to a `StatsRequest` or an `Admin` command.
    StatsReply = 2,
    /// An operator's command to the receiver (a partition, a heal), from its own machine.
    Admin = 3,
}

/// A datagram whose header was read: who sent it, what kind, and its undecoded body.
#[derive(Debug)]
pub struct Frame<'a> {
    pub kind: Kind,
    pub sender: Id,
    pub body: &'a [u8],
    /// Whether a tag was present and verified with the receiver's key.
    pub authenticated: bool,
}

/// Why a datagram was dropped.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    TooLarge(usize),
    BadHeader,
    BadVersion(u8),
    BadKind(u8),
    BadBody(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge(n) => write!(f, "{n} bytes exceed the size limit"),
            FrameError::BadHeader => write!(f, "no coord header"),
            FrameError::BadVersion(v) => write!(f, "wire version {v}, expected {VERSION}"),
            FrameError::BadKind(k) => write!(f, "unknown datagram kind {k}"),
            FrameError::BadBody(e) => write!(f, "body does not decode: {e}"),
        }
    }
}

/// The shared secret of a cluster, used to sign and verify datagrams.
#[derive(Clone)]
pub struct ClusterKey(Vec<u8>);

impl ClusterKey {
    pub fn new(secret: &str) -> Self {
        ClusterKey(secret.as_bytes().to_vec())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

/// Encodes one datagram, signed when a key is given.
pub fn encode<T: Serialize>(
    kind: Kind,
    sender: Id,
    body: &T,
    key: Option<&ClusterKey>,
) -> Result<Vec<u8>, FrameError> {
    encode_up_to(kind, sender, body, key, MAX_DATAGRAM)
}

/// Encodes one frame of at most `limit` bytes, signed when a key is given.
pub fn encode_up_to<T: Serialize>(
    kind: Kind,
    sender: Id,
    body: &T,
    key: Option<&ClusterKey>,
    limit: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind as u8 | if key.is_some() { SIGNED } else { 0 });
    out.extend_from_slice(&(usize::from(sender) as u64).to_be_bytes());
    let out = postcard::to_extend(body, out).map_err(|e| FrameError::BadBody(e.to_string()))?;
    let mut out = out;
    if let Some(key) = key {
        let mut mac = key.mac();
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
    }
    if out.len() > limit {
        return Err(FrameError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Reads one datagram's header and checks its tag. A signed datagram is `authenticated`
/// if its tag verifies with `key`; any other datagram is still decoded (client requests need no tag, and a client
/// without the key reads signed replies) and the caller decides what it may do.
pub fn decode<'a>(bytes: &'a [u8], key: Option<&ClusterKey>) -> Result<Frame<'a>, FrameError> {
    decode_up_to(bytes, key, MAX_DATAGRAM)
}

/// [`decode`] for a frame of at most `limit` bytes.
pub fn decode_up_to<'a>(
    bytes: &'a [u8],
    key: Option<&ClusterKey>,
    limit: usize,
) -> Result<Frame<'a>, FrameError> {
    if bytes.len() > limit {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    if bytes.len() < HEADER || &bytes[..3] != MAGIC {
        return Err(FrameError::BadHeader);
    }
    if bytes[3] != VERSION {
        return Err(FrameError::BadVersion(bytes[3]));
    }
    let signed = bytes[4] & SIGNED != 0;
    let kind = match bytes[4] & !SIGNED {
        0 => Kind::Msg,
        1 => Kind::StatsRequest,
        2 => Kind::StatsReply,
        3 => Kind::Admin,
        k => return Err(FrameError::BadKind(k)),
    };
    let sender = Id::from(u64::from_be_bytes(bytes[5..HEADER].try_into().unwrap()) as usize);
    let (covered, authenticated) = if signed {
        if bytes.len() < HEADER + TAG {
            return Err(FrameError::BadHeader);
        }
        let (covered, tag) = bytes.split_at(bytes.len() - TAG);
        let verified = key.is_some_and(|key| {
            let mut mac = key.mac();
            mac.update(covered);
            mac.verify_slice(tag).is_ok()
        });
        (covered, verified)
    } else {
        (bytes, false)
    };
    Ok(Frame {
        kind,
        sender,
        body: &covered[HEADER..],
        authenticated,
    })
}

/// How many bytes `body` takes encoded (as Raft counts entries for its byte batches).
pub fn encoded_len<T: Serialize>(body: &T) -> usize {
    postcard::experimental::serialized_size(body).unwrap_or(usize::MAX)
}

/// Decodes a body that must use every byte: trailing garbage is an error too.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FrameError> {
    match postcard::take_from_bytes(bytes) {
        Ok((body, [])) => Ok(body),
        Ok((_, rest)) => Err(FrameError::BadBody(format!(
            "{} trailing bytes",
            rest.len()
        ))),
        Err(e) => Err(FrameError::BadBody(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Id {
        Id::from(7)
    }

    #[test]
    fn a_signed_frame_round_trips_and_verifies() {
        let key = ClusterKey::new("secret");
        let bytes = encode(Kind::Msg, id(), &(1u64, "x".to_string()), Some(&key)).unwrap();
        let frame = decode(&bytes, Some(&key)).unwrap();
        let body: (u64, String) = decode_body(frame.body).unwrap();
        assert_eq!(body, (1, "x".to_string()));
        assert_eq!(frame.sender, id());
        assert!(frame.authenticated);
    }

    #[test]
    fn a_wrong_key_or_a_flipped_byte_does_not_verify() {
        let key = ClusterKey::new("secret");
        let mut bytes = encode(Kind::Msg, id(), &5u64, Some(&key)).unwrap();
        let wrong = decode(&bytes, Some(&ClusterKey::new("other"))).unwrap();
        assert!(!wrong.authenticated);
        let keyless = decode(&bytes, None).unwrap();
        assert!(!keyless.authenticated);
        assert_eq!(decode_body::<u64>(keyless.body), Ok(5));
        bytes[HEADER] ^= 1;
        assert!(!decode(&bytes, Some(&key)).unwrap().authenticated);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = encode(Kind::Msg, id(), &"hello".to_string(), None).unwrap();
        assert_eq!(decode(b"xx", None).unwrap_err(), FrameError::BadHeader);
        let truncated = decode(&good[..good.len() - 2], None).unwrap();
        assert!(decode_body::<String>(truncated.body).is_err());
        let mut bad_kind = good.clone();
        bad_kind[4] = 9;
        assert_eq!(decode(&bad_kind, None).unwrap_err(), FrameError::BadKind(9));
        let big = vec![0u8; MAX_DATAGRAM + 1];
        assert!(matches!(decode(&big, None), Err(FrameError::TooLarge(_))));
        assert!(encode(Kind::Msg, id(), &vec![0u8; MAX_DATAGRAM], None).is_err());
    }
}
