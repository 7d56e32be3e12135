//! The standard library evaluations see: jrsonnet's, with the functions where it differs from go-jsonnet
//! replaced by tack's own: `std.abs`, `std.max`, `std.min`, `std.mergePatch`, `std.manifestXmlJsonml`,
//! `std.format`, `std.log2`, `std.log10`, `std.manifestYamlDoc`, `std.manifestYamlStream`, `std.manifestTomlEx`,
//! `std.manifestToml`, `std.slice`, `std.parseYaml`, `std.trace`, the `std.escapeString*` functions, `std.base64`,
//! `std.assertEqual`, `std.split`, `std.splitLimit`, `std.splitLimitR`, `std.exp`,
//! `std.log`, `std.pow`, `std.mantissa`, `std.exponent` and the trigonometric functions (Go's digits, module `gomath`).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::builtin;
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::trace::PathResolver;
use jrsonnet_evaluator::val::IndexableVal;
use jrsonnet_evaluator::{IStr, InitialContextBuilder, ObjValue, ObjValueBuilder, Source, Thunk, Val};
use jrsonnet_gcmodule::{Cc, Trace};
use jrsonnet_stdlib::{Settings, TracePrinter};

use crate::format::builtin_format;
use crate::parse_yaml::builtin_parse_yaml;
use crate::toml_doc::{builtin_manifest_toml, builtin_manifest_toml_ex};
use crate::yaml_doc::{builtin_manifest_yaml_doc, builtin_manifest_yaml_stream};

/// `std` for every file of one evaluation: jrsonnet's library with tack's replacements and `std.thisFile`.
#[derive(Trace, Clone)]
pub(crate) struct Std {
    library: ObjValue,
    settings: Cc<RefCell<Settings>>,
}

impl Std {
    /// The library, `std.trace` writing through `tracer`.
    pub(crate) fn new(tracer: Rc<dyn TracePrinter>) -> Self {
        let resolver = PathResolver::Absolute;
        let settings = Cc::new(RefCell::new(Settings {
            ext_vars: HashMap::new(),
            ext_natives: HashMap::new(),
            trace_printer: tracer,
            path_resolver: resolver,
        }));
        let mut library = ObjValueBuilder::new();
        library.with_super(jrsonnet_stdlib::stdlib_uncached(settings.clone()));
        library.method("abs", builtin_abs {});
        library.method("format", builtin_format {});
        library.method("max", builtin_max {});
        library.method("mergePatch", builtin_merge_patch {});
        library.method("manifestXmlJsonml", builtin_manifest_xml_jsonml {});
        library.method("min", builtin_min {});
        library.method("log2", builtin_log2 {});
        library.method("log10", builtin_log10 {});
        library.method("manifestYamlDoc", builtin_manifest_yaml_doc {});
        library.method("manifestYamlStream", builtin_manifest_yaml_stream {});
        library.method("manifestTomlEx", builtin_manifest_toml_ex {});
        library.method("manifestToml", builtin_manifest_toml {});
        library.method("slice", builtin_slice {});
        library.method("parseYaml", builtin_parse_yaml {});
        library.method("sin", builtin_sin {});
        library.method("cos", builtin_cos {});
        library.method("tan", builtin_tan {});
        library.method("asin", builtin_asin {});
        library.method("acos", builtin_acos {});
        library.method("atan", builtin_atan {});
        library.method("atan2", builtin_atan2 {});
        library.method("escapeStringJson", builtin_escape_string_json {});
        library.method("escapeStringPython", builtin_escape_string_python {});
        library.method("escapeStringBash", builtin_escape_string_bash {});
        library.method("escapeStringDollars", builtin_escape_string_dollars {});
        library.method(
            "trace",
            builtin_trace {
                settings: settings.clone(),
            },
        );
        library.method("base64", builtin_base64 {});
        library.method("assertEqual", builtin_assert_equal {});
        library.method("split", builtin_split {});
        library.method("splitLimit", builtin_splitlimit {});
        library.method("splitLimitR", builtin_splitlimitr {});
        library.method("exp", builtin_exp {});
        library.method("mantissa", builtin_mantissa {});
        library.method("exponent", builtin_exponent {});
        library.method("log", builtin_log {});
        library.method("pow", builtin_pow {});
        Self {
            library: library.build(),
            settings,
        }
    }

    /// Sets `std.extVar(name)`.
    pub(crate) fn set_ext_var(&self, name: IStr, value: TlaArg) {
        self.settings.borrow_mut().ext_vars.insert(name, value);
    }
}

impl jrsonnet_evaluator::ContextInitializer for Std {
    fn populate(&self, source: Source, builder: &mut InitialContextBuilder) {
        let mut std = ObjValueBuilder::new();
        std.with_super(self.library.clone());
        let path = source.source_path();
        let this_file = path.path().map_or_else(
            || path.to_string(),
            |p| self.settings.borrow().path_resolver.resolve(p),
        );
        std.field("thisFile").hide().value(this_file);
        builder.bind("std", Thunk::evaluated(Val::Obj(std.build())));
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `std.log2(x)` as go-jsonnet defines it: `std.log(x) / std.log(2)` (`std.log2(8)` is 2.9999999999999996).
#[builtin]
fn builtin_log2(x: f64) -> f64 {
    crate::gomath::log(x) / crate::gomath::log(2.0)
}

/// `std.log10(x)` as go-jsonnet defines it: `std.log(x) / std.log(10)` (`std.log10(1000)` is 2.9999999999999996).
#[builtin]
fn builtin_log10(x: f64) -> f64 {
    crate::gomath::log(x) / crate::gomath::log(10.0)
}

/// `std.sin(x)` with Go's digits.
#[builtin]
fn builtin_sin(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::sin(x))
}

/// `std.cos(x)` with Go's digits.
#[builtin]
fn builtin_cos(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::cos(x))
}

/// `std.tan(x)` with Go's digits.
#[builtin]
fn builtin_tan(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::tan(x))
}

/// `std.asin(x)` with Go's digits.
#[builtin]
fn builtin_asin(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::asin(x))
}

/// `std.acos(x)` with Go's digits.
#[builtin]
fn builtin_acos(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::acos(x))
}

/// `std.atan(x)` with Go's digits.
#[builtin]
fn builtin_atan(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::atan(x))
}

/// `std.escapeStringJson(str_)`: any value, turned into a string first (go-jsonnet's `std.toString`).
#[builtin]
fn builtin_escape_string_json(str_: Val) -> jrsonnet_evaluator::Result<String> {
    Ok(jrsonnet_evaluator::manifest::escape_string_json(
        &str_.to_string()?,
    ))
}

/// `std.escapeStringPython(str)`: as `std.escapeStringJson`.
#[builtin]
fn builtin_escape_string_python(str: Val) -> jrsonnet_evaluator::Result<String> {
    Ok(jrsonnet_evaluator::manifest::escape_string_json(
        &str.to_string()?,
    ))
}

/// `std.escapeStringBash(str_)`: any value, turned into a string first, in single quotes.
#[builtin]
fn builtin_escape_string_bash(str_: Val) -> jrsonnet_evaluator::Result<String> {
    Ok(jrsonnet_stdlib::builtin_escape_string_bash(
        str_.to_string()?.to_string(),
    ))
}

/// `std.escapeStringDollars(str_)`: any value, turned into a string first, `$` doubled.
#[builtin]
fn builtin_escape_string_dollars(str_: Val) -> jrsonnet_evaluator::Result<String> {
    Ok(jrsonnet_stdlib::builtin_escape_string_dollars(
        str_.to_string()?.to_string(),
    ))
}

/// `std.trace(str, rest)` as go-jsonnet: `str` must be a string, `rest` is required; the line goes to the
/// evaluation's trace printer with the call's location.
#[builtin(fields(settings: Cc<RefCell<Settings>>))]
fn builtin_trace(
    this: &builtin_trace,
    loc: jrsonnet_evaluator::function::CallLocation<'_>,
    str: IStr,
    rest: Thunk<Val>,
) -> jrsonnet_evaluator::Result<Val> {
    let printer = this.settings.borrow().trace_printer.clone();
    printer.print_trace(loc, str);
    rest.evaluate()
}

/// `std.mantissa(x)`: Go's `math.Frexp` fraction, in [0.5, 1).
#[builtin]
fn builtin_mantissa(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::frexp(x).0)
}

/// `std.exponent(x)`: Go's `math.Frexp` exponent.
#[builtin]
fn builtin_exponent(x: f64) -> jrsonnet_evaluator::Result<f64> {
    #[allow(clippy::cast_precision_loss)]
    go_double(crate::gomath::frexp(x).1 as f64)
}

/// `std.base64(input)` as go-jsonnet: a string whose characters are all below 256 (encoded as UTF-8), or an array
/// of integers from 0 to 255; anything else refused in go-jsonnet's words.
#[builtin]
fn builtin_base64(input: Val) -> jrsonnet_evaluator::Result<String> {
    let fail = |message: String| Err(ErrorKind::RuntimeError(message.into()).into());
    let out_of_range = |v: f64| {
        format!("base64 encountered invalid codepoint value in the array (must be 0 <= X <= 255), got {v}")
    };
    let bytes: Vec<u8> = match &input {
        Val::Str(s) => {
            let s = s.clone().into_flat();
            if let Some(c) = s.chars().find(|c| u32::from(*c) > 255) {
                return fail(out_of_range(f64::from(u32::from(c))));
            }
            s.as_bytes().to_vec()
        }
        Val::Arr(items) => {
            let mut bytes = Vec::with_capacity(items.len() as usize);
            for item in items.iter() {
                match item? {
                    Val::Num(n) if n.get().fract() == 0.0 => {
                        let v = n.get();
                        if !(0.0..=255.0).contains(&v) {
                            return fail(out_of_range(v));
                        }
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        bytes.push(v as u8);
                    }
                    other => {
                        return fail(format!(
                            "base64 encountered a non-integer value in the array, got {}",
                            other.value_type()
                        ));
                    }
                }
            }
            bytes
        }
        other => {
            return fail(format!(
                "base64 can only base64 encode strings / arrays of single bytes, got {}",
                other.value_type()
            ));
        }
    };
    Ok(base64_text(&bytes))
}

/// `std.assertEqual(a, b)` as go-jsonnet: `true`, or `Assertion failed. A != B` with strings JSON-escaped and
/// other values as `std.toString` writes them.
#[builtin]
fn builtin_assert_equal(a: Val, b: Val) -> jrsonnet_evaluator::Result<bool> {
    if jrsonnet_evaluator::val::equals(&a, &b)? {
        return Ok(true);
    }
    let text = |v: &Val| -> jrsonnet_evaluator::Result<String> {
        Ok(match v {
            Val::Str(s) => jrsonnet_evaluator::manifest::escape_string_json(&s.clone().into_flat()),
            other => other.to_string()?.to_string(),
        })
    };
    Err(ErrorKind::RuntimeError(format!("Assertion failed. {} != {}", text(&a)?, text(&b)?).into()).into())
}

/// Standard base64 with padding.
fn base64_text(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `std.split(str, c)`: an empty separator refused, as go-jsonnet.
#[builtin]
fn builtin_split(str: IStr, c: IStr) -> jrsonnet_evaluator::Result<Val> {
    if c.is_empty() {
        return Err(ErrorKind::RuntimeError(
            "std.split second parameter must have length 1 or greater, got 0".into(),
        )
        .into());
    }
    Ok(Val::Arr(jrsonnet_stdlib::builtin_split(str, c)))
}

/// The checks go-jsonnet makes on `std.splitLimit`/`std.splitLimitR`'s separator and count; the count of
/// splits (`None`: all).
fn split_count(function: &str, c: &str, maxsplits: f64) -> jrsonnet_evaluator::Result<Option<usize>> {
    if maxsplits.fract() != 0.0 {
        let got = tack_yaml::go_format_g(maxsplits);
        return Err(ErrorKind::RuntimeError(format!("Expected an integer, but got {got}").into()).into());
    }
    if maxsplits < -1.0 {
        let got = tack_yaml::go_format_g(maxsplits);
        return Err(ErrorKind::RuntimeError(
            format!("std.{function} third parameter should be -1 or non-negative, got {got}").into(),
        )
        .into());
    }
    if c.is_empty() {
        return Err(ErrorKind::RuntimeError(
            format!("std.{function} second parameter should have length 1 or greater, got 0").into(),
        )
        .into());
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok((maxsplits >= 0.0).then_some(maxsplits as usize))
}

/// `std.splitLimit(str, c, maxsplits)` with go-jsonnet's checks.
#[builtin]
fn builtin_splitlimit(str: IStr, c: IStr, maxsplits: f64) -> jrsonnet_evaluator::Result<Val> {
    let parts: Vec<Val> = match split_count("splitLimit", &c, maxsplits)? {
        Some(n) => str.splitn(n + 1, c.as_str()).map(Val::string).collect(),
        None => str.split(c.as_str()).map(Val::string).collect(),
    };
    Ok(Val::arr(parts))
}

/// `std.splitLimitR(str, c, maxsplits)` with go-jsonnet's checks.
#[builtin]
fn builtin_splitlimitr(str: IStr, c: IStr, maxsplits: f64) -> jrsonnet_evaluator::Result<Val> {
    let parts: Vec<Val> = match split_count("splitLimitR", &c, maxsplits)? {
        Some(n) => {
            let mut parts: Vec<Val> = str.rsplitn(n + 1, c.as_str()).map(Val::string).collect();
            parts.reverse();
            parts
        }
        None => str.split(c.as_str()).map(Val::string).collect(),
    };
    Ok(Val::arr(parts))
}

/// `std.exp(x)` with Go's digits (an overflow is an error).
#[builtin]
fn builtin_exp(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::exp(x))
}

/// `std.log(x)` with Go's digits.
#[builtin]
fn builtin_log(x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::log(x))
}

/// `std.pow(x, n)` with Go's digits.
#[builtin]
fn builtin_pow(x: f64, n: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::pow(x, n))
}

/// `std.atan2(y, x)` with Go's digits.
#[builtin]
fn builtin_atan2(y: f64, x: f64) -> jrsonnet_evaluator::Result<f64> {
    go_double(crate::gomath::atan2(y, x))
}

/// A result of a math function as go-jsonnet checks it: NaN is `Not a number`, an infinity `Overflow`.
fn go_double(x: f64) -> jrsonnet_evaluator::Result<f64> {
    if x.is_nan() {
        return Err(ErrorKind::RuntimeError("Not a number".into()).into());
    }
    if x.is_infinite() {
        return Err(ErrorKind::RuntimeError("Overflow".into()).into());
    }
    Ok(x)
}

/// A number argument, or go-jsonnet's error naming the function and the argument.
fn number_arg(value: &Val, what: &str) -> jrsonnet_evaluator::Result<f64> {
    match value {
        Val::Num(n) => Ok(n.get()),
        other => Err(ErrorKind::RuntimeError(
            format!("{what} expected number, got {}", other.value_type()).into(),
        )
        .into()),
    }
}

/// `std.slice(indexable, index, end, step)` with go-jsonnet's checks of the step (a negative step is refused
/// naming the slice with its defaults applied, a zero step with its own message).
#[builtin]
fn builtin_slice(
    indexable: IndexableVal,
    index: Option<Option<i32>>,
    end: Option<Option<i32>>,
    step: Option<Option<f64>>,
) -> jrsonnet_evaluator::Result<Val> {
    let (index, end) = (index.flatten(), end.flatten());
    let step = match step.flatten() {
        Some(step) => Some(indexable.checked_step(index, end, step)?),
        None => None,
    };
    indexable.slice(index, end, step).map(Val::from)
}

/// `std.abs(n)` as go-jsonnet defines it: `if n > 0 then n else -n` (`std.abs(0)` is `-0`).
#[builtin]
fn builtin_abs(n: Val) -> jrsonnet_evaluator::Result<f64> {
    let n = number_arg(&n, "std.abs")?;
    Ok(if n > 0.0 { n } else { -n })
}

/// `std.max(a, b)` as go-jsonnet defines it: `if a > b then a else b`.
#[builtin]
fn builtin_max(a: Val, b: Val) -> jrsonnet_evaluator::Result<f64> {
    let (a, b) = (
        number_arg(&a, "std.max first param")?,
        number_arg(&b, "std.max second param")?,
    );
    Ok(if a > b { a } else { b })
}

/// `std.min(a, b)` as go-jsonnet defines it: `if a < b then a else b`.
#[builtin]
fn builtin_min(a: Val, b: Val) -> jrsonnet_evaluator::Result<f64> {
    let (a, b) = (
        number_arg(&a, "std.min first param")?,
        number_arg(&b, "std.min second param")?,
    );
    Ok(if a < b { a } else { b })
}

/// `std.mergePatch(target, patch)` (RFC 7386) as go-jsonnet defines it: only visible fields take part, of the
/// target and of the patch alike (a hidden field of the patch is not applied).
// Interned strings never change once made: the sets' keys are stable.
#[allow(clippy::mutable_key_type)]
#[builtin]
fn builtin_merge_patch(target: Val, patch: Val) -> jrsonnet_evaluator::Result<Val> {
    let Val::Obj(patch) = patch else {
        return Ok(patch);
    };
    let target = match target {
        Val::Obj(obj) => obj,
        _ => ObjValue::empty(),
    };
    let target_fields: BTreeSet<IStr> = target.fields().into_iter().collect();
    let patch_fields: BTreeSet<IStr> = patch.fields().into_iter().collect();
    let mut out = ObjValueBuilder::new();
    for field in target_fields.union(&patch_fields) {
        if !patch_fields.contains(field) {
            if let Some(value) = target.get_lazy(field.clone()) {
                out.field(field.clone()).thunk(value);
            }
            continue;
        }
        let value = patch.get_or_bail(field.clone())?;
        if matches!(value, Val::Null) {
            continue;
        }
        let base = if target_fields.contains(field) {
            target.get_or_bail(field.clone())?
        } else {
            Val::Null
        };
        out.field(field.clone()).value(builtin_merge_patch(base, value)?);
    }
    Ok(Val::Obj(out.build()))
}

/// `std.manifestXmlJsonml(value)` as go-jsonnet defines it: text and attribute values written as they are
/// (no escaping), attributes in field order.
#[builtin]
fn builtin_manifest_xml_jsonml(value: Val) -> jrsonnet_evaluator::Result<String> {
    if !matches!(value, Val::Arr(_)) {
        return Err(ErrorKind::RuntimeError(
            format!("Expected a JSONML value (an array), got {}", value.value_type()).into(),
        )
        .into());
    }
    let mut out = String::new();
    write_jsonml(&mut out, &value)?;
    Ok(out)
}

fn write_jsonml(out: &mut String, value: &Val) -> jrsonnet_evaluator::Result<()> {
    let items = match value {
        Val::Str(s) => {
            out.push_str(&s.clone().into_flat());
            return Ok(());
        }
        Val::Arr(items) => items.iter().collect::<jrsonnet_evaluator::Result<Vec<Val>>>()?,
        other => {
            return Err(ErrorKind::RuntimeError(
                format!("Unexpected type {}, expected array", other.value_type()).into(),
            )
            .into());
        }
    };
    let Some(Val::Str(tag)) = items.first() else {
        return Err(
            ErrorKind::RuntimeError("JSONML: the tag (first element) must be a string".into()).into(),
        );
    };
    let tag = tag.clone().into_flat();
    let (attrs, children) = match items.get(1) {
        Some(Val::Obj(attrs)) => (Some(attrs), &items[2..]),
        _ => (None, &items[1..]),
    };
    out.push('<');
    out.push_str(&tag);
    if let Some(attrs) = attrs {
        let mut keys = attrs.fields();
        keys.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        for key in keys {
            let text = attrs.get_or_bail(key.clone())?.to_string()?;
            out.push_str(&format!(" {key}=\"{text}\""));
        }
    }
    out.push('>');
    for child in children {
        jrsonnet_evaluator::ensure_sufficient_stack(|| write_jsonml(out, child))?;
    }
    out.push_str("</");
    out.push_str(&tag);
    out.push('>');
    Ok(())
}
