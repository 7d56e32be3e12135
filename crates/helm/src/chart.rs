//! The chart model and Helm's classification of a chart's files (`loader.LoadFiles`): Chart.yaml,
//! values.yaml, values.schema.json, requirements.yaml for v1 charts, `templates/`, subcharts in `charts/`
//! (folders and archives) and everything else as `.Files`.

use std::collections::BTreeMap;
use std::rc::Rc;

use tack_gotemplate::Map;

use crate::archive::read_archive;
use crate::error::{Error, Result};
use crate::fs::{BufferedFile, Limits};
use crate::metadata::Metadata;

/// One loaded chart with its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The chart's `Chart.yaml` (with a v1 chart's `requirements.yaml` dependencies).
    pub metadata: Metadata,
    /// Files under `templates/`, named `templates/...` (shared by the copies an alias makes).
    pub templates: Rc<Vec<BufferedFile>>,
    /// The chart's `values.yaml`.
    pub values: Map,
    /// The chart's `values.schema.json`.
    pub schema: Option<Vec<u8>>,
    /// Every other file (README, `crds/`, configuration files...), as `.Files` sees them.
    pub files: Rc<Vec<BufferedFile>>,
    /// The subcharts found in `charts/`, in name order.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name, from `Chart.yaml`.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The chart's files under `crds/` (Helm's `CRDObjects`), each with its output path.
    pub fn crd_files<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a BufferedFile)>) {
        let path = format!("{prefix}{}", self.name());
        for f in self.files.iter() {
            if f.name.starts_with("crds/")
                && (f.name.ends_with(".yaml") || f.name.ends_with(".yml") || f.name.ends_with(".json"))
            {
                out.push((format!("{path}/{}", f.name), f));
            }
        }
        for d in &self.dependencies {
            d.crd_files(&format!("{path}/charts/"), out);
        }
    }
}

/// Builds a chart from its files (names relative to the chart root), loading subcharts recursively.
pub fn load_files(files: Vec<BufferedFile>, limits: Limits, depth: usize) -> Result<Chart> {
    if depth > limits.max_chart_depth {
        return Err(Error::Unsafe(format!(
            "subcharts nested more than {} deep",
            limits.max_chart_depth
        )));
    }
    let mut metadata: Option<Metadata> = None;
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        metadata = Some(Metadata::parse(&f.data)?);
    }
    let mut chart = Chart {
        metadata: Metadata::default(),
        templates: Rc::default(),
        values: Map::new(),
        schema: None,
        files: Rc::default(),
        dependencies: Vec::new(),
    };
    let mut templates = Vec::new();
    let mut other_files = Vec::new();
    let mut subcharts: BTreeMap<String, Vec<BufferedFile>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" | "requirements.lock" => {}
            "values.yaml" => {
                let text = String::from_utf8_lossy(&f.data);
                chart.values = crate::yaml::load_values(&text)
                    .map_err(|e| Error::Load(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let v1 = md.api_version == "v1";
                md.merge_yaml("requirements.yaml", &f.data)?;
                if v1 {
                    other_files.push(f);
                }
            }
            name if name.starts_with("templates/") => templates.push(f),
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    other_files.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or(rest).to_string();
                let inner = BufferedFile {
                    name: rest.to_string(),
                    data: f.data,
                };
                subcharts.entry(cname).or_default().push(inner);
            }
            _ => other_files.push(f),
        }
    }
    chart.templates = Rc::new(templates);
    chart.files = Rc::new(other_files);
    chart.metadata = metadata.ok_or_else(|| Error::Load("Chart.yaml file is missing".into()))?;
    chart.metadata.validate()?;
    subcharts.retain(|n, _| !n.starts_with(['_', '.']));
    // The archives of the subcharts are inflated side by side.
    let archives: Vec<Option<&[u8]>> = subcharts
        .iter()
        .map(|(n, files)| {
            let archive = n.ends_with(".tgz").then(|| files.iter().find(|f| &f.name == n));
            archive.flatten().map(|f| f.data.as_slice())
        })
        .collect();
    let mut inflated =
        crate::parallel::map(&archives, |a| a.map(|data| read_archive(data, limits))).into_iter();
    for (n, files) in subcharts {
        let inflated = inflated.next().flatten();
        let sub = if n.ends_with(".tgz") {
            let Some(files) = inflated else {
                return Err(Error::Load(format!(
                    "error unpacking subchart tar in {}: expected {n}",
                    chart.name()
                )));
            };
            files.and_then(|fs| load_files(fs, limits, depth + 1))
        } else {
            let inner = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(BufferedFile {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files(inner, limits, depth + 1)
        };
        let sub = sub.map_err(|e| match e {
            Error::Unsafe(m) => Error::Unsafe(m),
            other => Error::Load(format!(
                "error unpacking subchart {n} in {}: {other}",
                chart.name()
            )),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}
