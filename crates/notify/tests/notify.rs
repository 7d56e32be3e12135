//! Notifications against local receivers on 127.0.0.1 (and, ignored by default, on the local control plane).

#[path = "notify/cluster.rs"]
mod cluster;
#[path = "notify/delivery.rs"]
mod delivery;
#[path = "notify/receiver.rs"]
mod receiver;
