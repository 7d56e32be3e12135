//! Fetches and checks out one revision, printing how long it took:
//! `cargo run -p tack-source --example fetch -- URL REVISION CACHE_DIR`.

use std::time::Instant;

use tack_source::{Repository, Revision};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: fetch URL REVISION CACHE_DIR");
        std::process::exit(2);
    }
    let start = Instant::now();
    let result = Repository::new(&args[1], &args[3]).and_then(|r| r.checkout(&Revision::parse(&args[2])));
    match result {
        Ok(c) => println!(
            "{} {} in {:.3} s",
            c.commit,
            c.root.display(),
            start.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
