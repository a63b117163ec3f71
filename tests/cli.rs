//! The command line itself: short and long help, and the addresses servers listen on.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn memtune(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn dash_h_is_short_and_dash_dash_help_has_everything() {
    let short = String::from_utf8(memtune(&["recommend", "-h"]).stdout).unwrap();
    let long = String::from_utf8(memtune(&["recommend", "--help"]).stdout).unwrap();
    assert!(
        short.lines().count() * 2 < long.lines().count(),
        "-h has {} lines, --help {}",
        short.lines().count(),
        long.lines().count()
    );
    assert!(!short.contains("How it works"), "{short}");
    assert!(long.contains("How it works"), "{long}");
    assert!(short.contains("(see more with '--help')"), "{short}");
}

/// The address the lab prints once it listens.
fn lab_listening(listen: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["lab", "--synthetic", "1", "--listen", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    line.trim().to_string()
}

#[test]
fn listen_takes_a_name_and_port_or_a_bare_port() {
    let named = lab_listening("localhost:0");
    assert!(
        named.starts_with("lab listening on http://127.0.0.1:"),
        "{named}"
    );
    // A bare port is on loopback; 0 picks a free one.
    let bare = lab_listening("0");
    assert!(
        bare.starts_with("lab listening on http://127.0.0.1:"),
        "{bare}"
    );

    let out = memtune(&["lab", "--listen", "localhost"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an address to listen on"), "{stderr}");
}
