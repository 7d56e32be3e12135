//! Cryptographic functions (stub while the rest is built).
use tack_gotemplate::Funcs;
pub fn register(_funcs: &mut Funcs, _env: &crate::Env) {}
