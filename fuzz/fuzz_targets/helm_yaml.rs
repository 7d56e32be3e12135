//! Helm's YAML reading (`fromYaml`, values files) never panics, and what `toYaml` prints of it reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tack_helm::yaml::load_values(text);
    let _ = tack_helm::yaml::from_yaml_array(text);
    let v = tack_helm::yaml::from_yaml(text);
    let _ = tack_helm::yaml::to_yaml_pretty(&v);
    let _ = tack_helm::json::to_json(&v);
    if let Ok(printed) = tack_helm::yaml::to_yaml(&v) {
        let back = tack_helm::yaml::unmarshal(&format!("{printed}\n"));
        assert!(back.is_ok(), "toYaml output does not read back: {printed}");
    }
});
