//! Renders a kustomization directory like `kubectl kustomize DIR`:
//! `cargo run --release -p tack-kustomize --example render -- [render] DIR [--load-restrictor LoadRestrictionsNone]`.
//! (Accepts an optional leading `render` so it can stand in for `tack render` in benchmarks.)

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tack_kustomize::{DiskFs, LoadRestrictor, Options, build};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("render") {
        args.remove(0);
    }
    let mut opts = Options::default();
    let mut dir = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--load-restrictor" => {
                if args.get(i + 1).map(String::as_str) == Some("LoadRestrictionsNone") {
                    opts.load_restrictor = LoadRestrictor::None;
                }
                i += 1;
            }
            "--load-restrictor=LoadRestrictionsNone" => opts.load_restrictor = LoadRestrictor::None,
            other => dir = Some(PathBuf::from(other)),
        }
        i += 1;
    }
    let Some(dir) = dir else {
        eprintln!("usage: render DIR [--load-restrictor LoadRestrictionsNone]");
        return ExitCode::from(2);
    };
    let timing = std::env::var_os("RENDER_TIMING").is_some();
    opts.timings = timing;
    let t0 = std::time::Instant::now();
    match build(&DiskFs, &dir, &opts) {
        Ok(out) => {
            let t1 = std::time::Instant::now();
            for w in &out.warnings {
                eprintln!("{w}");
            }
            let text = out.to_yaml();
            if timing {
                for (phase, d, n) in &out.timings {
                    eprintln!("{phase:>45}: {d:>10.3?} ({n}×)");
                }
                eprintln!("build: {:?}, emit: {:?}", t1 - t0, t1.elapsed());
            }
            let mut stdout = std::io::stdout().lock();
            let ok = stdout.write_all(text.as_bytes()).is_ok();
            // The process ends now: freeing the whole tree would only cost time.
            std::mem::forget(out);
            std::mem::forget(text);
            if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
