//! One module per top-level command.

pub mod demo;
pub mod dev;
pub mod diff;
pub mod render;
pub mod sync;
pub mod version;
