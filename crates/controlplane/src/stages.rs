//! KWOK stages: the normal node and pod lifecycle (KWOK's own stock stages, read from the kwok module
//! by the build script) plus tack's failure stages, chosen by the pod label `tack.dev/simulate`.
//!
//! | label value   | what the pod does |
//! |---------------|-------------------|
//! | `crash`       | becomes Running, then about a second later its container exits with code 1 and the pod is `Failed` |
//! | `never-ready` | becomes Running but never Ready (readiness never passes) |

use std::path::Path;

use crate::{Error, Result};

/// The pod label that selects a failure stage.
pub const SIMULATE_LABEL: &str = "tack.dev/simulate";

/// The stock stages used, in order.
pub const STOCK: [&str; 5] = [
    "node-initialize",
    "node-heartbeat",
    "pod-ready",
    "pod-complete",
    "pod-delete",
];

/// tack's failure stages. `weight` makes them win over the weightless stock stages.
pub const FAILURE_STAGES: &str = r#"apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: tack-simulate-crash
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchLabels:
      tack.dev/simulate: crash
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
  weight: 10000
  delay:
    durationMilliseconds: 1000
    jitterDurationMilliseconds: 1500
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodFailed
        status: "False"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodFailed
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            message: "simulated crash (tack.dev/simulate: crash)"
      {{ end }}
      phase: Failed
      reason: Error
      message: "simulated crash (tack.dev/simulate: crash)"
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: tack-simulate-never-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchLabels:
      tack.dev/simulate: never-ready
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
  weight: 10000
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
"#;

/// Concatenates the stock stages found in `stock_dir` and tack's failure stages into one multi-document
/// KWOK configuration.
pub fn assemble(stock_dir: &Path) -> Result<String> {
    let mut out = String::new();
    for name in STOCK {
        let path = stock_dir.join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&path).map_err(Error::io("reading KWOK stage", &path))?;
        out.push_str(text.trim_end());
        out.push_str("\n---\n");
    }
    out.push_str(FAILURE_STAGES);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_stock_and_failure_stages() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in STOCK {
            std::fs::write(
                dir.path().join(format!("{name}.yaml")),
                format!("kind: Stage\nmetadata:\n  name: {name}\n"),
            )
            .expect("write");
        }
        let all = assemble(dir.path()).expect("assemble");
        assert_eq!(all.matches("kind: Stage").count(), STOCK.len() + 2);
        assert!(all.contains("tack-simulate-crash") && all.contains("tack-simulate-never-ready"));
        std::fs::remove_file(dir.path().join("pod-ready.yaml")).expect("rm");
        let err = assemble(dir.path()).expect_err("missing stage");
        assert!(err.to_string().contains("pod-ready.yaml"), "{err}");
    }
}
