//! zkCli.sh, ZooKeeper's own command-line client (Debian's `zookeeper` package), running
//! a scripted session against a cluster, and the normaliser that makes the transcripts of
//! two runs comparable: what differs between two correct runs (zxids, times, session ids,
//! the order of unordered answers, where the watch events fall among the commands'
//! output) is replaced or set apart; everything else must be the same.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's zkCli.sh.
pub const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// The session: create with -e and -s, get -s, set, stat, ls -R, delete, deleteall, sync
/// and addWatch, errors on purpose, and watches that fire; it removes what it made.
pub const SESSION: &str = include_str!("../zkcli/session.txt");
/// How long one session may take (a JVM start and a few dozen calls).
const SESSION_WAIT: Duration = Duration::from_secs(120);

/// Runs `script` in zkCli.sh against `connect`; its whole output, stdout and stderr
/// together as they came (zkCli prints some answers on each). Its exit status is not
/// an error: it is that of the script's last failed command.
pub fn run(connect: &str, script: &str) -> Result<String, String> {
    if !Path::new(ZKCLI).is_file() {
        return Err(format!(
            "zkCli.sh is not installed ({ZKCLI} is missing): apt-get install zookeeper"
        ));
    }
    let output = tempfile::tempfile().map_err(|e| format!("cannot make a file: {e}"))?;
    let copy = output.try_clone().map_err(|e| e.to_string())?;
    let mut reader = output.try_clone().map_err(|e| e.to_string())?;
    let mut command = Command::new("bash");
    command
        .args([ZKCLI, "-waitforconnection", "-server", connect])
        .stdin(Stdio::piped())
        .stdout(output)
        .stderr(copy);
    // Its own process group: the script starts java as a child, and a session that
    // hangs is killed whole.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {ZKCLI}: {e}"))?;
    let group = child.id() as libc::pid_t;
    let written = (child.stdin.take())
        .expect("stdin is piped")
        .write_all(script.as_bytes());
    let deadline = Instant::now() + SESSION_WAIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => break None,
        }
    };
    // SAFETY: kill(2) on the process group we made; a group already gone is harmless.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let mut transcript = String::new();
    std::io::Seek::rewind(&mut reader)
        .and_then(|()| std::io::Read::read_to_string(&mut reader, &mut transcript))
        .map_err(|e| format!("cannot read zkCli's output: {e}"))?;
    match (status, written) {
        (Some(_), Ok(())) => Ok(transcript),
        (Some(status), Err(e)) => Err(format!(
            "zkCli.sh ended ({status}) before it read the script ({e}):\n{transcript}"
        )),
        (None, _) => Err(format!(
            "zkCli.sh did not end within {SESSION_WAIT:?}:\n{transcript}"
        )),
    }
}

/// `transcript` with what may differ between two correct runs made equal:
/// - the connect string becomes `<servers>`;
/// - zxids become `<zxid-N>`, and non-zero ephemeral owners `<session-N>`, numbered by
///   first appearance, so that which ones are equal still shows;
/// - times (ctime, mtime) become `<time>`;
/// - the items of a bracketed list are sorted (getEphemerals answers in hash order);
/// - the watch events, which zkCli prints from another thread as they come, are listed
///   apart, in their order;
/// - blank lines, `WATCHER::` and the logger's `SLF4J:` lines are left out.
pub fn normalise(transcript: &str, connect: &str) -> String {
    let mut zxids = Placeholders::new("zxid");
    let mut sessions = Placeholders::new("session");
    let mut commands = Vec::new();
    let mut events = Vec::new();
    for line in transcript.lines().map(str::trim_end) {
        if line.is_empty() || line == "WATCHER::" || line.starts_with("SLF4J:") {
            continue;
        }
        if line.starts_with("WatchedEvent ") {
            events.push(line.to_string());
            continue;
        }
        let line = line.replace(connect, "<servers>");
        let normal = match line.split_once(" = ") {
            Some((key, value)) if key.ends_with("Zxid") => format!("{key} = {}", zxids.of(value)),
            Some((key @ ("ctime" | "mtime"), _)) => format!("{key} = <time>"),
            Some((key @ "ephemeralOwner", value)) if value != "0x0" => {
                format!("{key} = {}", sessions.of(value))
            }
            _ => sorted_list(&line).unwrap_or(line),
        };
        commands.push(normal);
    }
    format!(
        "{}\n-- watch events, in order --\n{}\n",
        commands.join("\n"),
        events.join("\n")
    )
}

/// `[b, a]` as `[a, b]`; `None` if `line` is not a bracketed list.
fn sorted_list(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    let mut items: Vec<&str> = inner.split(", ").collect();
    items.sort_unstable();
    Some(format!("[{}]", items.join(", ")))
}

/// Stand-ins for ids, one per distinct id, numbered in order of first appearance.
struct Placeholders {
    kind: &'static str,
    seen: BTreeMap<String, usize>,
}

impl Placeholders {
    fn new(kind: &'static str) -> Self {
        Placeholders {
            kind,
            seen: BTreeMap::new(),
        }
    }

    fn of(&mut self, id: &str) -> String {
        let next = self.seen.len() + 1;
        let n = *self.seen.entry(id.to_string()).or_insert(next);
        format!("<{}-{n}>", self.kind)
    }
}

/// The lines where `a` and `b` differ, `-` for `a`'s and `+` for `b`'s, with their line
/// numbers; empty if they are equal.
pub fn differences(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        if x != y {
            out.push_str(&format!(
                "line {}:\n- {}\n+ {}\n",
                i + 1,
                x.unwrap_or("(none)"),
                y.unwrap_or("(none)")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs of the same calls: different servers, zxids, times and session, the
    /// watch event printed at another place, and a list in another order.
    const RUN_1: &str = "Connecting to 127.0.0.1:1,127.0.0.1:2\nSLF4J: noise\n\
        Created /a\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeCreated path:/a/b\n\
        cZxid = 0x100000003\nctime = Mon Dec 07 09:06:23 UTC 2026\nmZxid = 0x100000003\n\
        pZxid = 0x100000007\nephemeralOwner = 0x100002993d90000\n[/a/y, /a/x]\n";
    const RUN_2: &str = "Connecting to 127.0.0.1:7,127.0.0.1:8\n\
        Created /a\ncZxid = 0x200000010\nctime = Tue Dec 08 10:00:00 UTC 2026\n\
        mZxid = 0x200000010\npZxid = 0x200000011\n\nWATCHER::\n\n\
        WatchedEvent state:SyncConnected type:NodeCreated path:/a/b\n\
        ephemeralOwner = 0x5\n[/a/x, /a/y]\n";

    #[test]
    fn runs_that_differ_only_in_ids_times_and_interleaving_normalise_equal() {
        let one = normalise(RUN_1, "127.0.0.1:1,127.0.0.1:2");
        let two = normalise(RUN_2, "127.0.0.1:7,127.0.0.1:8");
        assert_eq!(one, two, "{}", differences(&one, &two));
        assert!(one.contains("cZxid = <zxid-1>\n"), "{one}");
        assert!(one.contains("mZxid = <zxid-1>\n"), "{one}");
        assert!(one.contains("pZxid = <zxid-2>\n"), "{one}");
        assert!(one.contains("ephemeralOwner = <session-1>\n"), "{one}");
        assert!(one.contains("Connecting to <servers>\n"), "{one}");
        assert!(!one.contains("SLF4J"), "{one}");
    }

    #[test]
    fn what_must_match_still_differs_after_normalising() {
        let connect = "127.0.0.1:1,127.0.0.1:2";
        let one = normalise(RUN_1, connect);
        // A node modified by another write than the one that created it...
        let other_mzxid = RUN_1.replace("mZxid = 0x100000003", "mZxid = 0x100000005");
        // ...a node that is ephemeral instead of persistent...
        let persistent =
            RUN_1.replace("ephemeralOwner = 0x100002993d90000", "ephemeralOwner = 0x0");
        // ...another answer, or another event.
        let answer = RUN_1.replace("Created /a", "Node already exists: /a");
        let event = RUN_1.replace("type:NodeCreated", "type:NodeDataChanged");
        for changed in [other_mzxid, persistent, answer, event] {
            let two = normalise(&changed, connect);
            assert_ne!(one, two, "not told apart:\n{changed}");
            assert!(!differences(&one, &two).is_empty());
        }
    }
}
