//! `coord cluster up` starts real node processes that serve clients, and stops them all
//! when it is interrupted.

mod common;

use common::{expect_ok, ClusterUp, COORD};
use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};

/// Three consecutive ports free for UDP and TCP, found by trying bases that ephemeral
/// ports point at, none of them in `avoid`.
fn three_consecutive_ports(avoid: &[u16]) -> u16 {
    for _ in 0..100 {
        let base = common::free_ports(1)[0];
        let Some(top) = base.checked_add(2) else {
            continue;
        };
        let udp: Vec<_> = (base..=top)
            .filter_map(|p| UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).ok())
            .collect();
        let tcp: Vec<_> = (base..=top)
            .filter_map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).ok())
            .collect();
        if udp.len() == 3 && tcp.len() == 3 && !(base..=top).any(|p| avoid.contains(&p)) {
            return base;
        }
    }
    panic!("no three consecutive free ports");
}

/// Starts `cluster up SYSTEM` on three free ports, runs `write` then `read` (client
/// commands of that system, each with its expected output) through it, interrupts it and
/// checks that every node stopped.
fn cluster_up_serves(system: &str, write: (&[&str], &str), read: (&[&str], &str)) {
    let dir = tempfile::tempdir().unwrap();
    let base = three_consecutive_ports(&[]);
    let clients = three_consecutive_ports(&[base, base + 1, base + 2]);
    let out_path = dir.path().join("up.out");
    let mut up = ClusterUp(
        Command::new(COORD)
            .args([
                "cluster",
                "up",
                system,
                "--nodes",
                "3",
                "--base-port",
                &base.to_string(),
                "--client-port-base",
                &clients.to_string(),
            ])
            .arg("--data")
            .arg(dir.path())
            .stdout(File::create(&out_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cluster = format!(
        "127.0.0.1:{base},127.0.0.1:{},127.0.0.1:{}",
        base + 1,
        base + 2
    );
    let client = |args: &[&str]| {
        let out = Command::new(COORD)
            .args(args)
            .args(["--cluster", &cluster, "--timeout", common::CLIENT_TIMEOUT])
            .output()
            .unwrap();
        expect_ok(out)
    };
    assert_eq!(client(write.0).trim(), write.1);
    assert_eq!(client(read.0).trim(), read.1);

    up.interrupt();
    assert!(up.wait(), "cluster up did not stop cleanly");
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        out.contains(&format!("node 2: 127.0.0.1:{}", base + 2)),
        "{out}"
    );
    assert!(out.contains("stopping the cluster"), "{out}");
    let connect = format!(
        "connect: 127.0.0.1:{clients},127.0.0.1:{},127.0.0.1:{}\n",
        clients + 1,
        clients + 2
    );
    assert_eq!(out.contains(&connect), system == "zk", "{out}");
    assert_eq!(out.matches(") stopping: role=").count(), 3, "{out}");
    for port in base..base + 3 {
        assert!(
            UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "port {port} is still taken after the cluster stopped"
        );
    }
}

#[test]
fn cluster_up_kv_serves_clients_and_stops_every_node_on_interrupt() {
    cluster_up_serves(
        "kv",
        (
            &["kv", "put", "greeting", "hello"],
            "ok: greeting is at version 1",
        ),
        (&["kv", "get", "greeting"], "hello (version 1)"),
    );
}

#[test]
fn cluster_up_zk_serves_clients_and_stops_every_node_on_interrupt() {
    cluster_up_serves(
        "zk",
        (&["zk", "create", "/greeting", "hello"], "created /greeting"),
        (&["zk", "get", "/greeting", "--sync"], "hello"),
    );
}
