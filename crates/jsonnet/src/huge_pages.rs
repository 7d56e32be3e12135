//! Transparent huge pages for a one-shot evaluation process. The evaluator allocates many small objects (tens of
//! megabytes for a large application), and with 4 KiB pages a fifth of the process's CPU time goes to page faults
//! of the growing heap. Allocators read their settings from the environment only at start-up:
//! [`reexec_with_huge_pages`] (glibc's heap) and [`reexec_with`] (any allocator's variables) start the same
//! program again with them set (a millisecond of start-up; on the 300-service benchmark a fifth to a quarter of
//! the CPU time less).

/// glibc's tunables: huge pages advised for the heap, which grows 64 MiB beyond each request (address space
/// only: what is not touched is not resident; fewer, larger growths fault in fewer pages).
const TUNABLE: &str = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";

/// [`reexec_with`] `GLIBC_TUNABLES=`[`TUNABLE`], when the C library is glibc (the allocator of a program that
/// does not choose another one).
pub fn reexec_with_huge_pages() {
    if cfg!(target_env = "gnu") && kernel_offers_huge_pages() {
        reexec_with(&[("GLIBC_TUNABLES", TUNABLE)]);
    }
}

/// Replaces this process by the same program and arguments with `vars` set in its environment, when the first
/// of them is not set already (a user's own setting is kept, and the new process does not re-execute again) and
/// the system is Linux. Returns when it did not (or the program could not be executed again): the caller carries
/// on in this process. Only for a program's `main`, never inside a library call or a test.
pub fn reexec_with(vars: &[(&str, &str)]) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let Some((marker, _)) = vars.first() else {
            return;
        };
        if std::env::var_os(marker).is_some() {
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
        command.args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        // `exec` returns only when the program could not be started again.
        let _failed = command.exec();
    }
    #[cfg(not(target_os = "linux"))]
    let _ = vars;
}

/// Whether transparent huge pages can be had by asking (`madvise` or `always`, not `never`; never on a system
/// other than Linux).
fn kernel_offers_huge_pages() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"))
}
