//! ringo's benchmark runner (issue 5). Not built yet: this binary only says so,
//! so that nobody mistakes it for a result.

fn main() {
    eprintln!("ringo-benches: the benchmark runner is not built yet (issue 5); run the echo example instead");
    std::process::exit(2);
}
