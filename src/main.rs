//! The `cairn` binary: everything lives in the library; this only runs the CLI.

/// mimalloc: the request path allocates many small, short-lived objects
/// (JSON maps, SQL values); glibc's allocator showed up at ~17% of CPU
/// under create load, mimalloc cuts most of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option for how long freed memory is kept before it is given
/// back to the system (milliseconds).
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";
/// Cairn's value for it when the environment sets none. mimalloc's own
/// (1,000 ms) only purges when the allocator runs again after the delay:
/// a server that goes quiet after a burst (an import, a seeding) kept the
/// burst's freed memory for as long as it stayed quiet, 60 MiB after
/// seeding 10,000 records where 100 ms leaves 42 MiB, with no CPU cost
/// that `bench/run` could tell from noise (docs/performance.md, "Session 22").
const OUR_PURGE_DELAY: &str = "100";

fn main() {
    // No transparent huge pages for this process. A 2 MiB page stays
    // resident as long as one small object in it lives: after seeding
    // 10,000 records 20 of 42 MiB of heap were such pages, and mimalloc's
    // purges of freed memory could not give them back (docs/performance.md,
    // "Footprint"). mimalloc is built without asking for them (`no_thp`);
    // this also covers systems whose default (`always`) would use them
    // unasked. The same as `MIMALLOC_ALLOW_THP=0`, without needing the
    // variable; it is inherited by child processes and kept across `exec`.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    #[cfg(unix)]
    with_purge_delay();
    std::process::exit(cairn::cli::run());
}

/// Runs this binary again, as the same process, with [`PURGE_DELAY`] set,
/// unless the environment already sets it. mimalloc reads its options from
/// the environment when the process starts, before `main`; setting one
/// from Rust would take an `unsafe` call into it. If `exec` fails (no
/// executable to find), the server runs with mimalloc's default.
#[cfg(unix)]
fn with_purge_delay() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(PURGE_DELAY).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(PURGE_DELAY, OUR_PURGE_DELAY)
        .exec();
    eprintln!(
        "cairn: could not restart with {PURGE_DELAY}={OUR_PURGE_DELAY} ({err}); using mimalloc's default"
    );
}
