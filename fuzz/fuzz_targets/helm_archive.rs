//! The chart archive reader never panics and stays within its limits: any bytes given as a `.tgz` either load
//! as a chart (with its subcharts) or fail with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tack_helm::{ChartSource, DiskFs, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 1 << 20,
        max_files: 1000,
        ..Limits::default()
    };
    let _ = tack_helm::archive::read_archive(data, limits);
    let _ = tack_helm::load(&DiskFs, &ChartSource::Archive(data.to_vec()), limits);
});
