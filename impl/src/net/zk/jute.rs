//! Jute's binary encoding, the primitives of every ZooKeeper record (`BinaryInputArchive`
//! and `BinaryOutputArchive`): big-endian `int` (4 bytes) and `long` (8), a `boolean` as one
//! byte, and a `buffer`, `ustring` or `vector` as a 4-byte length followed by its bytes or
//! elements, where length -1 stands for null.
//!
//! Reading never panics: every read checks what is left, and a length is refused when it is
//! negative (other than -1), larger than what is left, or larger than the limit.

use std::fmt;

/// ZooKeeper's default `jute.maxbuffer`: the largest frame a server accepts, and the largest
/// buffer or string inside one.
pub const MAX_BUFFER: usize = 0xfffff;

/// Why bytes do not decode as the record expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JuteError {
    /// The bytes end before the record does.
    Truncated,
    /// A length that is negative (other than -1 for null), or beyond the limit.
    BadLength(i32),
    /// A string that is not UTF-8.
    NotUtf8,
    /// Bytes left over after the record.
    Trailing(usize),
    /// A value outside the record's domain (an unknown opcode in a multi, say).
    Invalid(&'static str, i64),
}

impl fmt::Display for JuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JuteError::Truncated => write!(f, "the record is truncated"),
            JuteError::BadLength(n) => write!(f, "unreasonable length {n}"),
            JuteError::NotUtf8 => write!(f, "a string is not UTF-8"),
            JuteError::Trailing(n) => write!(f, "{n} bytes after the record"),
            JuteError::Invalid(what, v) => write!(f, "invalid {what} {v}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, JuteError>;

/// A cursor over one frame's bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(JuteError::Trailing(n)),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(JuteError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    pub fn int(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn long(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Jute writes `true` as 1 and `false` as 0; like Java's `readBoolean`, any non-zero
    /// byte reads as true.
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.array::<1>()?[0] != 0)
    }

    /// A length prefix: `None` for -1 (null); an error if negative otherwise, over
    /// [`MAX_BUFFER`], or (for bytes) longer than what is left.
    fn length(&mut self, unit: usize) -> Result<Option<usize>> {
        let n = self.int()?;
        if n == -1 {
            return Ok(None);
        }
        let len = usize::try_from(n).map_err(|_| JuteError::BadLength(n))?;
        if len > MAX_BUFFER || len.saturating_mul(unit) > self.bytes.len() {
            return Err(match len > MAX_BUFFER {
                true => JuteError::BadLength(n),
                false => JuteError::Truncated,
            });
        }
        Ok(Some(len))
    }

    /// A `buffer`: `None` for null.
    pub fn buffer(&mut self) -> Result<Option<Vec<u8>>> {
        match self.length(1)? {
            Some(len) => Ok(Some(self.take(len)?.to_vec())),
            None => Ok(None),
        }
    }

    /// A `ustring`: `None` for null.
    pub fn ustring(&mut self) -> Result<Option<String>> {
        match self.length(1)? {
            Some(len) => {
                let bytes = self.take(len)?;
                let text = std::str::from_utf8(bytes).map_err(|_| JuteError::NotUtf8)?;
                Ok(Some(text.to_string()))
            }
            None => Ok(None),
        }
    }

    /// A `ustring` where null reads as empty (kazoo writes an empty string as null).
    pub fn string(&mut self) -> Result<String> {
        Ok(self.ustring()?.unwrap_or_default())
    }

    /// A `vector` whose elements `item` reads; null reads as empty. Each element takes at
    /// least one byte, so a count larger than what is left is refused before reading.
    pub fn vector<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let Some(len) = self.length(1)? else {
            return Ok(Vec::new());
        };
        (0..len).map(|_| item(self)).collect()
    }
}

/// A growing frame.
#[derive(Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn int(&mut self, v: i32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn long(&mut self, v: i64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.bytes.push(u8::from(v));
        self
    }

    /// A `buffer`; `None` is written as null (length -1).
    pub fn buffer(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(bytes) => {
                self.int(len_i32(bytes.len()));
                self.bytes.extend_from_slice(bytes);
            }
            None => {
                self.int(-1);
            }
        }
        self
    }

    /// A `ustring`, never null.
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buffer(Some(v.as_bytes()))
    }

    /// A `vector` of `items`, each written by `item`.
    pub fn vector<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.int(len_i32(items.len()));
        for v in items {
            item(self, v);
        }
        self
    }

    /// A vector of strings.
    pub fn strings(&mut self, items: &[String]) -> &mut Self {
        self.vector(items, |w, s| {
            w.string(s);
        })
    }
}

/// A length as jute's `int`. Nothing this server writes comes near 2 GiB.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).expect("a jute length fits in an int")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_big_endian_and_strings_are_length_prefixed() {
        let mut w = Writer::new();
        w.int(1).long(-2).bool(true).string("ab").buffer(None);
        let bytes = w.into_bytes();
        assert_eq!(
            bytes,
            [
                0, 0, 0, 1, 255, 255, 255, 255, 255, 255, 255, 254, 1, 0, 0, 0, 2, b'a', b'b', 255,
                255, 255, 255
            ]
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.int(), Ok(1));
        assert_eq!(r.long(), Ok(-2));
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.ustring(), Ok(Some("ab".into())));
        assert_eq!(r.buffer(), Ok(None));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn bad_lengths_and_short_input_are_errors() {
        assert_eq!(Reader::new(&[0, 0]).int(), Err(JuteError::Truncated));
        assert_eq!(
            Reader::new(&(-2i32).to_be_bytes()).buffer(),
            Err(JuteError::BadLength(-2))
        );
        let huge = (MAX_BUFFER as i32 + 1).to_be_bytes();
        assert!(matches!(
            Reader::new(&huge).buffer(),
            Err(JuteError::BadLength(_))
        ));
        // A count that promises more elements than there are bytes left.
        let mut r = Reader::new(&[0, 0, 0x10, 0]);
        assert_eq!(r.vector(Reader::int), Err(JuteError::Truncated));
        assert_eq!(
            Reader::new(&[0, 0, 0, 1, 0xff]).ustring(),
            Err(JuteError::NotUtf8)
        );
        assert_eq!(Reader::new(&[1]).finish(), Err(JuteError::Trailing(1)));
    }

    #[test]
    fn null_strings_and_vectors_read_as_empty() {
        let null = (-1i32).to_be_bytes();
        assert_eq!(Reader::new(&null).string(), Ok(String::new()));
        assert_eq!(Reader::new(&null).vector(Reader::int), Ok(Vec::new()));
    }
}
