//! Durable storage for one node: an append-only journal of deltas, compacted into a
//! snapshot when it grows, or when a change replaces much of what was saved (Raft's new
//! snapshot, see [`Durable::rewrites`]), so a save costs what changed and the file stays
//! bounded: for Raft, the snapshot and the log after it, and the deltas since.
//!
//! Each record is `length u32 | crc32 u32 | postcard body`, the body a full value or a
//! delta. `save` appends and `fsync`s before it returns. Compaction writes the current
//! value to a temporary file, `fsync`s it, renames it over the journal and `fsync`s the
//! directory, so a crash at any point leaves either the old or the new journal. On open,
//! a torn last record (a crash in the middle of an append) is cut off.

use super::durable::Durable;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const FILE: &str = "journal";
const TMP: &str = "journal.tmp";
/// A journal is rewritten as a snapshot once it is this many times its last snapshot's
/// size (and at least `MIN_COMPACT` bytes).
const GROWTH: u64 = 4;
const MIN_COMPACT: u64 = 1 << 20;

/// One journal record.
#[derive(Serialize, Deserialize)]
enum Record<S, D> {
    Full(S),
    Delta(D),
}

/// The journal of one node's storage, open for appending.
pub struct Journal<S: Durable> {
    dir: PathBuf,
    file: File,
    /// The value as last saved: deltas are taken against it.
    current: Option<S>,
    len: u64,
    snapshot_len: u64,
    /// No compaction below this many bytes.
    min_compact: u64,
}

/// What opening a journal found.
pub struct Opened<S: Durable> {
    pub journal: Journal<S>,
    /// The last saved value, if anything was ever saved.
    pub storage: Option<S>,
}

impl<S: Durable> Journal<S> {
    /// Opens (or creates) the journal in `dir` and replays it.
    pub fn open(dir: &Path) -> io::Result<Opened<S>> {
        fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut bytes = Vec::new();
        if path.exists() {
            File::open(&path)?.read_to_end(&mut bytes)?;
        }
        let (current, valid, snapshot_len) = replay::<S>(&bytes);
        if valid < bytes.len() {
            tracing::warn!(
                torn = bytes.len() - valid,
                "cutting a torn record off the journal"
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(valid as u64)?;
        file.sync_all()?;
        sync_dir(dir)?;
        let storage = current.clone();
        Ok(Opened {
            journal: Journal {
                dir: dir.to_path_buf(),
                file,
                current,
                len: valid as u64,
                snapshot_len,
                min_compact: MIN_COMPACT,
            },
            storage,
        })
    }

    /// Makes `value` durable; returns the bytes written.
    pub fn save(&mut self, value: &S) -> io::Result<u64> {
        let threshold = (self.snapshot_len * GROWTH).max(self.min_compact);
        match &self.current {
            Some(old) if self.len < threshold => {
                let delta = old.delta(value);
                if S::rewrites(&delta) {
                    return self.compact(value);
                }
                let record = Record::<S, S::Delta>::Delta(delta);
                let bytes = frame(&record)?;
                self.file.write_all(&bytes)?;
                self.file.sync_data()?;
                self.len += bytes.len() as u64;
                self.current = Some(value.clone());
                Ok(bytes.len() as u64)
            }
            _ => self.compact(value),
        }
    }

    /// Replaces the journal by one snapshot record of `value`.
    fn compact(&mut self, value: &S) -> io::Result<u64> {
        let bytes = frame(&Record::<S, S::Delta>::Full(value.clone()))?;
        let tmp = self.dir.join(TMP);
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(FILE))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(FILE))?;
        self.len = bytes.len() as u64;
        self.snapshot_len = self.len;
        self.current = Some(value.clone());
        tracing::debug!(bytes = self.len, "journal compacted");
        Ok(self.len)
    }
}

fn frame<T: Serialize>(record: &T) -> io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(record).map_err(io::Error::other)?;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Replays records until the end or the first damaged one; returns the value, how many
/// bytes were valid, and the size of the last snapshot record.
fn replay<S: Durable>(bytes: &[u8]) -> (Option<S>, usize, u64) {
    let mut current: Option<S> = None;
    let mut at = 0;
    let mut snapshot_len = 0;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().unwrap());
        let Some(body) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        match postcard::from_bytes::<Record<S, S::Delta>>(body) {
            Ok(Record::Full(value)) => {
                current = Some(value);
                snapshot_len = (len + 8) as u64;
            }
            Ok(Record::Delta(delta)) => match &mut current {
                Some(value) => value.apply(delta),
                None => break,
            },
            Err(_) => break,
        }
        at += 8 + len;
    }
    (current, at, snapshot_len)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{Entry, RaftStorage};
    use stateright::actor::Id;

    type Storage = RaftStorage<String>;

    fn storage(term: u64, ops: &[&str]) -> Storage {
        RaftStorage {
            term,
            voted_for: Some(Id::from(term as usize)),
            log: ops
                .iter()
                .map(|op| Entry {
                    term,
                    client: Id::from(1),
                    seq: 1,
                    op: crate::raft::Payload::Op(op.to_string()),
                })
                .collect(),
            snapshot: bytes::Bytes::new(),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("coord-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn what_was_saved_is_what_is_opened() {
        let dir = scratch("reopen");
        let opened = Journal::<Storage>::open(&dir).unwrap();
        assert!(opened.storage.is_none());
        let mut journal = opened.journal;
        journal.save(&storage(1, &["a"])).unwrap();
        journal.save(&storage(2, &["b", "c"])).unwrap();
        drop(journal);
        let reopened = Journal::<Storage>::open(&dir).unwrap();
        assert_eq!(reopened.storage, Some(storage(2, &["b", "c"])));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_last_record_is_cut_off() {
        let dir = scratch("torn");
        let mut journal = Journal::<Storage>::open(&dir).unwrap().journal;
        journal.save(&storage(1, &["a"])).unwrap();
        journal.save(&storage(1, &["a", "b"])).unwrap();
        drop(journal);
        let path = dir.join(FILE);
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let reopened = Journal::<Storage>::open(&dir).unwrap();
        assert_eq!(reopened.storage, Some(storage(1, &["a"])));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn appends_cost_the_change_and_compaction_bounds_the_file() {
        let dir = scratch("compact");
        let mut journal = Journal::<Storage>::open(&dir).unwrap().journal;
        journal.min_compact = 4096;
        let mut ops: Vec<String> = Vec::new();
        let mut biggest_append = 0;
        for i in 0..300 {
            ops.push(format!("{i:0>100}"));
            let refs: Vec<&str> = ops.iter().map(String::as_str).collect();
            let written = journal.save(&storage(1, &refs)).unwrap();
            if written < journal.snapshot_len {
                biggest_append = biggest_append.max(written);
            }
        }
        assert!(
            biggest_append < 200,
            "an append wrote {biggest_append} bytes"
        );
        let file = fs::metadata(dir.join(FILE)).unwrap().len();
        assert!(file <= journal.snapshot_len * GROWTH + 200);
        let reopened = Journal::<Storage>::open(&dir).unwrap();
        assert_eq!(reopened.storage.unwrap().log.last_index(), 300);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_raft_snapshot_rewrites_the_journal_to_the_snapshot_and_the_log_after_it() {
        let dir = scratch("raft-snapshot");
        let mut journal = Journal::<Storage>::open(&dir).unwrap().journal;
        let ops: Vec<String> = (0..50).map(|i| format!("{i:0>100}")).collect();
        let refs: Vec<&str> = ops.iter().map(String::as_str).collect();
        let mut value = storage(1, &[]);
        for n in 1..=refs.len() {
            value = storage(1, &refs[..n]);
            journal.save(&value).unwrap();
        }
        let before = fs::metadata(dir.join(FILE)).unwrap().len();
        value.log.compact(48, 1);
        value.snapshot = bytes::Bytes::from_static(b"the state at 48");
        journal.save(&value).unwrap();
        let after = fs::metadata(dir.join(FILE)).unwrap().len();
        assert!(after < before / 10, "{after} bytes after, {before} before");
        assert_eq!(journal.snapshot_len, after);
        let reopened = Journal::<Storage>::open(&dir).unwrap().storage.unwrap();
        assert_eq!(reopened, value);
        assert_eq!((reopened.log.snapshot_index(), reopened.log.len()), (48, 2));
        fs::remove_dir_all(&dir).unwrap();
    }
}
