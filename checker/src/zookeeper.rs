//! A real ZooKeeper 3.8 ensemble, from Debian's `zookeeper` package, started on
//! 127.0.0.1 as the oracle that coord's ZooKeeper is compared with: one
//! `QuorumPeerMain` JVM per member, each with its own `zoo.cfg` and data directory in a
//! temporary directory, on free ports. Every member is stopped by its pid when the
//! ensemble is dropped (on success, error or panic alike); every wait is bounded.
//!
//! The configuration is ZooKeeper's default where it matters to clients (tick of 2 s, so
//! session timeouts of 4 to 40 s; no reconfig, no read-only mode, no superuser), so that
//! the ensemble is what an unconfigured ZooKeeper is, which is what coord emulates.

use crate::members::{four_letter_word, Members};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `libzookeeper-java` puts the server's jar; its manifest's class path
/// names every jar it needs (as Debian's own `zkEnv.sh` relies on).
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// slf4j's simple logger (Debian's `libslf4j-java`, which ZooKeeper depends on): with it
/// on the class path each member's log goes to its log file instead of nowhere.
const SLF4J_SIMPLE_JAR: &str = "/usr/share/java/slf4j-simple.jar";
/// ZooKeeper's default tick: sessions may last 2 to 20 ticks.
pub const TICK: Duration = Duration::from_secs(2);
/// How long a member may take to serve after its JVM starts, on a loaded machine.
const START_WAIT: Duration = Duration::from_secs(120);
/// How long a member may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The Java runtime and class path that run ZooKeeper's server and its `zkCli`.
#[derive(Clone, Debug)]
pub struct Install {
    pub java: PathBuf,
    pub classpath: String,
}

impl Install {
    /// Debian's ZooKeeper 3.8 and the `java` on the PATH (or `$JAVA_HOME/bin/java`), or
    /// an error that says what to install.
    pub fn find() -> Result<Install, String> {
        if !Path::new(ZOOKEEPER_JAR).is_file() {
            return Err(format!(
                "ZooKeeper is not installed ({ZOOKEEPER_JAR} is missing): \
                 apt-get install zookeeper"
            ));
        }
        let java = find_java().ok_or(
            "no Java runtime (`java` is not on the PATH nor in $JAVA_HOME/bin): \
             apt-get install default-jre-headless",
        )?;
        let mut classpath = ZOOKEEPER_JAR.to_string();
        if Path::new(SLF4J_SIMPLE_JAR).is_file() {
            classpath = format!("{classpath}:{SLF4J_SIMPLE_JAR}");
        }
        Ok(Install { java, classpath })
    }

    /// `java OPTIONS -cp CLASSPATH MAIN`, for the caller to add MAIN's arguments to.
    pub fn command(&self, jvm_options: &[&str], main: &str) -> Command {
        let mut command = Command::new(&self.java);
        command
            .args(jvm_options)
            .arg("-cp")
            .arg(&self.classpath)
            .arg(main);
        command
    }
}

fn find_java() -> Option<PathBuf> {
    let home = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    (home.into_iter())
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join("java"))
        .find(|java| java.is_file())
}

/// One member: its id (`myid`, from 1), ports, files, and its JVM while it runs.
struct Member {
    id: usize,
    client: SocketAddrV4,
    quorum: u16,
    election: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl Member {
    fn config(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("zookeeper.log")
    }
}

/// A running ZooKeeper ensemble; dropping it stops every member and removes its files.
pub struct ZooKeeperEnsemble {
    install: Install,
    members: Vec<Member>,
    /// Owns the directory of every member's config, data and log.
    dir: tempfile::TempDir,
}

impl ZooKeeperEnsemble {
    /// Starts `size` members and waits until each serves clients.
    pub fn start(size: usize) -> Result<ZooKeeperEnsemble, String> {
        assert!(size > 0, "an ensemble has at least one member");
        let install = Install::find()?;
        let dir = (tempfile::Builder::new()
            .prefix("coord-zookeeper-")
            .tempdir())
        .map_err(|e| format!("cannot make a directory for ZooKeeper: {e}"))?;
        let ports = free_tcp_ports(3 * size)?;
        let members: Vec<Member> = (0..size)
            .map(|i| Member {
                id: i + 1,
                client: SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports[3 * i]),
                quorum: ports[3 * i + 1],
                election: ports[3 * i + 2],
                dir: dir.path().join(format!("member-{}", i + 1)),
                process: None,
            })
            .collect();
        let mut ensemble = ZooKeeperEnsemble {
            install,
            members,
            dir,
        };
        for i in 0..size {
            ensemble.write_files(i)?;
        }
        for i in 0..size {
            ensemble.start_member(i)?;
        }
        for i in 0..size {
            ensemble.wait_started(i)?;
        }
        Ok(ensemble)
    }

    /// Member `i`'s `zoo.cfg` and its data directory holding `myid`.
    fn write_files(&self, i: usize) -> Result<(), String> {
        let member = &self.members[i];
        let data = member.dir.join("data");
        fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        write(&data.join("myid"), &format!("{}\n", member.id))?;
        let mut config = format!(
            "tickTime={}\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
             clientPort={}\nclientPortAddress=127.0.0.1\n\
             # Every test client connects from 127.0.0.1: no limit per address.\n\
             maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n",
            TICK.as_millis(),
            data.display(),
            member.client.port(),
        );
        if self.members.len() > 1 {
            for m in &self.members {
                let _ = writeln!(
                    config,
                    "server.{}=127.0.0.1:{}:{}",
                    m.id, m.quorum, m.election
                );
            }
        }
        write(&member.config(), &config)
    }

    fn start_member(&mut self, i: usize) -> Result<(), String> {
        let member = &self.members[i];
        assert!(member.process.is_none(), "member {i} is running");
        let log = (fs::OpenOptions::new().create(true).append(true))
            .open(member.log())
            .map_err(|e| format!("{}: {e}", member.log().display()))?;
        let copy = log.try_clone().map_err(|e| e.to_string())?;
        let jvm = ["-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"];
        let mut command =
            (self.install).command(&jvm, "org.apache.zookeeper.server.quorum.QuorumPeerMain");
        command
            .arg(member.config())
            .current_dir(&member.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(copy);
        let child = (command.spawn())
            .map_err(|e| format!("cannot start {}: {e}", self.install.java.display()))?;
        self.members[i].process = Some(child);
        Ok(())
    }

    /// Waits until member `i`, just started, serves clients; an error with the end of its
    /// log if it exits or does not serve in time.
    fn wait_started(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if self.serving(i) {
                return Ok(());
            }
            let exited = match &mut self.members[i].process {
                Some(child) => child.try_wait().map_err(|e| e.to_string())?,
                None => return Err(format!("ZooKeeper member {i} is not running")),
            };
            if let Some(status) = exited {
                self.members[i].process = None;
                return Err(format!(
                    "ZooKeeper member {i} exited ({status}); its log ends:\n{}",
                    self.log_tail(i)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "ZooKeeper member {i} did not serve within {START_WAIT:?}; its log ends:\n{}",
                    self.log_tail(i)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of member `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        let text = fs::read_to_string(self.members[i].log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Member `i`'s pid, if it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].process.as_ref().map(Child::id)
    }

    /// The directory holding every member's `zoo.cfg`, data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The Java runtime and class path the members run on (zkCli runs on them too).
    pub fn install(&self) -> &Install {
        &self.install
    }

    /// The version member `i` reports (`srvr`'s first line), such as `3.8.0`.
    pub fn version(&self, i: usize) -> Result<String, String> {
        let answer = four_letter_word(self.client_addr(i), "srvr").map_err(|e| e.to_string())?;
        (answer.lines())
            .find_map(|line| line.strip_prefix("Zookeeper version: "))
            .map(|v| v.split([',', '-']).next().unwrap_or(v).trim().to_string())
            .ok_or_else(|| format!("srvr did not say the version: {answer:?}"))
    }

    /// `kill -9` member `i`, as a crash; false if it was not running.
    pub fn kill(&mut self, i: usize) -> bool {
        let Some(mut child) = self.members[i].process.take() else {
            return false;
        };
        let _ = child.kill();
        let _ = child.wait();
        true
    }

    /// Member `i`'s process, paused (SIGSTOP) or let go on (SIGCONT).
    pub fn signal(&self, i: usize, signal: libc::c_int) {
        if let Some(child) = &self.members[i].process {
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    /// SIGTERM (ZooKeeper shuts down cleanly), then SIGKILL after a grace time.
    fn terminate(&mut self, i: usize) {
        self.signal(i, libc::SIGTERM);
        self.signal(i, libc::SIGCONT);
        let Some(mut child) = self.members[i].process.take() else {
            return;
        };
        let deadline = Instant::now() + STOP_GRACE;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Members for ZooKeeperEnsemble {
    fn count(&self) -> usize {
        self.members.len()
    }

    fn client_addr(&self, i: usize) -> SocketAddr {
        self.members[i].client.into()
    }

    fn stop(&mut self, i: usize) -> Result<(), String> {
        self.terminate(i);
        Ok(())
    }

    fn start(&mut self, i: usize) -> Result<(), String> {
        match self.members[i].process {
            Some(_) => Ok(()),
            None => self.start_member(i),
        }
    }
}

impl Drop for ZooKeeperEnsemble {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.signal(i, libc::SIGTERM);
            self.signal(i, libc::SIGCONT);
        }
        for i in 0..self.members.len() {
            self.terminate(i);
        }
    }
}

/// `n` distinct TCP ports on 127.0.0.1 that were free a moment ago (all held at once, so
/// no two are the same).
pub fn free_tcp_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    (listeners.iter())
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    (File::create(path).and_then(|mut f| f.write_all(text.as_bytes())))
        .map_err(|e| format!("{}: {e}", path.display()))
}
