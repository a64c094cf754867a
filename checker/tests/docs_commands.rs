//! The shell commands that `README.md` and the book show work as shown.
//!
//! Every line of an `sh` block is a command, or a comment line that continues the comment
//! of the command above it. [`RULES`] says which commands run here and which are skipped,
//! each skip with its reason; a command that no rule covers fails the test, so that no
//! command enters the docs untested by mistake. Every `coord` command, run or not, must
//! name subcommands that exist and flags that their `--help` lists.
//!
//! Commands run from the repository's root with the `coord` that cargo built
//! (`cargo run --release -- ARGS` is that binary with ARGS). A command's exit status must
//! be 0, or the `N` of an `(exit N)` that ends its comment. A `cluster up` line starts that
//! cluster on free ports for the client commands after it on the same page, and their
//! documented addresses are mapped to those ports, and a cluster file they name
//! (`--config FILE`) to that cluster's. A client command's comment is its
//! output, `...` standing for any text and `<word>` for any one word. A file a page's
//! command writes (after `>` or `--html`) is written to a scratch directory instead of the
//! repository, and the page's later commands read it there. No test asserts a time: every
//! wait is bounded, and every process started is stopped.

mod common;
mod docs;

use common::{consecutive_free_ports, ClusterUp, COORD, WAIT};
use coord::net::admin::request_stats;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the test does with a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Run it to its end and check its exit status.
    Run,
    /// A client of the page's cluster: its comment is its output. One whose comment holds
    /// `Ctrl-C:` must print what comes before that, is then interrupted, and must print
    /// the rest.
    Client,
    /// A client read that a lagging server may answer from older state, as the docs say a
    /// plain zk read may, or a node's counters that settle a moment after the commands
    /// before: run again, up to [`LAG_TRIES`] times, until it prints what its comment says.
    LaggingRead,
    /// A client that waits for the commands after it (a watch): it must print its
    /// comment's first line before they start, and the rest by the end of the page.
    Background,
    /// `cluster up`: the cluster the client commands after it on the page use.
    Cluster,
    /// Not run, for the reason given.
    Skip(&'static str),
}

/// Which commands run and which are skipped: the first rule whose words begin a command
/// applies to it. Every rule must cover at least one command shown.
const RULES: &[(&str, Plan)] = &[
    ("coord list", Plan::Run),
    ("coord check raft --quick", Plan::Run),
    ("coord check raft-bug-stale-read", Plan::Run),
    (
        "coord check",
        Plan::Skip(
            "checks at full size take seconds to tens of minutes; \
             models/tests/named_checks.rs runs every check at its reduced size",
        ),
    ),
    ("coord simulate raft-bug-stale-read", Plan::Run),
    (
        "coord simulate",
        Plan::Skip(
            "walks until its time limit, 30 to 60 s a check; models/tests/simulate.rs runs \
             bounded walks of every system and every deliberate bug",
        ),
    ),
    (
        "coord explore",
        Plan::Skip("serves the Explorer on the fixed port 3000 until interrupted"),
    ),
    ("coord history check", Plan::Run),
    ("coord history bench", Plan::Run),
    ("coord history generate", Plan::Run),
    (
        "coord test",
        Plan::Skip(
            "20 to 30 s of faults on a cluster each; checker/tests/fault_injection.rs runs \
             each caught configuration, and correct ones, in bounded runs",
        ),
    ),
    (
        "coord bench zk --connect",
        Plan::Skip(
            "needs servers on the ports it names; checker/tests/bench.rs runs `bench zk --both` \
             on free ports, which drives each cluster with the same code",
        ),
    ),
    (
        "coord bench",
        Plan::Skip("loads the machine for 5 s per phase; checker/tests/bench.rs runs a short one"),
    ),
    (
        "coord diff zk",
        Plan::Skip(
            "starts a coord cluster and a ZooKeeper ensemble and plays 3 s or more per seed; \
             checker/tests/zk_diff.rs runs four seeds",
        ),
    ),
    ("coord cluster up", Plan::Cluster),
    (
        "/usr/bin/python3 -c 'from kazoo.client",
        Plan::Skip("needs kazoo and a cluster on the default client ports; checker/tests/zk_protocol.rs speaks the protocol on free ports"),
    ),
    (
        "python3 -c 'import socket;",
        Plan::Skip("needs a cluster on the default client ports; checker/tests/zk_protocol.rs asks the four-letter words on free ports"),
    ),
    (
        "/usr/share/zookeeper/bin/zkCli.sh",
        Plan::Skip("an interactive shell of Debian's zookeeper package"),
    ),
    ("coord cluster add", Plan::Client),
    ("coord cluster remove", Plan::Client),
    ("coord kv", Plan::Client),
    ("coord chain", Plan::Client),
    ("coord counter", Plan::Client),
    ("coord lock", Plan::Client),
    ("coord zk watch", Plan::Background),
    ("coord zk get", Plan::LaggingRead),
    ("coord zk ls", Plan::LaggingRead),
    ("coord zk stat", Plan::LaggingRead),
    ("coord zk", Plan::Client),
    ("coord stats", Plan::LaggingRead),
    (
        "coord zookeeper up",
        Plan::Skip(
            "serves a ZooKeeper ensemble until interrupted; checker/tests/zkcli.rs starts one",
        ),
    ),
    (
        "coord suite kazoo",
        Plan::Skip(
            "kazoo's modules take a minute or more; checker/tests/kazoo.rs runs the recipe \
             modules against a real ZooKeeper and against coord",
        ),
    ),
    (
        "coord suite zkcli",
        Plan::Skip(
            "starts a ZooKeeper or coord cluster for a zkCli.sh session; \
             checker/tests/zkcli.rs runs it against both",
        ),
    ),
    (
        "cargo test --release",
        Plan::Skip("the test suite itself, this test among it"),
    ),
    (
        "apt-get install",
        Plan::Skip("installs Debian packages as root; .ci/run installs them"),
    ),
    (
        "export",
        Plan::Skip("puts the built coord on the shell's path; this test runs it directly"),
    ),
    (
        "mdbook",
        Plan::Skip("builds or serves the book; .ci/run builds it"),
    ),
];

/// How often a lagging read is tried, and how long apart.
const LAG_TRIES: usize = 10;
const LAG_PAUSE: Duration = Duration::from_millis(300);
/// How long a client keeps trying (its `--timeout`, unless the docs give one).
const CLIENT_TIMEOUT: &str = "30";

/// A command as a page shows it.
#[derive(Clone, Debug)]
struct Shown {
    /// `page:line`.
    at: String,
    /// The command, with `cargo run --release --` written as `coord`.
    command: String,
    /// Its comment, one line per comment line.
    comment: String,
}

impl Shown {
    fn words(&self) -> Vec<&str> {
        self.command.split_whitespace().collect()
    }

    fn plan(&self) -> Option<Plan> {
        let words = self.words();
        RULES
            .iter()
            .find(|(prefix, _)| {
                let prefix: Vec<&str> = prefix.split_whitespace().collect();
                words.starts_with(&prefix)
            })
            .map(|&(_, plan)| plan)
    }

    /// The exit status the comment states (`(exit N)` at its end), 0 if none.
    fn exit_status(&self) -> i32 {
        (exit_suffix().captures(&self.comment)).map_or(0, |c| c[1].parse().unwrap())
    }

    /// The output the comment states, without its `(exit N)`.
    fn output(&self) -> String {
        normalize(&exit_suffix().replace(&self.comment, ""))
    }
}

/// `(exit N)` at the end of a comment.
fn exit_suffix() -> Regex {
    Regex::new(r"\(exit (\d+)\)\s*$").unwrap()
}

/// Other names of shell blocks, which the docs must not use: this test reads `sh` alone.
const SHELL_LANGS: [&str; 5] = ["bash", "shell", "console", "zsh", "shell-session"];

/// Every command of every `sh` block of `page`.
fn commands(page: &Path) -> Vec<Shown> {
    let mut shown: Vec<Shown> = Vec::new();
    for block in docs::code_blocks(&docs::read(page)) {
        if block.lang != "sh" {
            continue;
        }
        for (i, line) in block.text.lines().enumerate() {
            let at = format!("{}:{}", page.display(), block.line + i);
            let (command, comment) = split_comment(line);
            if command.is_empty() && comment.is_empty() {
                continue;
            }
            if command.is_empty() {
                let above = shown
                    .last_mut()
                    .unwrap_or_else(|| panic!("{at}: a comment line with no command above it"));
                above.comment.push('\n');
                above.comment.push_str(comment);
                continue;
            }
            let command = match command.strip_prefix("cargo run --release -- ") {
                Some(args) => format!("coord {args}"),
                None => command.to_string(),
            };
            shown.push(Shown {
                at,
                command,
                comment: comment.to_string(),
            });
        }
    }
    shown
}

/// A line split into its command and its comment (after the first `#` that starts a
/// word), both trimmed.
fn split_comment(line: &str) -> (&str, &str) {
    let hash = (line.char_indices())
        .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)))
        .map(|(i, _)| i);
    match hash {
        Some(i) => (line[..i].trim(), line[i + 1..].trim()),
        None => (line.trim(), ""),
    }
}

/// Every page with its commands.
fn all_commands() -> Vec<(std::path::PathBuf, Vec<Shown>)> {
    (docs::pages().into_iter())
        .map(|page| {
            let shown = commands(&page);
            (page, shown)
        })
        .collect()
}

/// Whitespace runs as single spaces, trimmed: output and comments compared line-blind.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stated output as a regular expression: `...` for any text, `<word>` for one word.
fn pattern(stated: &str) -> String {
    let stated = stated.replace(" ...", "...").replace("... ", "...");
    let wild = Regex::new(r"\.\.\.|<[A-Za-z_-]+>").unwrap();
    let mut source = String::from("(?s)");
    let mut last = 0;
    for m in wild.find_iter(&stated) {
        source.push_str(&regex::escape(&stated[last..m.start()]));
        source.push_str(if m.as_str() == "..." { ".*" } else { r"\S+" });
        last = m.end();
    }
    source.push_str(&regex::escape(&stated[last..]));
    source
}

/// Whether `output` is, in full, what `stated` says.
fn matches(stated: &str, output: &str) -> bool {
    let whole = Regex::new(&format!("^{}$", pattern(stated))).unwrap();
    whole.is_match(&normalize(output))
}

/// Whether `output` begins with what `stated` says.
fn begins_with(stated: &str, output: &str) -> bool {
    let start = Regex::new(&format!("^{}", pattern(stated))).unwrap();
    start.is_match(&normalize(output))
}

#[test]
fn every_code_block_names_its_language() {
    for page in docs::pages() {
        for block in docs::code_blocks(&docs::read(&page)) {
            let at = format!("{}:{}", page.display(), block.line);
            assert!(
                !block.lang.is_empty(),
                "{at}: a code block without a language (sh, text, json, rust,ignore): \
                 commands in it would go untested, and mdbook test would compile it as Rust"
            );
            assert!(
                !SHELL_LANGS.contains(&block.lang.as_str()),
                "{at}: mark shell commands `sh`, which this test reads"
            );
        }
    }
}

#[test]
fn every_command_shown_is_run_or_skipped_with_a_reason() {
    let shown: Vec<Shown> = all_commands().into_iter().flat_map(|(_, s)| s).collect();
    let mut uncovered = Vec::new();
    let mut by_plan: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for s in &shown {
        match s.plan() {
            None => uncovered.push(format!("{}: {}", s.at, s.command)),
            Some(plan) => by_plan
                .entry(format!("{plan:?}"))
                .or_default()
                .push(&s.command),
        }
    }
    for (plan, commands) in &by_plan {
        println!("{plan}:");
        for command in commands {
            println!("    {command}");
        }
    }
    assert!(
        uncovered.is_empty(),
        "commands the docs show that no rule runs or skips (add a rule to RULES):\n{}",
        uncovered.join("\n")
    );
    for (prefix, _) in RULES {
        let words: Vec<&str> = prefix.split_whitespace().collect();
        assert!(
            shown.iter().any(|s| s.words().starts_with(&words)),
            "the rule {prefix:?} covers no command of the docs: remove it"
        );
    }
}

/// What `coord ... --help` lists: subcommands, and flags.
#[derive(Default)]
struct Help {
    subcommands: BTreeSet<String>,
    flags: BTreeSet<String>,
}

impl Help {
    fn of(path: &[String]) -> Help {
        let out = Command::new(COORD)
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "coord {} --help failed",
            path.join(" ")
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut help = Help::default();
        let mut in_commands = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if line == "Commands:" {
                in_commands = true;
            } else if in_commands && !trimmed.is_empty() && line.starts_with("  ") {
                let name = trimmed.split_whitespace().next().unwrap();
                help.subcommands.insert(name.to_string());
            } else {
                in_commands = false;
            }
            if trimmed.starts_with('-') {
                let names = trimmed.split_whitespace().map(|w| w.trim_end_matches(','));
                let flags = names.take_while(|w| w.starts_with('-') && w.len() > 1);
                help.flags.extend(flags.map(str::to_string));
            }
        }
        help
    }
}

/// Helps already asked for, by subcommand path.
type Helps = BTreeMap<Vec<String>, Help>;

/// The subcommands that `words` (a `coord` command) names, and the words after them; an
/// error if a word where a subcommand must be names none.
fn subcommand<'w>(
    words: &'w [&'w str],
    helps: &mut Helps,
) -> Result<(Vec<String>, &'w [&'w str]), String> {
    let mut path: Vec<String> = Vec::new();
    let mut rest = &words[1..];
    loop {
        let help = helps
            .entry(path.clone())
            .or_insert_with_key(|p| Help::of(p));
        match rest.first() {
            Some(&word) if help.subcommands.contains(word) => {
                path.push(word.to_string());
                rest = &rest[1..];
            }
            Some(&word) if !help.subcommands.is_empty() && !word.starts_with('-') => {
                return Err(format!(
                    "no subcommand {word:?} of `coord {}`",
                    path.join(" ")
                ));
            }
            _ => return Ok((path, rest)),
        }
    }
}

/// The problems with `words` (a `coord` command) that the help shows: a subcommand that
/// does not exist, or a flag that its subcommand does not take.
fn flag_problems(words: &[&str], helps: &mut Helps) -> Vec<String> {
    let (path, rest) = match subcommand(words, helps) {
        Ok(found) => found,
        Err(problem) => return vec![problem],
    };
    let help = &helps[&path];
    let mut problems = Vec::new();
    for word in rest {
        let flag = word.split('=').next().unwrap();
        let is_flag = flag.starts_with("--")
            || (flag.starts_with('-') && flag[1..].starts_with(|c: char| c.is_ascii_alphabetic()));
        if is_flag && !help.flags.contains(flag) {
            problems.push(format!("`coord {}` takes no {flag}", path.join(" ")));
        }
    }
    problems
}

#[test]
fn every_coord_command_shown_has_subcommands_and_flags_that_exist() {
    let all = all_commands();
    let mut helps = BTreeMap::new();
    let mut problems = Vec::new();
    for s in all.iter().flat_map(|(_, s)| s) {
        let words = s.words();
        if words[0] == "coord" {
            for p in flag_problems(&words, &mut helps) {
                problems.push(format!("{}: {}: {p}", s.at, s.command));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A command running, its stdout and stderr gathered as they come; killed when dropped.
struct Running {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    fn spawn(args: &[String]) -> Running {
        Running::spawn_to(args, None)
    }

    /// Starts `coord ARGS`, its standard output written to `stdout` if given.
    fn spawn_to(args: &[String], stdout: Option<&Path>) -> Running {
        let mut command = Command::new(COORD);
        command
            .args(args)
            .current_dir(docs::root())
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        match stdout {
            Some(file) => command.stdout(std::fs::File::create(file).unwrap()),
            None => command.stdout(Stdio::piped()),
        };
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let pipes: Vec<Box<dyn Read + Send>> = (child.stdout.take())
            .map(|out| Box::new(out) as Box<dyn Read + Send>)
            .into_iter()
            .chain([Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>])
            .collect();
        let readers = (pipes.into_iter())
            .map(|mut pipe| {
                let output = Arc::clone(&output);
                std::thread::spawn(move || {
                    let mut chunk = [0; 4096];
                    while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                        output.lock().unwrap().extend_from_slice(&chunk[..n]);
                    }
                })
            })
            .collect();
        Running {
            child,
            output,
            readers,
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).to_string()
    }

    /// Waits until the output begins with what `stated` says; false after `WAIT` or once
    /// the command has ended without it.
    fn wait_for(&mut self, stated: &str) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if begins_with(stated, &self.output()) {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                return begins_with(stated, &self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends SIGINT, as Ctrl-C does.
    fn interrupt(&self) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
    }

    /// Waits for the command to end, up to `WAIT`: its exit status (-1 if a signal ended
    /// it) and all its output; `None` if it did not end in time (it is then killed).
    fn finish(mut self) -> Option<(i32, String)> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                for reader in self.readers.drain(..) {
                    reader.join().unwrap();
                }
                return Some((status.code().unwrap_or(-1), self.output()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster a page starts: where the docs put it, and where it runs here.
struct PageCluster {
    up: ClusterUp,
    dir: tempfile::TempDir,
    /// The port the docs give member 0, and how many members there are.
    doc_base: u16,
    base: u16,
    members: u16,
}

impl PageCluster {
    /// Starts what `cluster up SYSTEM [--nodes N] [--base-port P]` (the words from SYSTEM
    /// on) describes, on free ports, and waits until every member answers (and, for a Raft
    /// system, one leads).
    fn start(args: &[&str]) -> Result<PageCluster, String> {
        let system = args[0];
        let value = |flag: &str, default: u16| -> u16 {
            (args.iter().position(|&a| a == flag)).map_or(default, |i| args[i + 1].parse().unwrap())
        };
        let nodes = value("--nodes", 3);
        let doc_base = value("--base-port", 7100);
        let members = nodes + u16::from(system == "chain");
        let base = consecutive_free_ports(members);
        let dir = tempfile::tempdir().unwrap();
        let up = ClusterUp(
            Command::new(COORD)
                .args(["cluster", "up", system, "--nodes", &nodes.to_string()])
                .args(["--base-port", &base.to_string(), "--data"])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let cluster = PageCluster {
            up,
            dir,
            doc_base,
            base,
            members,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let statuses: Vec<Option<String>> = (0..members)
                .map(|i| {
                    let addr = ([127, 0, 0, 1], base + i).into();
                    let reply = request_stats(addr, Duration::from_secs(1));
                    reply.ok().map(|r| r.status)
                })
                .collect();
            let answering = statuses.iter().all(Option::is_some);
            let led =
                system == "chain" || (statuses.iter().flatten()).any(|s| s.contains("role=leader"));
            if answering && led {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the {system} cluster was not up within {WAIT:?}: {statuses:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster file here, for `--config`.
    fn config(&self) -> String {
        self.dir.path().join("cluster.json").display().to_string()
    }

    /// The members' addresses here, for `--cluster`.
    fn addresses(&self) -> String {
        (0..self.members)
            .map(|i| format!("127.0.0.1:{}", self.base + i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `text` with every documented member address replaced by the one here.
    fn map(&self, text: &str) -> String {
        let addr = Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
        addr.replace_all(text, |c: &regex::Captures| {
            let port: u16 = c[1].parse().unwrap();
            match port.checked_sub(self.doc_base) {
                Some(i) if i < self.members => format!("127.0.0.1:{}", self.base + i),
                _ => c[0].to_string(),
            }
        })
        .to_string()
    }
}

/// The commands of one page being run, with the page's cluster and its background
/// commands.
struct PageRun {
    /// The `cluster up` arguments (from SYSTEM on) last shown; started at first need.
    wanted: Option<Vec<String>>,
    cluster: Option<PageCluster>,
    background: Vec<(Shown, Running)>,
    helps: Helps,
    failures: Vec<String>,
    /// Where the page's commands write the files they name.
    scratch: tempfile::TempDir,
}

impl PageRun {
    fn new() -> PageRun {
        PageRun {
            wanted: None,
            cluster: None,
            background: Vec::new(),
            helps: BTreeMap::new(),
            failures: Vec::new(),
            scratch: tempfile::tempdir().unwrap(),
        }
    }

    /// `s`'s arguments with the files it writes (after `>` or `--html`), and those an
    /// earlier command of the page wrote, in the scratch directory; and the file its
    /// standard output goes to.
    fn scratch_args(&self, s: &Shown) -> (Vec<String>, Option<std::path::PathBuf>) {
        let words = s.words();
        let mut args = Vec::new();
        let mut stdout = None;
        for (i, word) in words.iter().enumerate().skip(1) {
            let written = i > 1 && ["--html", ">"].contains(&words[i - 1]);
            let file = self.scratch.path().join(word);
            let scratch = (written || file.exists()) && !word.contains('/');
            if *word == ">" {
                continue;
            }
            if i > 1 && words[i - 1] == ">" {
                stdout = Some(file);
            } else if scratch {
                args.push(file.display().to_string());
            } else {
                args.push(word.to_string());
            }
        }
        (args, stdout)
    }

    fn fail(&mut self, s: &Shown, why: impl std::fmt::Display) {
        self.failures
            .push(format!("{}: {}: {why}", s.at, s.command));
    }

    fn run(&mut self, s: &Shown) {
        // A command without a plan fails every_command_shown_is_run_or_skipped_with_a_reason.
        match s.plan() {
            None | Some(Plan::Skip(_)) => {}
            Some(Plan::Cluster) => {
                self.stop_cluster();
                self.wanted = Some(s.words()[3..].iter().map(|w| w.to_string()).collect());
            }
            Some(Plan::Run) => {
                let (args, stdout) = self.scratch_args(s);
                self.check(
                    s,
                    Running::spawn_to(&args, stdout.as_deref()).finish(),
                    false,
                );
            }
            Some(Plan::Client) => self.client(s),
            Some(Plan::LaggingRead) => {
                for _ in 1..LAG_TRIES {
                    let Some(args) = self.client_args(s) else {
                        return;
                    };
                    let done = Running::spawn(&args).finish();
                    if done.is_some_and(|done| self.as_stated(s, done, true).is_ok()) {
                        return;
                    }
                    std::thread::sleep(LAG_PAUSE);
                }
                self.client(s);
            }
            Some(Plan::Background) => {
                let Some(args) = self.client_args(s) else {
                    return;
                };
                let mut running = Running::spawn(&args);
                let first = s.comment.lines().next().unwrap_or("").to_string();
                if running.wait_for(&self.mapped(&first)) {
                    self.background.push((s.clone(), running));
                } else {
                    let output = running.output();
                    self.fail(
                        s,
                        format!("did not print {first:?} first; printed {output:?}"),
                    );
                }
            }
        }
    }

    /// Runs client `s` once, interrupting it if its comment says `Ctrl-C:`.
    fn client(&mut self, s: &Shown) {
        let Some(args) = self.client_args(s) else {
            return;
        };
        let mut running = Running::spawn(&args);
        if let Some((before, _)) = s.comment.split_once("Ctrl-C:") {
            let before = self.mapped(before.trim().trim_end_matches(';'));
            if !running.wait_for(&before) {
                let output = running.output();
                self.fail(s, format!("did not print {before:?}; printed {output:?}"));
                return;
            }
            running.interrupt();
        }
        self.check(s, running.finish(), true);
    }

    /// Notes a failure unless the command ended, as `s` states (see [`Self::as_stated`]).
    fn check(&mut self, s: &Shown, done: Option<(i32, String)>, output: bool) {
        let result = match done {
            Some(done) => self.as_stated(s, done, output),
            None => Err(format!("did not end within {WAIT:?}")),
        };
        if let Err(why) = result {
            self.fail(s, why);
        }
    }

    /// Whether a finished command (its exit status and output) exited as `s` states, and
    /// with `output`, printed what its comment states (the docs' addresses mapped to the
    /// page's cluster, `Ctrl-C:` left out).
    fn as_stated(
        &self,
        s: &Shown,
        (code, printed): (i32, String),
        output: bool,
    ) -> Result<(), String> {
        if code != s.exit_status() {
            return Err(format!(
                "exit status {code}, not {}: {printed}",
                s.exit_status()
            ));
        }
        let interrupted = s.output().replace("; Ctrl-C:", " ").replace("Ctrl-C:", " ");
        let stated = normalize(&self.mapped(&interrupted));
        if output && !stated.is_empty() && !matches(&stated, &printed) {
            return Err(format!("printed {:?}, not {stated:?}", normalize(&printed)));
        }
        Ok(())
    }

    /// `text` with the docs' addresses mapped to the page's cluster.
    fn mapped(&self, text: &str) -> String {
        match &self.cluster {
            Some(cluster) => cluster.map(text),
            None => text.to_string(),
        }
    }

    /// The arguments that run client `s` against the page's cluster (started now if it is
    /// not running yet): its addresses mapped, and `--cluster` and `--timeout` added where
    /// the command takes them and does not give them. `None` (a failure noted) if the page
    /// started no cluster before it.
    fn client_args(&mut self, s: &Shown) -> Option<Vec<String>> {
        if self.cluster.is_none() {
            let Some(wanted) = self.wanted.take() else {
                self.fail(s, "no `cluster up` before it on this page");
                return None;
            };
            let words: Vec<&str> = wanted.iter().map(String::as_str).collect();
            match PageCluster::start(&words) {
                Ok(cluster) => self.cluster = Some(cluster),
                Err(e) => {
                    self.fail(s, e);
                    return None;
                }
            }
        }
        let (path, _) = subcommand(&s.words(), &mut self.helps).expect("flags are checked");
        let help = &self.helps[&path];
        let cluster = self.cluster.as_ref().unwrap();
        let words = s.words();
        let mut args: Vec<String> = (1..words.len())
            .map(|i| match words[i - 1] {
                "--config" => cluster.config(),
                _ => cluster.map(words[i]),
            })
            .collect();
        let gives = |flag: &str| s.words().contains(&flag);
        let names_cluster = gives("--cluster") || gives("--config");
        if help.flags.contains("--cluster") && !names_cluster {
            args.extend(["--cluster".to_string(), cluster.addresses()]);
        }
        if help.flags.contains("--timeout") && !gives("--timeout") {
            args.extend(["--timeout".to_string(), CLIENT_TIMEOUT.to_string()]);
        }
        Some(args)
    }

    /// Waits for the background commands, checks them, and stops the cluster.
    fn stop_cluster(&mut self) {
        for (s, running) in std::mem::take(&mut self.background) {
            self.check(&s, running.finish(), true);
        }
        if let Some(mut cluster) = self.cluster.take() {
            cluster.up.interrupt();
            cluster.up.wait();
        }
        self.wanted = None;
    }
}

#[test]
fn the_commands_shown_work_as_shown() {
    let mut failures = Vec::new();
    for (page, shown) in all_commands() {
        let started = Instant::now();
        let mut run = PageRun::new();
        for s in &shown {
            run.run(s);
        }
        run.stop_cluster();
        println!(
            "{}: {:.1} s",
            page.display(),
            started.elapsed().as_secs_f64()
        );
        failures.extend(run.failures);
    }
    assert!(
        failures.is_empty(),
        "commands that do not work as the docs show:\n{}",
        failures.join("\n")
    );
}
