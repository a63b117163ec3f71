//! `memtune lab` as a process: the ready line, and bad fleet files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_its_address_once_ready_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["lab", "--listen", "127.0.0.1:0", "--synthetic", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("lab listening on ")
        .unwrap()
        .to_string();
    let addr = endpoint.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /_lab/stats HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("synthetic-0002"), "{response}");
    child.kill().unwrap();
    child.wait().unwrap();
}

fn lab_with_fleet(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["lab", "--listen", "127.0.0.1:0", "--fleet"])
        .arg(&path)
        .output()
        .unwrap()
}

#[test]
fn bad_fleet_files_name_file_and_line_and_exit_2() {
    for (text, line, words) in [
        (
            "[[function]]\nname = \"a\"\n[function.workload]\ncpu_msx = 1.0\n",
            4,
            "unknown field `cpu_msx`",
        ),
        (
            "[[function]]\nname = \"a\"\nmemory_mb = 20000\n",
            3,
            "memory_mb must be between 128 and 10240",
        ),
        ("[[function]]\nname = \"a\"\n[function.workload\n", 3, ""),
    ] {
        let out = lab_with_fleet(text);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("fleet.toml:{line}: ")), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
    }
}
