//! curl as the independent HTTP client: a server that answers curl answers
//! the clients people really use, not only ringo's own.

/// Runs curl with `args` (after `-sS --max-time 10`) and returns its stdout;
/// fails the test if curl is missing (ci/install-deps.sh installs it) or fails.
pub fn curl(args: &[&str]) -> String {
    let output = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl (installed by ci/install-deps.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
