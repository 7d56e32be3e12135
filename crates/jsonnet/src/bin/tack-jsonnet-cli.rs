//! go-jsonnet's `jsonnet` command, as `tack jsonnet` runs it (used by the golden tests and the benchmark).

fn main() {
    tack_jsonnet::huge_pages::reexec_with_huge_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // stderr stays unlocked: `std.trace` writes to it from the evaluation thread.
    let code = tack_jsonnet::cli::run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    std::process::exit(code);
}
