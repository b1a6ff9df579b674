//! `loadgen` binary (skeleton until the engine lands).
fn main() {
    eprintln!("loadgen: not built yet");
    std::process::exit(2);
}
