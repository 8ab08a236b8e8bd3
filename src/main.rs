//! The `cairn` binary: everything lives in the library; this only runs the CLI.

/// mimalloc: the request path allocates many small, short-lived objects
/// (JSON maps, SQL values); glibc's allocator showed up at ~17% of CPU
/// under create load, mimalloc cuts most of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cairn::cli::run());
}
