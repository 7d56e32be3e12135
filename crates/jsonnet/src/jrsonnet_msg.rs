//! jrsonnet's errors in go-jsonnet's words (the first line of go-jsonnet's error output).

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::stdlib::format::FormatError;
use jrsonnet_evaluator::{Span, StackTraceElement};
use jrsonnet_ir::ConvertNumValueError;

/// A syntax or static-analysis error: where it is and go-jsonnet's message. `None` for runtime errors.
pub(crate) fn static_error(kind: &ErrorKind) -> Option<(Option<Span>, String)> {
    match kind {
        ErrorKind::ImportSyntaxError { error, .. } => {
            Some((Some(error.location.clone()), syntax_message(&error.message)))
        }
        ErrorKind::StaticAnalysisError(diagnostics) => {
            let first = diagnostics.first()?;
            Some((first.span.clone(), analysis_message(&first.message)))
        }
        _ => None,
    }
}

/// go-jsonnet's parser messages for the cases jrsonnet words differently.
fn syntax_message(message: &str) -> String {
    if message == "unexpected end of file"
        || message.ends_with("got end of file") && message.starts_with("expected expression")
    {
        return "Unexpected end of file".into();
    }
    if message.starts_with("expected ']', got") {
        return "Expected a comma before next array element".into();
    }
    if message.starts_with("expected '}', got") {
        return "Expected a comma before next field".into();
    }
    if let Some(token) = message.strip_prefix("expected field name, got ") {
        return format!("Unexpected: {} while parsing field definition", token_text(token));
    }
    if let Some(token) = message.strip_prefix("unexpected ") {
        return format!("Unexpected: {} while parsing terminal", token_text(token));
    }
    if message == "expected ';', got end of file" {
        return "Expected , or ; but got end of file".into();
    }
    if let Some(token) = message.strip_prefix("expected ')', got ") {
        return format!(
            "Expected a comma before next function argument, got {}",
            go_token(token)
        );
    }
    if let Some(token) = message.strip_prefix("expected ';', got ") {
        if let Some(name) = token.strip_prefix("identifier ") {
            return format!("Expected , or ; but got (IDENTIFIER, {name})");
        }
        if let Some(number) = token.strip_prefix("number ") {
            return format!(
                "Expected , or ; but got (NUMBER, \"{}\")",
                number.trim_matches('"')
            );
        }
    }
    message.to_string()
}

/// A token as go-jsonnet names it after `got`: `end of file`, `(IDENTIFIER, "x")`, `(NUMBER, "1")`, or the
/// quoted text of an operator or bracket.
fn go_token(token: &str) -> String {
    if token == "end of file" {
        return token.into();
    }
    if let Some(name) = token.strip_prefix("identifier ") {
        return format!("(IDENTIFIER, {:?})", name.trim_matches('"'));
    }
    if let Some(number) = token.strip_prefix("number ") {
        return format!("(NUMBER, {:?})", number.trim_matches('"'));
    }
    token_text(token)
}

/// A token as go-jsonnet quotes it: `','` becomes `","`.
fn token_text(token: &str) -> String {
    let bare = token
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(token);
    format!("{bare:?}")
}

/// go-jsonnet's static-analysis messages.
fn analysis_message(message: &str) -> String {
    if let Some(name) = message.strip_prefix("undefined local: ") {
        return format!("Unknown variable: {name}");
    }
    message.to_string()
}

/// Whether a syntax error is reported at the end of the file (go-jsonnet points there).
pub(crate) fn at_end_of_file(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::ImportSyntaxError { error, .. } if error.message.contains("end of file"))
}

/// The standard-library function the innermost frame of a trace calls (`function <builtin_join> call`).
fn builtin(frames: &[StackTraceElement]) -> &str {
    frames
        .iter()
        .find_map(|frame| frame.desc.strip_prefix("function <builtin_"))
        .and_then(|rest| rest.split_once('>'))
        .map_or("", |(name, _)| name)
}

/// go-jsonnet's message for a runtime error.
pub(crate) fn runtime_message(kind: &ErrorKind, frames: &[StackTraceElement]) -> String {
    let message = kind_message(kind, frames);
    let in_field_name = frames.iter().take(3).any(|f| f.desc == "evaluating field name");
    match message
        .strip_prefix("Unexpected type ")
        .and_then(|m| m.strip_suffix(", expected string"))
    {
        Some(got) if in_field_name => format!("Field name must be string, got {got}"),
        _ => message,
    }
}

fn kind_message(kind: &ErrorKind, frames: &[StackTraceElement]) -> String {
    use ErrorKind as K;
    match kind {
        K::RuntimeError(message) => runtime_text(message),
        K::ImportCallbackError(message) => message.clone(),
        K::AssertionFailed(message) if message.is_empty() => "Assertion failed".into(),
        K::AssertionFailed(message) => message.to_string(),
        K::StackOverflow | K::InfiniteRecursionDetected => "max stack frames exceeded.".into(),
        K::NoSuchField(name, _) => format!("Field does not exist: {name}"),
        K::IntrinsicNotFound(name) => format!("Field does not exist: {name}"),
        K::DivisionByZero => "Division by zero.".into(),
        K::ArrayBoundsError(index, length) => {
            format!("Index {index} out of bounds, not within [0, {length})")
        }
        K::StringBoundsError(index, length) => {
            format!("Index {index} out of bounds, not within [0, {length})")
        }
        K::UndefinedExternalVariable(name) => format!("Undefined external variable: {name}"),
        K::OnlyFunctionsCanBeCalledGot(t) => format!("Unexpected type {t}, expected function"),
        K::FunctionParameterNotBoundInCall(name, _) => format!("Missing argument: {name}"),
        K::UnknownFunctionParameter(name) => format!("function has no parameter {name}"),
        K::BindingParameterASecondTime(name) => format!("Argument {name} already provided"),
        K::TooManyArgsFunctionHas(n, _) => format!("Too many arguments, there can be at most {n}"),
        K::FieldMustBeStringGot(t) => format!("Field name must be string, got {t}"),
        K::DuplicateFieldName(name) => format!("Duplicate field name: {:?}", name.as_str()),
        K::ValueIndexMustBeTypeGot(indexed, _, got) => index_message(&indexed.to_string(), &got.to_string()),
        K::CantIndexInto(t) | K::ValueIsNotIndexable(t) => format!("Unexpected type {t}, expected object"),
        K::NoSuperFound | K::StandaloneSuper => "Attempt to use super when there is no super class.".into(),
        K::TypeMismatch(_, expected, got) => match expected.as_slice() {
            [one] => format!("Unexpected type {got}, expected {one}"),
            _ => format!("Unexpected type {got}"),
        },
        K::UnaryOperatorDoesNotOperateOnType(op, t) => {
            let expected = if op.to_string() == "!" {
                "boolean"
            } else {
                "number"
            };
            format!("Unexpected type {t}, expected {expected}")
        }
        K::BinaryOperatorDoesNotOperateOnValues(op, lhs, rhs) => {
            binary_message(&op.to_string(), &lhs.to_string(), &rhs.to_string())
        }
        K::ConvertNumValue(ConvertNumValueError::NonFinite) => "Overflow".into(),
        K::ConvertNumValue(ConvertNumValueError::Overflow | ConvertNumValueError::Underflow) => {
            "Overflow".into()
        }
        K::Format(FormatError::NotEnoughValues) => "Not enough values to format".into(),
        K::TypeError(e) => type_error(&e.to_string(), builtin(frames)),
        other => other.to_string(),
    }
}

/// go-jsonnet's message for an index of the wrong type: arrays and strings take numbers, objects strings; other
/// values cannot be indexed (named by go-jsonnet's internal type).
fn index_message(indexed: &str, got: &str) -> String {
    match indexed {
        "array" | "string" => format!("Unexpected type {got}, expected number"),
        "object" => format!("Unexpected type {got}, expected string"),
        other => {
            let go_type = match other {
                "null" => "valueNull",
                "boolean" => "valueBoolean",
                "number" => "valueNumber",
                _ => "valueFunction",
            };
            format!("Value non indexable: *jsonnet.{go_type}")
        }
    }
}

/// go-jsonnet's message for a binary operator on operands it does not take: `+` wants a number, array or
/// object on the left and the same type on the right; comparisons want two numbers, strings or arrays; the
/// arithmetic and bitwise operators two numbers.
fn binary_message(op: &str, lhs: &str, rhs: &str) -> String {
    match op {
        "+" if matches!(lhs, "number" | "array" | "object") => {
            format!("Unexpected type {rhs}, expected {lhs}")
        }
        "+" => format!("Unexpected type {lhs}"),
        "&&" | "||" if lhs != "boolean" => format!("Unexpected type {lhs}, expected boolean"),
        "&&" | "||" => format!("Unexpected type {rhs}, expected boolean"),
        "<" | "<=" | ">" | ">=" if lhs == rhs => format!("Unexpected type {lhs}"),
        "<" | "<=" | ">" | ">=" => format!("Unexpected type {rhs}, expected {lhs}"),
        _ if lhs != "number" => format!("Unexpected type {lhs}, expected number"),
        _ => format!("Unexpected type {rhs}, expected number"),
    }
}

/// go-jsonnet's words for the runtime errors the standard library words differently.
fn runtime_text(message: &str) -> String {
    if let Some(text) = message
        .strip_suffix(" is not a base 10 integer")
        .and_then(|t| t.strip_prefix('"'))
        .and_then(|t| t.strip_suffix('"'))
    {
        return format!("{text} is not a base 10 integer");
    }
    match message {
        "cannot test equality of functions" => "Cannot test equality of functions".into(),
        "shift by negative exponent" => "Shift by negative exponent.".into(),
        "expected non-empty array" => "Expected at least one element in array. Got none".into(),
        "`from` string must not be zero length" => "'from' string must not be zero length.".into(),
        "tried to manifest function" => "couldn't manifest function as JSON".into(),
        other => other.to_string(),
    }
}

/// A type error of a standard-library argument (`expected T, got U`, or a list of them for a union), in the
/// words go-jsonnet uses for `function`.
fn type_error(text: &str, function: &str) -> String {
    if text.starts_with("number out of bounds") && function == "sqrt" {
        return "Not a number".into();
    }
    let got = text
        .lines()
        .find_map(|line| line.rsplit_once(", got ").map(|(_, got)| got.trim()))
        .unwrap_or("");
    let got = got.split(' ').next().unwrap_or("");
    match function {
        "join" => return format!("join first parameter should be string or array, got {got}"),
        "map" => return format!("std.map second param must be array / string, got {got}"),
        "split" => return format!("std.split first parameter must be a String, got {got}"),
        "substr" => return format!("substr first parameter should be a string, got {got}"),
        _ => {}
    }
    if text.starts_with("every failed from") {
        return format!("Unexpected type {got}");
    }
    match text
        .strip_prefix("expected ")
        .and_then(|rest| rest.split_once(", got "))
    {
        Some((expected, got)) => {
            // jrsonnet's argument types in go-jsonnet's words: a bounded number is a number, a char a string.
            let expected = match expected {
                e if e.starts_with("BoundedNumber<") => "number",
                "char" => "string",
                e => e,
            };
            format!("Unexpected type {got}, expected {expected}")
        }
        None => text.to_string(),
    }
}
