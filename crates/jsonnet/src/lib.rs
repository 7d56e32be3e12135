//! Jsonnet, natively: evaluation behind a small trait of tack's own, Argo CD-compatible sources and Tanka-style
//! object extraction.
