//! `tack version`: the versions of tack and of the control-plane components it builds.

use std::process::ExitCode;

use serde::Serialize;
use tack_controlplane::Versions;

use crate::config::{Output, Settings};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    tack: &'static str,
    kubernetes_api: &'static str,
    local_control_plane: ControlPlaneVersions,
}

#[derive(Serialize)]
struct ControlPlaneVersions {
    kubernetes: String,
    etcd: String,
    kwok: String,
}

pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let v = Versions::pinned();
    let info = VersionInfo {
        tack: env!("CARGO_PKG_VERSION"),
        kubernetes_api: "1.36",
        local_control_plane: ControlPlaneVersions {
            kubernetes: v.kubernetes,
            etcd: v.etcd,
            kwok: v.kwok,
        },
    };
    match settings.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&info)?),
        Output::Yaml => print!("{}", serde_saphyr::to_string(&info)?),
        Output::Text => {
            println!("tack {}", info.tack);
            println!("Kubernetes API: {}", info.kubernetes_api);
            let cp = &info.local_control_plane;
            println!(
                "local control plane: Kubernetes v{}, etcd v{}, kwok v{}",
                cp.kubernetes, cp.etcd, cp.kwok
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
