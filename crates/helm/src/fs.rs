//! Reading a chart folder through a small filesystem trait, confined to the chart's root: no `..`, no
//! symbolic link that leads out of the chart, and size and file-count limits.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ignore::Rules;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link: followed when it points inside the chart, refused when it points outside.
    Symlink,
    /// A device, socket or pipe: refused, as Helm refuses irregular files.
    Other,
}

/// The few filesystem operations chart loading needs.
pub trait ChartFs: Sync {
    /// The names and kinds of the entries of a directory (any order).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The size of a file in bytes.
    fn file_size(&self, path: &Path) -> io::Result<u64>;
    /// Absolute, normalised path with symbolic links resolved.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Whether `path` (links followed) is a directory.
    fn is_dir(&self, path: &Path) -> bool;
}

/// The real disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFs;

impl ChartFs for DiskFs {
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            out.push((entry.file_name().to_string_lossy().into_owned(), kind));
        }
        Ok(out)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// Bounds on what a chart may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total decompressed bytes of a chart with its subcharts (Helm: 100 MiB).
    pub max_total_bytes: u64,
    /// Bytes of one file.
    pub max_file_bytes: u64,
    /// Files in a chart with its subcharts.
    pub max_files: usize,
    /// Nesting of subcharts.
    pub max_chart_depth: usize,
    /// Bytes of rendered output.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 100 << 20,
            max_file_bytes: 20 << 20,
            max_files: 50_000,
            max_chart_depth: 32,
            max_output_bytes: 256 << 20,
        }
    }
}

/// One file of a chart, named by its slash-separated path relative to the chart root.
#[derive(Debug, Clone)]
pub struct BufferedFile {
    /// The path relative to the chart root, `/`-separated (`templates/deployment.yaml`).
    pub name: String,
    /// The file's bytes.
    pub data: Vec<u8>,
}

/// A running total of what has been read, checked against [`Limits`].
pub(crate) struct Budget {
    limits: Limits,
    bytes: u64,
    files: usize,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Self {
        Budget {
            limits,
            bytes: 0,
            files: 0,
        }
    }
    pub(crate) fn take(&mut self, name: &str, size: u64) -> Result<()> {
        if size > self.limits.max_file_bytes {
            return Err(Error::Unsafe(format!(
                "{name} is larger than the limit of {} bytes per file",
                self.limits.max_file_bytes
            )));
        }
        self.bytes += size;
        self.files += 1;
        if self.bytes > self.limits.max_total_bytes {
            return Err(Error::Unsafe(format!(
                "decompressed chart is larger than the maximum size {}",
                self.limits.max_total_bytes
            )));
        }
        if self.files > self.limits.max_files {
            return Err(Error::Unsafe(format!(
                "chart holds more than {} files",
                self.limits.max_files
            )));
        }
        Ok(())
    }
}

/// Reads every file of the chart folder `root` that `.helmignore` does not exclude (Helm's `LoadDir`).
pub fn read_dir_files(fs: &dyn ChartFs, root: &Path, limits: Limits) -> Result<Vec<BufferedFile>> {
    let root = fs
        .canonicalize(root)
        .map_err(|e| Error::Load(format!("path {:?} not found: {e}", root.display().to_string())))?;
    let mut rules = match fs.read(&root.join(".helmignore")) {
        Ok(data) => Rules::parse(&String::from_utf8_lossy(&data)).map_err(Error::Load)?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut budget = Budget::new(limits);
    walk(fs, &root, &root, "", &rules, &mut budget, &mut files, 0)?;
    Ok(files)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    fs: &dyn ChartFs,
    root: &Path,
    dir: &Path,
    rel: &str,
    rules: &Rules,
    budget: &mut Budget,
    out: &mut Vec<BufferedFile>,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(Error::Unsafe(format!("{rel}: folders nested too deeply")));
    }
    let mut entries = fs
        .read_dir(dir)
        .map_err(|e| Error::Load(format!("cannot read {}: {e}", dir.display())))?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut kind) in entries {
        let path = dir.join(&name);
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let mut real = path.clone();
        if kind == EntryKind::Symlink {
            real = fs
                .canonicalize(&path)
                .map_err(|e| Error::Load(format!("cannot resolve the symbolic link {n}: {e}")))?;
            if !real.starts_with(root) {
                return Err(Error::Unsafe(format!(
                    "the symbolic link {n} points outside the chart"
                )));
            }
            kind = if fs.is_dir(&real) {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
        }
        match kind {
            EntryKind::Dir => {
                if rules.ignore(&n, true) {
                    continue;
                }
                walk(fs, root, &real, &n, rules, budget, out, depth + 1)?;
            }
            EntryKind::File => {
                if rules.ignore(&n, false) {
                    continue;
                }
                let size = fs
                    .file_size(&real)
                    .map_err(|e| Error::Load(format!("error reading {n}: {e}")))?;
                budget.take(&n, size)?;
                let mut data = fs
                    .read(&real)
                    .map_err(|e| Error::Load(format!("error reading {n}: {e}")))?;
                if data.starts_with(b"\xEF\xBB\xBF") {
                    data.drain(..3);
                }
                out.push(BufferedFile { name: n, data });
            }
            EntryKind::Symlink | EntryKind::Other => {
                if rules.ignore(&n, false) {
                    continue;
                }
                return Err(Error::Load(format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}
