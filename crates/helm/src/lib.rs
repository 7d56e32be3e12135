//! Helm charts, rendered natively: chart loading, values, Helm's template functions and `helm template`'s
//! output.

pub mod coalesce;
pub mod json;
pub mod schema;
pub mod strvals;
pub mod toml;
pub mod yaml;
