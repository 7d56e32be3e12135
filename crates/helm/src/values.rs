//! The user's values as `helm template` merges them (`values.Options.MergeValues`): each `-f` file in order,
//! then `--set-json`, `--set`, `--set-string`, `--set-file` and `--set-literal`, each in the order given.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use tack_gotemplate::{Map, MapRef, Value};

use crate::Options;
use crate::coalesce::merge_maps;
use crate::error::{Error, Result};
use crate::fs::ChartFs;

fn read(fs: &dyn ChartFs, path: &str) -> Result<Vec<u8>> {
    fs.read(Path::new(path)).map_err(|e| {
        let msg = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        Error::Values(format!("open {path}: {msg}"))
    })
}

/// Merges the user-supplied values of `opts`, reading files through `fs`.
pub fn user_values(opts: &Options, fs: &dyn ChartFs) -> Result<Map> {
    let mut base = Map::new();
    for path in &opts.value_files {
        let raw = read(fs, path)?;
        let current = crate::yaml::load_values(&String::from_utf8_lossy(&raw))
            .map_err(|e| Error::Values(format!("failed to parse {path}: {e}")))?;
        base = merge_maps(base, current);
    }
    let dest: MapRef = Rc::new(RefCell::new(base));
    for value in &opts.set_json {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            let parsed = crate::json::parse(trimmed).ok();
            let Some(Value::Map(m)) = parsed else {
                return Err(Error::Values(format!(
                    "failed parsing --set-json data JSON: {value}"
                )));
            };
            let merged = merge_maps(dest.borrow().clone(), m.borrow().clone());
            *dest.borrow_mut() = merged;
        } else if crate::strvals::parse_json(value, &dest).is_err() {
            return Err(Error::Values(format!("failed parsing --set-json data {value}")));
        }
    }
    for value in &opts.set {
        crate::strvals::parse_into(value, &dest)
            .map_err(|e| Error::Values(format!("failed parsing --set data: {e}")))?;
    }
    for value in &opts.set_string {
        crate::strvals::parse_into_string(value, &dest)
            .map_err(|e| Error::Values(format!("failed parsing --set-string data: {e}")))?;
    }
    for value in &opts.set_file {
        let mut reader = |p: &str| -> std::result::Result<Value, String> {
            read(fs, p)
                .map(|d| Value::string(String::from_utf8_lossy(&d).into_owned()))
                .map_err(|e| e.to_string())
        };
        crate::strvals::parse_into_file(value, &dest, &mut reader)
            .map_err(|e| Error::Values(format!("failed parsing --set-file data: {e}")))?;
    }
    for value in &opts.set_literal {
        crate::strvals::parse_literal_into(value, &dest)
            .map_err(|e| Error::Values(format!("failed parsing --set-literal data: {e}")))?;
    }
    let out = dest.borrow().clone();
    Ok(out)
}
