//! The allocator of the `tack` binary and its settings per command. mimalloc returns freed memory to the system
//! (glibc's allocator kept what a deleted application had used); it reads its options only from the environment
//! at start-up, so a command that needs other settings than the defaults starts the binary again with them
//! (before any thread exists; a user's own setting of the first variable is kept).

/// mimalloc with its defaults: arenas in transparent huge pages where the kernel offers them (`madvise` or
/// `always`), which spares a one-shot command most of the page faults of a growing heap (`tack jsonnet` on the
/// 300-service benchmark: about 600 faults instead of 7 600, a third of the CPU time less).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A long-lived process (`tack controller`, `tack dashboard`): no transparent huge pages (2 MiB pages stay
/// resident for a few live objects; this also disables them for the process where the system's mode is
/// `always`), and freed pages go back to the system at once instead of after mimalloc's purge delay (1 s, and
/// only when it next looks): after a large sync, and after an application is deleted, the resident memory falls
/// with the live heap (docs/benchmarks.md, "One large application").
const LONG_LIVED: &[(&str, &str)] = &[("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ALLOW_THP", "0")];

/// Starts `tack controller` or `tack dashboard` again with [`LONG_LIVED`]'s settings unless the first is set.
pub fn for_long_lived() {
    tack_jsonnet::huge_pages::reexec_with(LONG_LIVED);
}
