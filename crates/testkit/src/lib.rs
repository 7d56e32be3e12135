//! Test fixtures: a client on the local control plane and a fresh namespace per test.
