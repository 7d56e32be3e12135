//! YAML: multi-document parsing and the Kustomize-compatible emitter.
