//! The records of `zookeeper.jute` that requests and replies share, and the handshake.

use super::jute::{Reader, Result, Writer};

/// A record that reads and writes itself in jute's binary encoding.
pub trait Record: Sized {
    fn read(r: &mut Reader) -> Result<Self>;
    fn write(&self, w: &mut Writer);

    /// The record alone as bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes()
    }

    /// Reads the record from exactly `bytes`.
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let record = Self::read(&mut r)?;
        r.finish()?;
        Ok(record)
    }
}

/// A znode's metadata (`data.Stat`): eleven fields, in this order on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

impl Record for Stat {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(Stat {
            czxid: r.long()?,
            mzxid: r.long()?,
            ctime: r.long()?,
            mtime: r.long()?,
            version: r.int()?,
            cversion: r.int()?,
            aversion: r.int()?,
            ephemeral_owner: r.long()?,
            data_length: r.int()?,
            num_children: r.int()?,
            pzxid: r.long()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.long(self.czxid).long(self.mzxid).long(self.ctime);
        w.long(self.mtime).int(self.version).int(self.cversion);
        w.int(self.aversion).long(self.ephemeral_owner);
        w.int(self.data_length)
            .int(self.num_children)
            .long(self.pzxid);
    }
}

/// An identity in an ACL (`data.Id`): a scheme and an id, such as `world:anyone`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub scheme: String,
    pub id: String,
}

impl Record for Identity {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(Identity {
            scheme: r.string()?,
            id: r.string()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.string(&self.scheme).string(&self.id);
    }
}

/// One entry of an access control list (`data.ACL`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    pub perms: i32,
    pub id: Identity,
}

impl Acl {
    /// `world:anyone` with every permission (`Ids.OPEN_ACL_UNSAFE`).
    pub fn open() -> Acl {
        Acl {
            perms: super::proto::perms::ALL,
            id: Identity {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }
    }
}

impl Record for Acl {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(Acl {
            perms: r.int()?,
            id: Identity::read(r)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.int(self.perms);
        self.id.write(w);
    }
}

/// Who a client is, as `whoAmI` answers (`data.ClientInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

impl Record for ClientInfo {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(ClientInfo {
            auth_scheme: r.string()?,
            user: r.string()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.string(&self.auth_scheme).string(&self.user);
    }
}

/// Reads a vector of records.
pub fn read_all<T: Record>(r: &mut Reader) -> Result<Vec<T>> {
    r.vector(T::read)
}

/// Writes a vector of records.
pub fn write_all<T: Record>(w: &mut Writer, items: &[T]) {
    w.vector(items, |w, item| item.write(w));
}

/// The first frame of a connection (`proto.ConnectRequest`). `read_only` is `None` when
/// the client did not send the byte (older clients do not), and then the answer does not
/// carry it either.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(ConnectRequest {
            protocol_version: r.int()?,
            last_zxid_seen: r.long()?,
            timeout: r.int()?,
            session_id: r.long()?,
            passwd: r.buffer()?.unwrap_or_default(),
            read_only: optional_bool(r)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.int(self.protocol_version).long(self.last_zxid_seen);
        w.int(self.timeout).long(self.session_id);
        w.buffer(Some(&self.passwd));
        if let Some(read_only) = self.read_only {
            w.bool(read_only);
        }
    }
}

/// The server's answer to a [`ConnectRequest`] (`proto.ConnectResponse`): a timeout of 0
/// tells the client its session has expired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Record for ConnectResponse {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(ConnectResponse {
            protocol_version: r.int()?,
            timeout: r.int()?,
            session_id: r.long()?,
            passwd: r.buffer()?.unwrap_or_default(),
            read_only: optional_bool(r)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.int(self.protocol_version).int(self.timeout);
        w.long(self.session_id).buffer(Some(&self.passwd));
        if let Some(read_only) = self.read_only {
            w.bool(read_only);
        }
    }
}

/// The trailing `readOnly` byte: absent is `None`, as ZooKeeper tolerates from old clients.
fn optional_bool(r: &mut Reader) -> Result<Option<bool>> {
    match r.remaining() {
        0 => Ok(None),
        _ => Ok(Some(r.bool()?)),
    }
}

/// A fired watch (`proto.WatcherEvent`), sent with xid -1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatcherEvent {
    pub kind: i32,
    pub state: i32,
    pub path: String,
}

impl Record for WatcherEvent {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(WatcherEvent {
            kind: r.int()?,
            state: r.int()?,
            path: r.string()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.int(self.kind).int(self.state).string(&self.path);
    }
}

/// The header of every reply (`proto.ReplyHeader`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

impl Record for ReplyHeader {
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(ReplyHeader {
            xid: r.int()?,
            zxid: r.long()?,
            err: r.int()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.int(self.xid).long(self.zxid).int(self.err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ConnectRequest's bytes, laid out by hand from `zookeeper.jute`.
    fn connect_bytes(read_only: Option<u8>) -> Vec<u8> {
        let mut bytes = vec![0, 0, 0, 0]; // protocolVersion
        bytes.extend([0, 0, 0, 0, 0, 0, 0, 0x2a]); // lastZxidSeen 42
        bytes.extend([0, 0, 0x75, 0x30]); // timeOut 30000
        bytes.extend([0, 0, 0, 0, 0, 0, 0, 0]); // sessionId 0
        bytes.extend([0, 0, 0, 16]); // passwd: 16 bytes of zero
        bytes.extend([0; 16]);
        bytes.extend(read_only);
        bytes
    }

    #[test]
    fn a_connect_request_reads_with_or_without_the_read_only_byte() {
        for read_only in [None, Some(0), Some(1)] {
            let bytes = connect_bytes(read_only);
            let request = ConnectRequest::from_bytes(&bytes).unwrap();
            let expected = ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 42,
                timeout: 30_000,
                session_id: 0,
                passwd: vec![0; 16],
                read_only: read_only.map(|b| b == 1),
            };
            assert_eq!(request, expected);
            assert_eq!(request.to_bytes(), bytes);
        }
    }

    #[test]
    fn a_connect_response_answers_in_kind() {
        let response = ConnectResponse {
            protocol_version: 0,
            timeout: 4_000,
            session_id: 0x0100_0000_0000_0001,
            passwd: (0..16).collect(),
            read_only: Some(false),
        };
        let bytes = response.to_bytes();
        let mut expected = vec![
            0, 0, 0, 0, 0, 0, 0x0f, 0xa0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 16,
        ];
        expected.extend(0..16u8);
        expected.push(0);
        assert_eq!(bytes, expected);
        assert_eq!(ConnectResponse::from_bytes(&bytes), Ok(response.clone()));
        let old = ConnectResponse {
            read_only: None,
            ..response
        };
        assert_eq!(old.to_bytes().len(), expected.len() - 1);
    }

    #[test]
    fn a_stat_is_68_bytes_in_field_order() {
        let stat = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        };
        let bytes = stat.to_bytes();
        assert_eq!(bytes.len(), 68);
        assert_eq!(&bytes[..8], &1i64.to_be_bytes());
        assert_eq!(&bytes[32..36], &5i32.to_be_bytes());
        assert_eq!(&bytes[60..], &11i64.to_be_bytes());
        assert_eq!(Stat::from_bytes(&bytes), Ok(stat));
    }

    #[test]
    fn an_open_acl_is_world_anyone_with_all_permissions() {
        let bytes = Acl::open().to_bytes();
        let mut expected = vec![0, 0, 0, 31, 0, 0, 0, 5];
        expected.extend(b"world");
        expected.extend([0, 0, 0, 6]);
        expected.extend(b"anyone");
        assert_eq!(bytes, expected);
        assert_eq!(Acl::from_bytes(&bytes), Ok(Acl::open()));
    }
}
