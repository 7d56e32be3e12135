//! Kustomize, natively: builds a kustomization directory exactly as `kubectl kustomize` does.
