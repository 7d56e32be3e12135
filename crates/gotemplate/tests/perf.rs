//! A rendering benchmark (ignored by default): 200 services × 3 containers through ranges, a define,
//! printf, comparisons and index, the same workload as Go's text/template takes ~50 ms per render for.
//!
//!   cargo test --release -p tack-gotemplate --test perf -- --ignored --nocapture
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

const TEMPLATE: &str = r#"{{- define "labels" -}}
app: {{ .name }}
tier: {{ .tier | printf "%s-tier" }}
{{- end -}}
{{- range $i, $svc := .Values.services }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $svc.name }}
  labels:
{{ template "labels" $svc }}
spec:
  replicas: {{ $svc.replicas }}
  template:
    spec:
      containers:
      {{- range $c := $svc.containers }}
        - name: {{ $c.name }}
          image: "{{ $c.image }}:{{ $c.tag }}"
          {{- if $c.ports }}
          ports:
          {{- range $p := $c.ports }}
            - containerPort: {{ $p }}
          {{- end }}
          {{- end }}
          {{- with $c.env }}
          env:
          {{- range $k, $v := . }}
            - name: {{ $k }}
              value: {{ printf "%q" (print $v) }}
          {{- end }}
          {{- end }}
          {{- if and $svc.enabled (or (eq $svc.tier "web") (gt $svc.replicas 2.0)) }}
          resources: {limits: {cpu: {{ index $svc.limits "cpu" }}, memory: {{ index $svc.limits "memory" }}}}
          {{- end }}
      {{- end }}
{{- end }}
"#;

fn m(pairs: Vec<(&str, Value)>) -> Value {
    Value::map(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map>(),
    )
}

fn data() -> Value {
    let mut services = Vec::new();
    for i in 0..200 {
        let containers = (0..3)
            .map(|j| {
                m(vec![
                    ("name", Value::from(format!("c{j}"))),
                    ("image", Value::from(format!("repo/img{j}"))),
                    ("tag", Value::from(format!("v1.{j}"))),
                    (
                        "ports",
                        Value::list(vec![Value::Float(f64::from(8080 + j)), Value::Float(9090.0)]),
                    ),
                    (
                        "env",
                        m(vec![
                            ("A", Value::from("x")),
                            ("B", Value::Float(f64::from(i) * 1.5)),
                            ("C", Value::Bool(true)),
                            ("D", Value::Nil),
                        ]),
                    ),
                ])
            })
            .collect();
        services.push(m(vec![
            ("name", Value::from(format!("svc{i}"))),
            ("tier", Value::from(["web", "db", "cache"][i as usize % 3])),
            ("replicas", Value::Float(f64::from(i % 5))),
            ("enabled", Value::Bool(i % 2 == 0)),
            (
                "limits",
                m(vec![
                    ("cpu", Value::from(format!("{}m", 100 + i))),
                    ("memory", Value::from(format!("{}Mi", 64 * (i % 8 + 1)))),
                ]),
            ),
            ("containers", Value::list(containers)),
        ]));
    }
    m(vec![("Values", m(vec![("services", Value::list(services))]))])
}

#[test]
#[ignore = "benchmark"]
fn render_speed() {
    let data = data();
    let funcs = Funcs::new();
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    let n = 50;
    let t0 = Instant::now();
    let mut out = String::new();
    for _ in 0..n {
        let mut set = Templates::new();
        set.parse("t", TEMPLATE, &funcs).unwrap();
        out = set.execute("t", &data, &funcs, &opts).unwrap();
    }
    let per = t0.elapsed() / n;
    let t1 = Instant::now();
    let mut set = Templates::new();
    set.parse("t", TEMPLATE, &funcs).unwrap();
    for _ in 0..n {
        out = set.execute("t", &data, &funcs, &opts).unwrap();
    }
    eprintln!("execute only: {:?} per render", t1.elapsed() / n);
    eprintln!(
        "tack-gotemplate: {n} renders (parse + execute), {per:?} per render, {} bytes",
        out.len()
    );
    if let Ok(path) = std::env::var("GOTEMPLATE_BENCH_OUT") {
        std::fs::write(path, &out).unwrap();
    }
}
