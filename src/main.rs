//! The `cairn` binary: everything lives in the library; this only runs the CLI.

/// mimalloc: the request path allocates many small, short-lived objects
/// (JSON maps, SQL values); glibc's allocator showed up at ~17% of CPU
/// under create load, mimalloc cuts most of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // No transparent huge pages for this process. A 2 MiB page stays
    // resident as long as one small object in it lives: after seeding
    // 10,000 records 20 of 42 MiB of heap were such pages, and mimalloc's
    // purges of freed memory could not give them back (docs/performance.md,
    // "Footprint"). mimalloc is built without asking for them (`no_thp`);
    // this also covers systems whose default (`always`) would use them
    // unasked. The same as `MIMALLOC_ALLOW_THP=0`, without needing the
    // variable; it is inherited by child processes.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    std::process::exit(cairn::cli::run());
}
