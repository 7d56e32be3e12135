//! Integration tests of promotion: commits written to real Git servers (file:// and smart HTTP through
//! `git http-backend`), checked with the real `git`.

mod analysis_gate;
mod cluster;
mod discovery;
mod edits_random;
mod git_write;
mod harness;
mod identity;
mod kustomize_golden;
mod layouts;
mod parts;
mod races;
mod refusals;
mod windows;
