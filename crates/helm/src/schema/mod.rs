//! `values.schema.json` validation with Helm's error text. Helm v4 validates with
//! `santhosh-tekuri/jsonschema/v6`; this module follows its keyword order, its error tree and its English
//! messages (`- at '/replicas': got string, want integer`, numbers printed with thousands separators and
//! `×10ⁿ` exponents as `golang.org/x/text` prints them).
//!
//! Supported: `type`, `enum`, `const`, `$ref` to the same document (`#`, `#/definitions/x`, `#/$defs/x`),
//! `properties`, `patternProperties`, `additionalProperties`, `required`, `minProperties`, `maxProperties`,
//! `propertyNames`, `dependentRequired`, `dependencies`, `items` (schema or, before draft 2020, a list),
//! `prefixItems`, `additionalItems`, `minItems`, `maxItems`, `uniqueItems`, `contains`, `minLength`,
//! `maxLength`, `pattern`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (number, or boolean in
//! draft 4), `multipleOf`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, and `format` where the
//! library asserts it (drafts before 2019-09; see [`format`]). Where Helm walks a Go map (the properties of
//! one object), its error order is random; here it is key order.

mod format;

use std::collections::HashMap;

use tack_gotemplate::Value;

/// A schema that cannot be used, or the validation failures, worded as Helm prints them (each failure a
/// `- at '/path': message` line, nested causes indented, ending with a newline).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// Validates `values` against the schema text (the contents of `values.schema.json`).
pub fn validate(schema: &str, values: &Value) -> Result<(), SchemaError> {
    let root = crate::json::parse(schema).map_err(|e| SchemaError(e.0))?;
    let draft = match &root {
        Value::Map(m) => match m.borrow().get("$schema") {
            Some(Value::String(s)) if s.contains("draft-04") => 4,
            Some(Value::String(s)) if s.contains("draft-06") => 6,
            Some(Value::String(s)) if s.contains("draft-07") => 7,
            Some(Value::String(s)) if s.contains("2019-09") => 2019,
            _ => 2020,
        },
        _ => 2020,
    };
    let v = Validator {
        root: &root,
        draft,
        regexes: std::cell::RefCell::new(HashMap::new()),
    };
    match v.validate(&root, values, &[], 0)? {
        None => Ok(()),
        Some(e) => {
            let causes = if e.group { e.causes } else { vec![e] };
            let mut out = String::new();
            for c in &causes {
                c.display(&mut out, 1);
            }
            // The library's text starts with a line break; Helm removes its first line and adds one at the end.
            Err(SchemaError(format!("{}\n", out.trim_start_matches('\n'))))
        }
    }
}

/// One failure: where, what, and the failures under it.
#[derive(Debug, Clone)]
struct Failure {
    location: Vec<String>,
    message: String,
    causes: Vec<Failure>,
    /// A `validation failed` group of several failures of one schema.
    group: bool,
    /// A `$ref` wrapper (shown only when it has several causes).
    reference: bool,
}

impl Failure {
    fn new(location: &[String], message: String) -> Self {
        Failure {
            location: location.to_vec(),
            message,
            causes: Vec::new(),
            group: false,
            reference: false,
        }
    }

    fn display(&self, out: &mut String, indent: usize) {
        let mut indent = indent;
        if !(self.reference && self.causes.len() == 1) {
            out.push('\n');
            for _ in 0..indent.saturating_sub(1) {
                out.push_str("  ");
            }
            out.push_str("- at ");
            out.push_str(&quote(&json_pointer(&self.location)));
            out.push_str(": ");
            out.push_str(&self.message);
            indent += 1;
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

fn json_pointer(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The library's `quote`: Go's `%q` with single quotes.
fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

struct Validator<'a> {
    root: &'a Value,
    draft: u32,
    regexes: std::cell::RefCell<HashMap<String, Option<regex::Regex>>>,
}

type Outcome = Result<Option<Failure>, SchemaError>;

/// Deepest `$ref` chain followed (a cycle is an error).
const MAX_REF_DEPTH: usize = 200;

fn get<'m>(m: &'m tack_gotemplate::Map, k: &str) -> Option<&'m Value> {
    m.get(k)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) | Value::Bytes(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn as_usize(v: Option<&Value>) -> Option<usize> {
    v.and_then(as_f64).filter(|f| *f >= 0.0).map(|f| f as usize)
}

impl Validator<'_> {
    fn validate(&self, schema: &Value, v: &Value, loc: &[String], depth: usize) -> Outcome {
        let s = match schema {
            Value::Bool(true) => return Ok(None),
            Value::Bool(false) => return Ok(Some(Failure::new(loc, "false schema".to_string()))),
            Value::Map(m) => m.borrow().clone(),
            _ => return Ok(None),
        };
        if depth > MAX_REF_DEPTH {
            return Err(SchemaError("jsonschema: reference cycle".to_string()));
        }
        if let Some(t) = get(&s, "type") {
            let want: Vec<&str> = match t {
                Value::String(x) => vec![x.as_ref()],
                Value::List(l) => l
                    .iter()
                    .filter_map(|x| {
                        if let Value::String(x) = x {
                            Some(x.as_ref())
                        } else {
                            None
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let got = json_type(v);
            let integral = as_f64(v).is_some_and(|f| f.is_finite() && f.fract() == 0.0);
            if !want.is_empty()
                && !want
                    .iter()
                    .any(|w| *w == got || (*w == "integer" && got == "number" && integral))
            {
                let order = [
                    "null", "boolean", "number", "integer", "string", "array", "object",
                ];
                let want: Vec<&str> = order.iter().copied().filter(|o| want.contains(o)).collect();
                return Ok(Some(Failure::new(
                    loc,
                    format!("got {got}, want {}", want.join(" or ")),
                )));
            }
        }
        if let Some(c) = get(&s, "const")
            && !equals(v, c)
        {
            let msg = match c {
                Value::List(_) | Value::Map(_) => "'const' failed".to_string(),
                other => format!("value must be {}", display(other)),
            };
            return Ok(Some(Failure::new(loc, msg)));
        }
        if let Some(Value::List(items)) = get(&s, "enum")
            && !items.iter().any(|i| equals(v, i))
        {
            let primitive = items.iter().all(|i| !matches!(i, Value::List(_) | Value::Map(_)));
            let msg = if !primitive {
                "'enum' failed".to_string()
            } else if items.len() == 1 {
                format!("value must be {}", display(&items[0]))
            } else {
                format!(
                    "value must be one of {}",
                    items.iter().map(display).collect::<Vec<_>>().join(", ")
                )
            };
            return Ok(Some(Failure::new(loc, msg)));
        }
        if self.draft < 2019
            && let (Some(Value::String(f)), Value::String(text)) = (get(&s, "format"), v)
            && let Some(Err(why)) = crate::schema::format::check(f, text)
        {
            return Ok(Some(Failure::new(
                loc,
                format!("{} is not valid {f}: {why}", quote(text)),
            )));
        }
        let mut errors = Vec::new();
        if let Some(Value::String(r)) = get(&s, "$ref") {
            let target = self.resolve(r)?;
            let err = self.validate(&target, v, loc, depth + 1)?.map(|e| {
                let mut f = Failure::new(loc, "validation failed".to_string());
                f.reference = true;
                f.causes = if e.group { e.causes } else { vec![e] };
                f
            });
            if self.draft < 2019 {
                return Ok(err);
            }
            errors.extend(err);
        }
        match v {
            Value::Map(m) => self.object(&s, &m.borrow(), loc, depth, &mut errors)?,
            Value::List(items) => self.array(&s, items, loc, depth, &mut errors)?,
            Value::String(st) => self.string(&s, st, loc, &mut errors)?,
            _ => {
                if let Some(n) = as_f64(v) {
                    self.number(&s, n, loc, &mut errors);
                }
            }
        }
        self.conditions(&s, v, loc, depth, &mut errors)?;
        Ok(match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => {
                let mut g = Failure::new(loc, "validation failed".to_string());
                g.group = true;
                g.causes = errors;
                Some(g)
            }
        })
    }

    /// A `$ref` within the document.
    fn resolve(&self, r: &str) -> Result<Value, SchemaError> {
        let Some(fragment) = r.strip_prefix('#') else {
            return Err(SchemaError(format!(
                "jsonschema: $ref {} is not supported (only references within values.schema.json)",
                quote(r)
            )));
        };
        let mut cur = self.root.clone();
        for tok in fragment.split('/').skip(1) {
            let tok = percent_decode(tok).replace("~1", "/").replace("~0", "~");
            let next = match &cur {
                Value::Map(m) => m.borrow().get(&tok).cloned(),
                Value::List(l) => tok.parse::<usize>().ok().and_then(|i| l.get(i).cloned()),
                _ => None,
            };
            cur = next.ok_or_else(|| SchemaError(format!("jsonschema: $ref {} not found", quote(r))))?;
        }
        Ok(cur)
    }

    fn regex(&self, pattern: &str) -> Result<regex::Regex, SchemaError> {
        let mut cache = self.regexes.borrow_mut();
        let re = cache
            .entry(pattern.to_string())
            .or_insert_with(|| regex::Regex::new(pattern).ok())
            .clone();
        re.ok_or_else(|| {
            SchemaError(format!(
                "jsonschema: invalid regular expression {}",
                quote(pattern)
            ))
        })
    }

    fn object(
        &self,
        s: &tack_gotemplate::Map,
        obj: &tack_gotemplate::Map,
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        object_size_and_required(s, obj, loc, errors);
        self.object_dependencies(s, obj, loc, depth, errors)?;
        self.object_properties(s, obj, loc, depth, errors)?;
        if self.draft == 4 {
            return Ok(());
        }
        self.property_names(s, obj, loc, depth, errors)?;
        if self.draft == 6 {
            return Ok(());
        }
        dependent_required(s, obj, loc, errors);
        Ok(())
    }

    /// `dependencies`: a list of property names required when a property exists, or a schema the whole object
    /// must then satisfy.
    fn object_dependencies(
        &self,
        s: &tack_gotemplate::Map,
        obj: &tack_gotemplate::Map,
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        if let Some(Value::Map(deps)) = get(s, "dependencies") {
            for (p, dep) in deps.borrow().iter() {
                if !obj.contains_key(p) {
                    continue;
                }
                match dep {
                    Value::List(names) => required_with(obj, p, names, loc, errors),
                    other => errors.extend(self.validate(other, &Value::map(obj.clone()), loc, depth + 1)?),
                }
            }
        }
        Ok(())
    }

    /// `properties`, `patternProperties` and `additionalProperties`.
    fn object_properties(
        &self,
        s: &tack_gotemplate::Map,
        obj: &tack_gotemplate::Map,
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        let props = match get(s, "properties") {
            Some(Value::Map(p)) => p.borrow().clone(),
            _ => Default::default(),
        };
        let pattern_props = match get(s, "patternProperties") {
            Some(Value::Map(p)) => p.borrow().clone(),
            _ => Default::default(),
        };
        let mut additional = Vec::new();
        for (name, pv) in obj {
            let mut path = loc.to_vec();
            path.push(name.clone());
            let mut evaluated = false;
            if let Some(ps) = props.get(name) {
                evaluated = true;
                errors.extend(self.validate(ps, pv, &path, depth + 1)?);
            }
            for (pattern, ps) in &pattern_props {
                if self.regex(pattern)?.is_match(name) {
                    evaluated = true;
                    errors.extend(self.validate(ps, pv, &path, depth + 1)?);
                }
            }
            if !evaluated {
                match get(s, "additionalProperties") {
                    Some(Value::Bool(false)) => additional.push(name.clone()),
                    Some(a @ Value::Map(_)) => errors.extend(self.validate(a, pv, &path, depth + 1)?),
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            errors.push(Failure::new(
                loc,
                format!("additional properties {} not allowed", join_quoted(&additional)),
            ));
        }
        Ok(())
    }

    /// `propertyNames` (draft 6 and later).
    fn property_names(
        &self,
        s: &tack_gotemplate::Map,
        obj: &tack_gotemplate::Map,
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        if let Some(pn) = get(s, "propertyNames") {
            for name in obj.keys() {
                if self
                    .validate(pn, &Value::string(name.as_str()), &[], depth + 1)?
                    .is_some()
                {
                    errors.push(Failure::new(loc, format!("invalid propertyName {}", quote(name))));
                }
            }
        }
        Ok(())
    }

    fn array(
        &self,
        s: &tack_gotemplate::Map,
        arr: &[Value],
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        count_bounds(s, "Items", arr.len(), loc, errors);
        if matches!(get(s, "uniqueItems"), Some(Value::Bool(true))) && arr.len() > 1 {
            'dup: for i in 1..arr.len() {
                for j in 0..i {
                    if equals(&arr[i], &arr[j]) {
                        errors.push(Failure::new(
                            loc,
                            format!("items at {} and {} are equal", fmt_int(j), fmt_int(i)),
                        ));
                        break 'dup;
                    }
                }
            }
        }
        let item_path = |i: usize| {
            let mut p = loc.to_vec();
            p.push(i.to_string());
            p
        };
        let mut evaluated = 0;
        if self.draft < 2020 {
            match get(s, "items") {
                Some(Value::List(schemas)) => {
                    evaluated = schemas.len().min(arr.len());
                    for i in 0..evaluated {
                        errors.extend(self.validate(&schemas[i], &arr[i], &item_path(i), depth + 1)?);
                    }
                }
                Some(items) => {
                    for (i, item) in arr.iter().enumerate() {
                        errors.extend(self.validate(items, item, &item_path(i), depth + 1)?);
                    }
                    evaluated = arr.len();
                }
                None => {}
            }
            match get(s, "additionalItems") {
                Some(Value::Bool(false)) if evaluated != arr.len() => {
                    errors.push(Failure::new(
                        loc,
                        format!(
                            "last {} additionalItem(s) not allowed",
                            fmt_int(arr.len() - evaluated)
                        ),
                    ));
                }
                Some(a @ Value::Map(_)) => {
                    for (i, item) in arr.iter().enumerate().skip(evaluated) {
                        errors.extend(self.validate(a, item, &item_path(i), depth + 1)?);
                    }
                }
                _ => {}
            }
        } else {
            if let Some(Value::List(prefix)) = get(s, "prefixItems") {
                evaluated = prefix.len().min(arr.len());
                for i in 0..evaluated {
                    errors.extend(self.validate(&prefix[i], &arr[i], &item_path(i), depth + 1)?);
                }
            }
            if let Some(items) = get(s, "items") {
                for (i, item) in arr.iter().enumerate().skip(evaluated) {
                    errors.extend(self.validate(items, item, &item_path(i), depth + 1)?);
                }
            }
        }
        if let Some(c) = get(s, "contains") {
            let mut failures = Vec::new();
            let mut matched = 0;
            for (i, item) in arr.iter().enumerate() {
                match self.validate(c, item, &item_path(i), depth + 1)? {
                    Some(f) => failures.push(f),
                    None => matched += 1,
                }
            }
            if matched == 0 && get(s, "minContains").is_none() {
                let mut f = Failure::new(loc, "no items match contains schema".to_string());
                f.causes = failures;
                errors.push(f);
            }
        }
        Ok(())
    }

    fn string(
        &self,
        s: &tack_gotemplate::Map,
        st: &str,
        loc: &[String],
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        let len = st.chars().count();
        count_bounds(s, "Length", len, loc, errors);
        if let Some(Value::String(p)) = get(s, "pattern")
            && !self.regex(p)?.is_match(st)
        {
            errors.push(Failure::new(
                loc,
                format!("{} does not match pattern {}", quote(st), quote(p)),
            ));
        }
        Ok(())
    }

    fn number(&self, s: &tack_gotemplate::Map, n: f64, loc: &[String], errors: &mut Vec<Failure>) {
        let num = |k: &str| get(s, k).and_then(as_f64);
        let mut minimum = num("minimum");
        let mut maximum = num("maximum");
        let mut ex_min = num("exclusiveMinimum");
        let mut ex_max = num("exclusiveMaximum");
        if self.draft == 4 {
            if matches!(get(s, "exclusiveMinimum"), Some(Value::Bool(true))) {
                ex_min = minimum.take();
            }
            if matches!(get(s, "exclusiveMaximum"), Some(Value::Bool(true))) {
                ex_max = maximum.take();
            }
        }
        let mut check = |name: &str, want: Option<f64>, fails: &dyn Fn(f64) -> bool| {
            if let Some(w) = want
                && fails(w)
            {
                errors.push(Failure::new(
                    loc,
                    format!("{name}: got {}, want {}", fmt_float(n), fmt_float(w)),
                ));
            }
        };
        check("minimum", minimum, &|w| n < w);
        check("maximum", maximum, &|w| n > w);
        check("exclusiveMinimum", ex_min, &|w| n <= w);
        check("exclusiveMaximum", ex_max, &|w| n >= w);
        check("multipleOf", num("multipleOf"), &|w| {
            w != 0.0 && !is_multiple(n, w)
        });
    }

    fn conditions(
        &self,
        s: &tack_gotemplate::Map,
        v: &Value,
        loc: &[String],
        depth: usize,
        errors: &mut Vec<Failure>,
    ) -> Result<(), SchemaError> {
        if let Some(not) = get(s, "not")
            && self.validate(not, v, loc, depth + 1)?.is_none()
        {
            errors.push(Failure::new(loc, "'not' failed".to_string()));
        }
        if let Some(Value::List(all)) = get(s, "allOf") {
            let mut failures = Vec::new();
            for sub in all.iter() {
                failures.extend(self.validate(sub, v, loc, depth + 1)?);
            }
            if !failures.is_empty() {
                let mut f = Failure::new(loc, "'allOf' failed".to_string());
                f.causes = failures;
                errors.push(f);
            }
        }
        if let Some(Value::List(any)) = get(s, "anyOf") {
            let mut failures = Vec::new();
            let mut matched = false;
            for sub in any.iter() {
                match self.validate(sub, v, loc, depth + 1)? {
                    Some(f) => failures.push(f),
                    None => {
                        matched = true;
                        break;
                    }
                }
            }
            if !matched {
                let mut f = Failure::new(loc, "'anyOf' failed".to_string());
                f.causes = failures;
                errors.push(f);
            }
        }
        if let Some(Value::List(one)) = get(s, "oneOf") {
            let mut failures = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sub) in one.iter().enumerate() {
                match self.validate(sub, v, loc, depth + 1)? {
                    Some(f) => {
                        if matched.is_none() {
                            failures.push(f);
                        }
                    }
                    None => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(Failure::new(
                                loc,
                                format!(
                                    "'oneOf' failed, subschemas {}, {} matched",
                                    fmt_int(first),
                                    fmt_int(i)
                                ),
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                let mut f = Failure::new(loc, "'oneOf' failed, none matched".to_string());
                f.causes = failures;
                errors.push(f);
            }
        }
        if let Some(cond) = get(s, "if") {
            if self.validate(cond, v, loc, depth + 1)?.is_none() {
                if let Some(then) = get(s, "then") {
                    errors.extend(self.validate(then, v, loc, depth + 1)?);
                }
            } else if let Some(els) = get(s, "else") {
                errors.extend(self.validate(els, v, loc, depth + 1)?);
            }
        }
        Ok(())
    }
}

fn missing_of(obj: &tack_gotemplate::Map, names: &[Value]) -> Vec<String> {
    names
        .iter()
        .filter_map(|r| {
            if let Value::String(r) = r {
                Some(r.to_string())
            } else {
                None
            }
        })
        .filter(|r| !obj.contains_key(r))
        .collect()
}

fn is_multiple(n: f64, w: f64) -> bool {
    let q = n / w;
    q.is_finite() && (q - q.round()).abs() < 1e-9
}

fn join_quoted(items: &[String]) -> String {
    items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(x);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// JSON equality (numbers by value).
fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equals(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// The library's `display` of a primitive: strings quoted, numbers as `%v` prints them.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::List(_) | Value::Map(_) => "value".to_string(),
        Value::Nil => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        other => as_f64(other).map(tack_yaml::go_format_g).unwrap_or_default(),
    }
}

/// An integer as `golang.org/x/text/message` prints `%d` in English: thousands separated by commas.
fn fmt_int(n: usize) -> String {
    group_thousands(&n.to_string())
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A float64 as `golang.org/x/text/message` prints `%v` in English: Go's shortest `%g`, the integer part with
/// thousands separators, and exponents as `×10⁰⁶`.
fn fmt_float(f: f64) -> String {
    let g = tack_yaml::go_format_g(f);
    if let Some((mant, exp)) = g.split_once('e') {
        let (sign, digits) = match exp.as_bytes().first() {
            Some(b'-') => ("⁻", &exp[1..]),
            Some(b'+') => ("", &exp[1..]),
            _ => ("", exp),
        };
        let sup: String = digits
            .chars()
            .map(|c| match c {
                '0' => '⁰',
                '1' => '¹',
                '2' => '²',
                '3' => '³',
                '4' => '⁴',
                '5' => '⁵',
                '6' => '⁶',
                '7' => '⁷',
                '8' => '⁸',
                _ => '⁹',
            })
            .collect();
        return format!("{mant}×10{sign}{sup}");
    }
    match g.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_thousands(int)),
        None => group_thousands(&g),
    }
}

/// `minProperties`, `maxProperties` and `required`.
fn object_size_and_required(
    s: &tack_gotemplate::Map,
    obj: &tack_gotemplate::Map,
    loc: &[String],
    errors: &mut Vec<Failure>,
) {
    count_bounds(s, "Properties", obj.len(), loc, errors);
    if let Some(Value::List(req)) = get(s, "required") {
        let missing: Vec<String> = req
            .iter()
            .filter_map(|r| {
                if let Value::String(r) = r {
                    Some(r.to_string())
                } else {
                    None
                }
            })
            .filter(|r| !obj.contains_key(r))
            .collect();
        if missing.len() == 1 {
            errors.push(Failure::new(
                loc,
                format!("missing property {}", quote(&missing[0])),
            ));
        } else if !missing.is_empty() {
            errors.push(Failure::new(
                loc,
                format!("missing properties {}", join_quoted(&missing)),
            ));
        }
    }
}

/// `dependentRequired` (draft 2019-09 and later).
fn dependent_required(
    s: &tack_gotemplate::Map,
    obj: &tack_gotemplate::Map,
    loc: &[String],
    errors: &mut Vec<Failure>,
) {
    if let Some(Value::Map(dr)) = get(s, "dependentRequired") {
        for (p, names) in dr.borrow().iter() {
            if let (true, Value::List(names)) = (obj.contains_key(p), names) {
                required_with(obj, p, names, loc, errors);
            }
        }
    }
}

/// `min<what>` and `max<what>` (Items, Properties, Length) against `len`, in Helm's validator's words.
fn count_bounds(s: &tack_gotemplate::Map, what: &str, len: usize, loc: &[String], errors: &mut Vec<Failure>) {
    if let Some(min) = as_usize(get(s, &format!("min{what}")))
        && len < min
    {
        errors.push(Failure::new(
            loc,
            format!("min{what}: got {}, want {}", fmt_int(len), fmt_int(min)),
        ));
    }
    if let Some(max) = as_usize(get(s, &format!("max{what}")))
        && len > max
    {
        errors.push(Failure::new(
            loc,
            format!("max{what}: got {}, want {}", fmt_int(len), fmt_int(max)),
        ));
    }
}

/// `names` must all be present when `present` is (`dependencies` with a list, `dependentRequired`).
fn required_with(
    obj: &tack_gotemplate::Map,
    present: &str,
    names: &[Value],
    loc: &[String],
    errors: &mut Vec<Failure>,
) {
    let missing = missing_of(obj, names);
    if !missing.is_empty() {
        errors.push(Failure::new(
            loc,
            format!(
                "properties {} required, if {} exists",
                join_quoted(&missing),
                quote(present)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_x_text_prints_them() {
        assert_eq!(fmt_float(5.0), "5");
        assert_eq!(fmt_float(1e6), "1×10⁰⁶");
        assert_eq!(fmt_float(-1e9), "-1×10⁰⁹");
        assert_eq!(fmt_float(1e-5), "1×10⁻⁰⁵");
        assert_eq!(fmt_float(123456.789), "123,456.789");
        assert_eq!(fmt_float(-5000.0), "-5,000");
        assert_eq!(fmt_float(1e100), "1×10¹⁰⁰");
        assert_eq!(fmt_int(100000), "100,000");
    }
}
