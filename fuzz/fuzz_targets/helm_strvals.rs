//! Helm's `--set` parser never panics on any input, in any of its modes, and what it builds prints as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::rc::Rc;
use tack_gotemplate::{Map, Value};
use tack_helm::strvals;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsers: [fn(&str, &tack_gotemplate::MapRef) -> Result<(), strvals::StrvalsError>; 4] = [
        strvals::parse_into,
        strvals::parse_into_string,
        strvals::parse_json,
        strvals::parse_literal_into,
    ];
    for parse in parsers {
        let dest = Rc::new(RefCell::new(Map::new()));
        let _ = parse(text, &dest);
        let _ = tack_helm::json::to_json(&Value::Map(dest));
    }
    let dest = Rc::new(RefCell::new(Map::new()));
    let mut reader = |path: &str| Ok(Value::string(path));
    let _ = strvals::parse_into_file(text, &dest, &mut reader);
});
