//! The short fault-injection soak, on both drivers: `ringo-benches --soak`
//! runs `hello_http` and `mini_redis` for a few seconds each under good
//! traffic mixed with resets, unread closes, half-closes, garbage, one byte
//! at a time and a stalled reader, and fails unless every good request got
//! its exact answer, the server still answers, its fd count is back and its
//! RSS grew less than the stated bound (see `benches/src/soak/mod.rs`). The
//! long soak is the same run for minutes (benches/README.md).

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::path::PathBuf;
use std::process::Command;

/// Seconds of load per server: two servers stay well under a minute per
/// driver, and thousands of connections still run.
const SECONDS: &str = "10";

/// Whether the example servers are built: `cargo test --workspace` builds
/// them beside this package's binaries; a narrower build may not.
fn examples_built() -> bool {
    let examples = PathBuf::from(env!("CARGO_BIN_EXE_ringo-benches")).with_file_name("examples");
    ["hello_http", "mini_redis"]
        .iter()
        .all(|name| examples.join(name).exists())
}

on_both_drivers! {
    fn soak_survives_faults_and_loses_nothing(kind: DriverKind) {
        if !examples_built() {
            println!("SKIPPED: soak: the service examples are not built (cargo test --workspace builds them)");
            return;
        }
        let out = util::TempDir::new("soak");
        let output = Command::new("timeout")
            .args(["120", env!("CARGO_BIN_EXE_ringo-benches"), "--soak", "--soak-seconds", SECONDS])
            .args(["--soak-driver", &kind.to_string(), "--out"])
            .arg(out.path())
            .output()
            .expect("ringo-benches runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("{stdout}{stderr}");
        assert!(output.status.success(), "the soak on {kind} failed:\n{stdout}{stderr}");
        let table = std::fs::read_to_string(out.join("soak.md")).expect("the soak wrote its table");
        for server in ["hello_http", "mini_redis"] {
            let row = table.lines().find(|l| l.starts_with(&format!("| {server} | {kind} |")));
            assert!(row.is_some_and(|r| r.ends_with("| pass |")), "{server} on {kind}:\n{table}");
        }
    }
}
