//! The engine's API as tack-sprig and tack-helm use it: typed functions, `Call::execute` (include),
//! `Call::parse_and_execute` (tpl), limits. Expected messages are Go's (checked against Go 1.26's
//! text/template).
#![allow(clippy::unwrap_used)]

use tack_gotemplate::{ArgType, ExecOptions, FuncError, Funcs, Map, MissingKey, Signature, Templates, Value};

fn zero() -> ExecOptions {
    ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    }
}

fn values(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert((*k).to_string(), v.clone());
    }
    Value::map(m)
}

fn helm_like_funcs() -> Funcs {
    let mut f = Funcs::new();
    f.insert("include", |call, args| {
        let name = args
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| FuncError::new("name"))?
            .to_string();
        let data = args.get(1).cloned().unwrap_or_default();
        call.execute(&name, &data).map(Value::from)
    });
    f.insert("tpl", |call, args| {
        let text = args
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| FuncError::new("text"))?
            .to_string();
        let data = args.get(1).cloned().unwrap_or_default();
        call.parse_and_execute("tpl", &text, &data).map(Value::from)
    });
    f.insert_typed(
        "indent",
        Signature::fixed(&[ArgType::Int, ArgType::String]),
        |_, args| {
            let (Value::Int(n), Some(s)) = (&args[0], args[1].as_str()) else {
                return Err(FuncError::new("engine passed unchecked arguments"));
            };
            let pad = " ".repeat(*n as usize);
            Ok(Value::from(
                s.lines()
                    .map(|l| format!("{pad}{l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ))
        },
    );
    f.insert_typed(
        "join",
        Signature::variadic(&[ArgType::String], ArgType::Any),
        |_, args| {
            let sep = args[0].as_str().unwrap_or_default();
            Ok(Value::from(
                args[1..]
                    .iter()
                    .map(Value::to_go_string)
                    .collect::<Vec<_>>()
                    .join(sep),
            ))
        },
    );
    f
}

fn run(text: &str, data: &Value) -> Result<String, String> {
    let funcs = helm_like_funcs();
    let mut set = Templates::new();
    set.parse("t", text, &funcs).map_err(|e| e.message)?;
    set.execute("t", data, &funcs, &zero()).map_err(|e| e.message)
}

#[test]
fn include_runs_a_define_of_the_set() {
    let data = values(&[("name", Value::from("x"))]);
    let out = run(
        r#"{{ define "n" }}<{{ .name }}>{{ end }}{{ include "n" . }}|{{ include "n" . | indent 2 }}"#,
        &data,
    );
    assert_eq!(out.as_deref(), Ok("<x>|  <x>"));
}

#[test]
fn include_error_is_wrapped_as_go_does() {
    let text = r#"{{ define "n" }}{{ .a.b }}{{ end }}{{ include "n" .x }}"#;
    let err = run(text, &values(&[("x", values(&[("a", Value::Float(1.0))]))])).unwrap_err();
    assert_eq!(
        err,
        "template: t:1:38: executing \"t\" at <include \"n\" .x>: error calling include: \
         template: t:1:21: executing \"n\" at <.a.b>: can't evaluate field b in type interface {}"
    );
    // nil data: fields of an invalid value are invalid, silently
    assert_eq!(run(text, &values(&[])).as_deref(), Ok("<no value>"));
}

#[test]
fn tpl_sees_the_defines_and_its_own_do_not_leak() {
    let data = values(&[("v", Value::from("val"))]);
    let text = r#"{{ define "d" }}D{{ end }}{{ tpl "{{ define \"own\" }}O{{ end }}{{ template \"d\" }}{{ .v }}{{ template \"own\" }}" . }}"#;
    assert_eq!(run(text, &data).as_deref(), Ok("DvalO"));
    let funcs = helm_like_funcs();
    let mut set = Templates::new();
    set.parse("t", text, &funcs).unwrap();
    assert!(!set.contains("own"));
}

#[test]
fn tpl_parse_error_names_the_template() {
    let err = run(r#"{{ tpl "{{ nope }}" . }}"#, &values(&[])).unwrap_err();
    assert!(
        err.ends_with("error calling tpl: template: tpl:1: function \"nope\" not defined"),
        "{err}"
    );
}

#[test]
fn typed_functions_check_arguments_as_go() {
    let data = values(&[("f", Value::Float(2.0)), ("s", Value::from("a"))]);
    assert_eq!(run(r#"{{ indent 2 "x" }}"#, &data).as_deref(), Ok("  x"));
    assert_eq!(
        run(r#"{{ indent .f "x" }}"#, &data).unwrap_err(),
        "template: t:1:10: executing \"t\" at <.f>: wrong type for value; expected int; got float64"
    );
    assert_eq!(
        run(r#"{{ indent "2" "x" }}"#, &data).unwrap_err(),
        "template: t:1:10: executing \"t\" at <\"2\">: expected integer; found \"2\""
    );
    assert_eq!(
        run(r#"{{ indent 2 }}"#, &data).unwrap_err(),
        "template: t:1:3: executing \"t\" at <indent>: wrong number of args for indent: want 2 got 1"
    );
    assert_eq!(
        run(r#"{{ .f | indent 2 }}"#, &data).unwrap_err(),
        "template: t:1:15: executing \"t\" at <2>: wrong type for value; expected string; got float64"
    );
    assert_eq!(
        run(r#"{{ indent 2 .missing }}"#, &data).unwrap_err(),
        "template: t:1:12: executing \"t\" at <.missing>: wrong type for value; expected string; got interface {}"
    );
    assert_eq!(run(r#"{{ join "," 1 .s 2.5 }}"#, &data).as_deref(), Ok("1,a,2.5"));
    assert_eq!(
        run(r#"{{ join }}"#, &data).unwrap_err(),
        "template: t:1:3: executing \"t\" at <join>: wrong number of args for join: want at least 1 got 0"
    );
}

#[test]
fn template_recursion_stops_at_the_depth_limit() {
    let funcs = Funcs::new();
    let mut set = Templates::new();
    set.parse(
        "t",
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
        &funcs,
    )
    .unwrap();
    let opts = ExecOptions {
        max_depth: 100_000,
        ..zero()
    };
    let err = set.execute("t", &Value::Nil, &funcs, &opts).unwrap_err();
    assert_eq!(
        err.message,
        "template: t:1:28: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100000)"
    );
}

#[test]
fn include_recursion_stops_at_the_depth_limit() {
    let funcs = helm_like_funcs();
    let mut set = Templates::new();
    set.parse(
        "t",
        r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
        &funcs,
    )
    .unwrap();
    let opts = ExecOptions {
        max_depth: 1000,
        ..zero()
    };
    let err = set.execute("t", &Value::Nil, &funcs, &opts).unwrap_err();
    assert!(
        err.message.ends_with("exceeded maximum template depth (1000)"),
        "{}",
        &err.message[..200]
    );
}

#[test]
fn output_limit_is_an_error() {
    let funcs = Funcs::new();
    let mut set = Templates::new();
    set.parse("t", "{{ range 100 }}0123456789{{ end }}", &funcs)
        .unwrap();
    let opts = ExecOptions {
        max_output: 500,
        ..zero()
    };
    let err = set.execute("t", &Value::Nil, &funcs, &opts).unwrap_err();
    assert_eq!(err.message, "template: t: output exceeds the limit of 500 bytes");
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let depth = 5000;
    let text = format!("{}x{}", "{{ if true }}".repeat(depth), "{{ end }}".repeat(depth));
    assert_eq!(run(&text, &Value::Nil).as_deref(), Ok("x"));
    let text = format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(run(&text, &Value::Nil).as_deref(), Ok("1"));
}

#[test]
fn maps_are_shared_and_missing_keys_follow_the_option() {
    let funcs = Funcs::new();
    let mut set = Templates::new();
    set.parse("t", "{{ .a }}|{{ .b.c }}", &funcs).unwrap();
    let data = values(&[("a", Value::Nil)]);
    let def = ExecOptions::default();
    assert_eq!(
        set.execute("t", &values(&[("b", values(&[]))]), &funcs, &def)
            .unwrap(),
        "<no value>|<no value>"
    );
    let strict = ExecOptions {
        missing_key: MissingKey::Error,
        ..def
    };
    assert_eq!(
        set.execute("t", &data, &funcs, &strict).unwrap_err().message,
        "template: t:1:14: executing \"t\" at <.b.c>: map has no entry for key \"b\""
    );
}

#[test]
fn parse_errors_carry_name_and_line() {
    let funcs = Funcs::new();
    let mut set = Templates::new();
    let e = set.parse("x.yaml", "a\nb\n{{ if }}", &funcs).unwrap_err();
    assert_eq!(e.message, "template: x.yaml:3: missing value for if");
    assert_eq!(e.line, 3);
    set.parse("x.yaml", "{{ 1i }}", &funcs).unwrap();
    let e = set.execute("x.yaml", &Value::Nil, &funcs, &zero()).unwrap_err();
    assert_eq!(
        e.message,
        "template: x.yaml:1:3: executing \"x.yaml\" at <1i>: complex constant 1i is not supported"
    );
}

#[test]
fn tpl_texts_parsed_once_still_see_their_own_data() {
    let data = values(&[
        ("xs", Value::list(vec![Value::from("a"), Value::from("b")])),
        ("t", Value::from("<{{ . }}>")),
        ("bad", Value::from("{{ nope }}")),
    ]);
    assert_eq!(
        run(r#"{{ range .xs }}{{ tpl $.t . }}{{ end }}"#, &data).as_deref(),
        Ok("<a><b>")
    );
    let err = run(r#"{{ range .xs }}{{ tpl $.bad . }}{{ end }}"#, &data).unwrap_err();
    assert!(err.ends_with("function \"nope\" not defined"), "{err}");
}

struct Files;

impl tack_gotemplate::Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        match name {
            "Get" => Some(Ok(Value::from(format!(
                "content of {}",
                args[0].as_str().unwrap_or("?")
            )))),
            _ => None,
        }
    }
    fn signature(&self, name: &str) -> Option<Signature> {
        (name == "Get").then(|| Signature::fixed(&[ArgType::String]))
    }
    fn display(&self) -> String {
        "map[]".into()
    }
}

#[test]
fn object_methods_with_signatures_are_checked_as_go() {
    let data = values(&[
        ("Files", Value::Object(std::rc::Rc::new(Files))),
        ("n", Value::Float(1.0)),
    ]);
    assert_eq!(
        run(r#"{{ .Files.Get "a.txt" }}|{{ "b" | .Files.Get }}"#, &data).as_deref(),
        Ok("content of a.txt|content of b")
    );
    assert_eq!(
        run(r#"{{ .Files.Get .n }}"#, &data).unwrap_err(),
        "template: t:1:14: executing \"t\" at <.n>: wrong type for value; expected string; got float64"
    );
    assert_eq!(
        run(r#"{{ .Files.Get }}"#, &data).unwrap_err(),
        "template: t:1:9: executing \"t\" at <.Files.Get>: wrong number of args for Get: want 1 got 0"
    );
    assert_eq!(
        run(r#"{{ .Files.Nope }}"#, &data).unwrap_err(),
        "template: t:1:9: executing \"t\" at <.Files.Nope>: can't evaluate field Nope in type interface {}"
    );
}

/// A text parsed on another thread and adopted by a set renders as the same text parsed in the set, under
/// the name it was parsed with and under another; a text that does not parse is `None` and the set still
/// reports its error.
#[test]
fn texts_parsed_on_another_thread_are_adopted() {
    let funcs = helm_like_funcs();
    let names = funcs.names();
    let lib = r#"{{- define "lib.greet" -}}hello {{ .who | printf "%s!" }}{{- end -}}"#;
    let page = r#"{{ include "lib.greet" . }} / {{ template "lib.greet" . }}"#;
    let texts = vec![
        ("a/_lib.tpl".to_string(), lib.to_string()),
        ("a/page".to_string(), page.to_string()),
    ];
    let parsed = std::thread::spawn(move || {
        texts
            .into_iter()
            .map(|(name, text)| {
                (
                    text.clone(),
                    tack_gotemplate::parse_detached(&name, &text, &names).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    let mut adopted = Templates::new();
    for (text, p) in parsed {
        adopted.adopt(&text, p);
    }
    let mut plain = Templates::new();
    for set in [&mut adopted, &mut plain] {
        set.parse("b/_lib.tpl", lib, &funcs).unwrap();
        set.parse("b/page", page, &funcs).unwrap();
    }
    let data = values(&[("who", Value::string("you"))]);
    let out = |set: &Templates| set.execute("b/page", &data, &funcs, &zero()).unwrap();
    assert_eq!(out(&adopted), "hello you! / hello you!");
    assert_eq!(out(&adopted), out(&plain));

    let broken = "{{ if }}";
    assert!(tack_gotemplate::parse_detached("c", broken, &funcs.names()).is_none());
    let err = Templates::new().parse("c", broken, &funcs).unwrap_err();
    assert_eq!(err.message, "template: c:1: missing value for if");
}
