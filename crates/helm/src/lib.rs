//! Helm charts, rendered natively: chart loading, values, Helm's template functions and `helm template`'s
//! output.
