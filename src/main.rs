//! The `cairn` binary: everything lives in the library; this only runs the CLI.

fn main() {
    std::process::exit(cairn::cli::run());
}
