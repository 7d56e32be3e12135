//! Parsing any template text never panics, and a text that parses executes without panicking (on a small
//! data value, with the builtins only and tight limits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let funcs = Funcs::new();
    let mut set = Templates::new();
    if set.parse("t", text, &funcs).is_err() {
        return;
    }
    let mut m = Map::new();
    m.insert("a".into(), Value::Float(1.5));
    m.insert("l".into(), Value::list(vec![Value::from("x"), Value::Nil, Value::Int(3)]));
    let opts = ExecOptions { missing_key: MissingKey::Zero, max_depth: 200, max_output: 1 << 20 };
    let _ = set.execute("t", &Value::map(m), &funcs, &opts);
});
