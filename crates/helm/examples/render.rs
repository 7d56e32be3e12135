//! `helm template`, natively: `cargo run --release --example render -p tack-helm -- [NAME] CHART [FLAGS]`
//! prints what `helm template` prints (same arguments), or the error on standard error with status 1.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = tack_helm::args::parse_template_args(&args).and_then(|parsed| {
        let source = tack_helm::ChartSource::Path(parsed.chart.clone().into());
        tack_helm::render(&source, &parsed.options)
    });
    match result {
        Ok(r) => print!("{}", r.text),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
