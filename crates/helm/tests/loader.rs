//! Chart loading is confined to the chart: symbolic links out of it, parent references in archives and
//! oversized charts are refused; the render API reports each document's kind.

use std::path::Path;

use tack_helm::{ChartSource, DocumentKind, Error, Limits, Options, render};

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn chart(dir: &Path) {
    write(dir, "Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    );
}

#[test]
fn symbolic_link_out_of_the_chart_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    chart(&dir);
    write(tmp.path(), "outside.txt", "secret");
    std::os::unix::fs::symlink(tmp.path().join("outside.txt"), dir.join("leak.txt")).expect("symlink");
    let err = render(&ChartSource::Path(dir), &Options::default()).expect_err("must refuse");
    assert!(matches!(err, Error::Unsafe(_)), "{err}");
    assert!(err.to_string().contains("leak.txt"), "{err}");
}

#[test]
fn symbolic_link_inside_the_chart_is_followed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    chart(&dir);
    write(&dir, "files/real.txt", "hello");
    write(
        &dir,
        "templates/f.yaml",
        "kind: ConfigMap\ndata: {{ .Files.Get \"link.txt\" | quote }}\n",
    );
    std::os::unix::fs::symlink(dir.join("files/real.txt"), dir.join("link.txt")).expect("symlink");
    let out = render(&ChartSource::Path(dir), &Options::default()).expect("renders");
    assert!(out.text.contains("data: \"hello\""), "{}", out.text);
}

#[test]
fn too_many_files_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    chart(&dir);
    for i in 0..20 {
        write(&dir, &format!("files/f{i}.txt"), "x");
    }
    let opts = Options {
        limits: Limits {
            max_files: 10,
            ..Limits::default()
        },
        ..Options::default()
    };
    let err = render(&ChartSource::Path(dir), &opts).expect_err("must refuse");
    assert!(err.to_string().contains("more than 10 files"), "{err}");
}

fn tgz_with_raw_name(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = Vec::new();
    tar.extend_from_slice(header.as_bytes());
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn archive_entries_out_of_the_chart_are_refused() {
    let data = tgz_with_raw_name("demo/../../etc/passwd", b"root");
    let err = render(&ChartSource::Archive(data), &Options::default()).expect_err("must refuse");
    assert_eq!(err.to_string(), "chart illegally references parent directory");
}

#[test]
fn decompression_bombs_stop_at_the_limit() {
    let zeros = vec![0u8; 4 << 20];
    let data = tgz_with_raw_name("demo/big.bin", &zeros);
    assert!(data.len() < 64 << 10, "the archive is small: {}", data.len());
    let opts = Options {
        limits: Limits {
            max_total_bytes: 1 << 20,
            ..Limits::default()
        },
        ..Options::default()
    };
    let err = render(&ChartSource::Archive(data), &opts).expect_err("must refuse");
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[test]
fn documents_carry_their_kind_and_source() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    chart(&dir);
    write(
        &dir,
        "crds/w.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: w\n",
    );
    write(
        &dir,
        "templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install\n",
    );
    write(&dir, "templates/NOTES.txt", "installed {{ .Release.Name }}");
    let opts = Options {
        include_crds: true,
        ..Options::default()
    };
    let out = render(&ChartSource::Path(dir), &opts).expect("renders");
    let kinds: Vec<(DocumentKind, &str)> = out
        .documents
        .iter()
        .map(|d| (d.kind, d.source.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (DocumentKind::Crd, "demo/crds/w.yaml"),
            (DocumentKind::Manifest, "demo/templates/cm.yaml"),
            (DocumentKind::Hook, "demo/templates/hook.yaml"),
        ]
    );
    assert_eq!(out.documents[2].hook_events, vec!["pre-install".to_string()]);
    assert_eq!(out.notes, "installed release-name");
}
