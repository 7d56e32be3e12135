//! The allocator of the `tack` binary and its settings per command. mimalloc returns freed memory to the system
//! (glibc's allocator kept what a deleted application had used); it reads its options only from the environment
//! at start-up, so a command that needs other settings than the build's starts the binary again with them
//! (before any thread exists; a user's own setting of the first variable is kept).

/// mimalloc, built without transparent huge pages (crates/cli/Cargo.toml: `no_thp`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A long-lived process (`tack controller`, `tack dashboard`): freed pages go back to the system at once instead of after mimalloc's purge delay
/// (1 s, and only when it next looks): after a large sync, and after an application is deleted, the resident
/// memory falls with the live heap (docs/benchmarks.md, "One large application").
const CONTROLLER: &[(&str, &str)] = &[("MIMALLOC_PURGE_DELAY", "0")];

/// A one-shot evaluation (`tack jsonnet`): the heap in transparent huge pages, committed as a whole when
/// reserved; on the 300-service benchmark a quarter of the CPU time less (`perf stat`: 106 ms as built, 78 ms
/// with these). Only where the kernel offers huge pages.
const ONE_SHOT: &[(&str, &str)] = &[("MIMALLOC_ALLOW_THP", "1"), ("MIMALLOC_ARENA_EAGER_COMMIT", "1")];

/// Starts `tack controller` or `tack dashboard` again with [`CONTROLLER`]'s settings unless they are set.
pub fn for_long_lived() {
    tack_jsonnet::huge_pages::reexec_with(CONTROLLER);
}

/// Starts `tack jsonnet` again with [`ONE_SHOT`]'s settings unless they are set.
pub fn for_one_shot_evaluation() {
    if tack_jsonnet::huge_pages::kernel_offers_huge_pages() {
        tack_jsonnet::huge_pages::reexec_with(ONE_SHOT);
    }
}
