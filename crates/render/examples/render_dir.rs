//! Renders a directory with the plain renderer and prints how many objects and how long it took:
//! `cargo run --release -p tack-render --example render_dir -- DIR`.

use std::path::Path;
use std::time::Instant;

use tack_render::{PlainRenderer, RenderOptions, Renderer};

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: render_dir DIR");
        std::process::exit(2);
    };
    let start = Instant::now();
    match PlainRenderer.render(Path::new(&dir), &RenderOptions::default()) {
        Ok(manifests) => {
            println!(
                "{} objects in {:.3} s",
                manifests.len(),
                start.elapsed().as_secs_f64()
            )
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
