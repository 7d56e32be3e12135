//! `helm template`, natively: `cargo run --release --example render -p tack-helm -- [NAME] CHART [FLAGS]`
//! prints what `helm template` prints (same arguments), or the error on standard error with status 1.
//! With `TACK_HELM_TIMING=1` the time of each render phase goes to standard error.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = tack_helm::args::parse_template_args(&args).and_then(|parsed| {
        let source = tack_helm::ChartSource::Path(parsed.chart.clone().into());
        tack_helm::render(&source, &parsed.options)
    });
    match result {
        Ok(r) => {
            print!("{}", r.text);
            if std::env::var_os("TACK_HELM_TIMING").is_some() {
                for (phase, d) in &r.timings {
                    eprintln!("{phase}: {:.3} ms", d.as_secs_f64() * 1000.0);
                }
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
