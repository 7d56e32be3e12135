//! Reading a chart archive (`.tgz`), as Helm's `LoadArchiveFiles` does, with limits: absolute paths, `..`
//! and links are refused, and the decompressed size and file count are bounded, so a decompression bomb
//! stops early.

use std::io::Read;

use crate::error::{Error, Result};
use crate::fs::{Budget, BufferedFile, Limits};

/// Reads the files of a gzip-compressed tar archive of a chart. The first path component (the chart's
/// folder in the archive) is removed from every name.
pub fn read_archive(data: &[u8], limits: Limits) -> Result<Vec<BufferedFile>> {
    if data.len() < 2 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(Error::Load("gzip: invalid header".into()));
    }
    // Headers and padding add at most one 512-byte block per file plus two per long name.
    let overhead = (limits.max_files as u64 + 4) * 1536;
    let decoder = flate2::read::GzDecoder::new(data).take(limits.max_total_bytes + overhead);
    let mut archive = tar::Archive::new(decoder);
    let mut budget = Budget::new(limits);
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| Error::Load(format!("cannot read the chart archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Load(format!("cannot read the chart archive: {e}")))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(Error::Unsafe(format!("chart archive holds a link: {raw}")));
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse()) {
            continue;
        }
        let name = clean_name(&raw)?;
        let size = entry.header().size().unwrap_or(u64::MAX);
        budget.take(&name, size)?;
        let mut buf = Vec::with_capacity(size.min(1 << 20) as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Load(format!("cannot read {name} in the chart archive: {e}")))?;
        if (buf.len() as u64) < size {
            return Err(Error::Load(format!("{name} is truncated in the chart archive")));
        }
        if buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
        files.push(BufferedFile { name, data: buf });
    }
    if files.is_empty() {
        return Err(Error::Load("no files in chart archive".into()));
    }
    Ok(files)
}

/// Helm's name checks: strip the first component, refuse absolute paths, `..`, drive letters and a
/// Chart.yaml outside the chart folder.
fn clean_name(raw: &str) -> Result<String> {
    let delimiter = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delimiter).collect();
    if parts[0] == "Chart.yaml" {
        return Err(Error::Unsafe("chart yaml not in base directory".into()));
    }
    let joined = parts[1..].join("/");
    if joined.starts_with('/') {
        return Err(Error::Unsafe("chart illegally contains absolute paths".into()));
    }
    let cleaned = clean_path(&joined);
    if cleaned == "." {
        return Err(Error::Unsafe(format!(
            "chart illegally contains content outside the base directory: {raw:?}"
        )));
    }
    if cleaned.starts_with("..") {
        return Err(Error::Unsafe(
            "chart illegally references parent directory".into(),
        ));
    }
    let b = cleaned.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(Error::Unsafe("chart contains illegally named files".into()));
    }
    Ok(cleaned)
}

/// Go's `path.Clean` for a relative path.
pub(crate) fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(last) if *last != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        ".".to_string()
    } else {
        out.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut h, name, *data).expect("valid");
        }
        let tar = builder.into_inner().expect("valid");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).expect("valid");
        gz.finish().expect("valid")
    }

    #[test]
    fn strips_the_chart_folder() {
        let data = tgz(&[
            ("demo/Chart.yaml", b"name: demo"),
            ("demo/templates/a.yaml", b"a: 1"),
        ]);
        let files = read_archive(&data, Limits::default()).expect("valid");
        assert_eq!(files[0].name, "Chart.yaml");
        assert_eq!(files[1].name, "templates/a.yaml");
    }

    #[test]
    fn refuses_parent_references_and_bombs() {
        assert!(clean_name("demo/../../etc/passwd").is_err());
        assert!(clean_name("Chart.yaml").is_err());
        let big = vec![b'a'; 4096];
        let data = tgz(&[("demo/Chart.yaml", b"name: demo"), ("demo/big", &big)]);
        let limits = Limits {
            max_total_bytes: 1024,
            ..Limits::default()
        };
        let err = read_archive(&data, limits).expect_err("must fail").to_string();
        assert!(err.contains("larger than"), "{err}");
    }

    #[test]
    fn refuses_garbage() {
        assert!(read_archive(b"not a gzip", Limits::default()).is_err());
    }
}
