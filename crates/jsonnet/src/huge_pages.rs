//! Transparent huge pages for a one-shot evaluation process. The evaluator allocates many small objects (tens of
//! megabytes for a large application), and with 4 KiB pages a fifth of the process's CPU time goes to page faults
//! of the growing heap. glibc backs its heap with huge pages when `GLIBC_TUNABLES` asks for it, which it reads
//! only at start-up: [`reexec_with_huge_pages`] starts the same program again with it set (a millisecond of
//! start-up; on the 300-service benchmark a quarter of the CPU time less).

/// glibc's tunables: huge pages advised for the heap, which grows 64 MiB beyond each request (address space
/// only: what is not touched is not resident; fewer, larger growths fault in fewer pages).
const TUNABLE: &str = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";

/// Replaces this process by the same program and arguments with [`TUNABLE`] in `GLIBC_TUNABLES`, when
/// the variable is not set (a user's own setting is kept, and the new process does not re-execute again), the C
/// library is glibc on Linux and the kernel offers transparent huge pages. Returns when it did not (or the
/// program could not be executed again): the caller carries on in this process. Only for a program's `main`,
/// never inside a library call or a test.
pub fn reexec_with_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("GLIBC_TUNABLES").is_some() || !kernel_offers_huge_pages() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only when the program could not be started again.
        let _failed = command.args(args).env("GLIBC_TUNABLES", TUNABLE).exec();
    }
}

/// Whether transparent huge pages can be had by asking (`madvise` or `always`, not `never`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn kernel_offers_huge_pages() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"))
}
