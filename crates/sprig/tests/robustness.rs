//! Every function, called with odd arguments (none, multi-byte text, negative and huge numbers, nil,
//! lists, maps), returns a value or an error: it never panics.

#![allow(clippy::unwrap_used)]

use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

/// Functions that generate RSA keys are slow in debug builds; they are covered by the golden cases.
const SLOW: &[&str] = &[
    "genPrivateKey",
    "genCA",
    "genSelfSignedCert",
    "genSignedCert",
    "derivePassword",
    "bcrypt",
    "htpasswd",
];

const ARGS: &[&str] = &[
    "",
    r#""""#,
    r#""é€%x""#,
    r#"-1 "é€""#,
    r#"99 "€""#,
    r#"2 -5 "a€b""#,
    r#"-9223372036854775808 "x""#,
    "nil",
    ".missing",
    r#"(list 1 "a" nil) 1"#,
    r#"(dict "a" (list)) "a""#,
    r#""[" "(" 1"#,
    r#""%zz€" "é" "x" 1 2"#,
    "1.5 2.5",
    r#"(list) (list) (list)"#,
    r#"-9223372036854775808 9223372036854775807 "xyz""#,
    "9223372036854775806 9223372036854775807 9223372036854775807",
    "-9223372036854775807 -9223372036854775808 -9223372036854775808",
    r#"9223372036854775807 "a b c d""#,
    r#"3 "€€€€€ €€€€ €€""#,
];

#[test]
fn no_function_panics() {
    let mut funcs = Funcs::new();
    tack_sprig::install(&mut funcs);
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        max_output: 1 << 20,
        ..ExecOptions::default()
    };
    let data = Value::map(Map::new());
    for name in tack_sprig::NAMES {
        if SLOW.contains(name) {
            continue;
        }
        for args in ARGS {
            let text = format!("{{{{ {name} {args} }}}}");
            let mut set = Templates::new();
            if set.parse("t", &text, &funcs).is_ok() {
                let _ = set.execute("t", &data, &funcs, &opts);
            }
        }
    }
}

#[test]
fn self_referencing_maps_do_not_overflow_the_stack() {
    let mut funcs = Funcs::new();
    tack_sprig::install(&mut funcs);
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    let text =
        r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}{{ toJson $d | len }}|{{ mustToJson $d }}"#;
    let mut set = Templates::new();
    set.parse("t", text, &funcs).unwrap();
    let err = set
        .execute("t", &Value::map(Map::new()), &funcs, &opts)
        .unwrap_err();
    assert!(
        err.message
            .contains("json: unsupported value: encountered a cycle"),
        "{}",
        err.message
    );
    for f in [
        "deepCopy $d | len",
        "merge (dict) $d | len",
        "deepEqual $d $d",
        "toString $d | len | lt 0",
    ] {
        let text = format!(r#"{{{{ $d := dict "a" 1 }}}}{{{{ $_ := set $d "self" $d }}}}{{{{ {f} }}}}"#);
        let mut set = Templates::new();
        set.parse("t", &text, &funcs).unwrap();
        set.execute("t", &Value::map(Map::new()), &funcs, &opts).unwrap();
    }
}
