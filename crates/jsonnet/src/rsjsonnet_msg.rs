//! rsjsonnet-lang's errors in go-jsonnet's words (the first line of go-jsonnet's error output).

use std::collections::BTreeSet;

use rsjsonnet_lang::lexer::LexError;
use rsjsonnet_lang::parser::{ActualToken, ExpectedToken, ParseError};
use rsjsonnet_lang::program::{AnalyzeError, EvalErrorKind, LoadError};
use rsjsonnet_lang::span::SpanId;
use rsjsonnet_lang::token::STokenKind;

/// The location and message of a lexing, parsing or static-analysis error; `text_of` gives the source text of a
/// span (the unexpected token).
pub(crate) fn load_error(error: &LoadError, text_of: impl Fn(SpanId) -> String) -> (Option<SpanId>, String) {
    match error {
        LoadError::Lex(e) => lex_error(e),
        LoadError::Parse(ParseError::Expected {
            span,
            expected,
            instead,
        }) => (Some(*span), parse_message(expected, instead, &text_of(*span))),
        LoadError::Analyze(e) => analyze_error(e),
    }
}

/// go-jsonnet's parser messages for the common cases, rsjsonnet-lang's description otherwise.
fn parse_message(expected: &BTreeSet<ExpectedToken>, instead: &ActualToken, text: &str) -> String {
    let has = |t: ExpectedToken| expected.contains(&t);
    let simple = |k: STokenKind| expected.contains(&ExpectedToken::Simple(k));
    if *instead == ActualToken::EndOfFile && has(ExpectedToken::Expr) {
        return "Unexpected end of file".into();
    }
    if *instead != ActualToken::EndOfFile {
        if has(ExpectedToken::Expr) {
            return format!("Unexpected: {text:?} while parsing terminal");
        }
        if simple(STokenKind::Assert) && simple(STokenKind::Local) && has(ExpectedToken::Ident) {
            return format!("Unexpected: {text:?} while parsing field definition");
        }
    }
    if has(ExpectedToken::BinaryOp) && simple(STokenKind::Comma) {
        if simple(STokenKind::RightBracket) {
            return "Expected a comma before next array element".into();
        }
        if simple(STokenKind::RightBrace) {
            return "Expected a comma before next field".into();
        }
        if simple(STokenKind::Semicolon) {
            match instead {
                ActualToken::Ident(name) => return format!("Expected , or ; but got (IDENTIFIER, {name:?})"),
                ActualToken::Number => return format!("Expected , or ; but got (NUMBER, {text:?})"),
                _ => {}
            }
        }
    }
    format!("Expected one of {expected:?}, got {instead:?}")
}

fn lex_error(error: &LexError) -> (Option<SpanId>, String) {
    match error {
        LexError::InvalidChar { span, chr } => (Some(*span), format!("Could not lex the character '{chr}'")),
        LexError::UnfinishedString { span } => (Some(*span), "Unterminated String".into()),
        LexError::UnfinishedMultilineComment { span } => {
            (Some(*span), "Multi-line comment has no terminating */".into())
        }
        other => (None, format!("{other:?}")),
    }
}

fn analyze_error(error: &AnalyzeError) -> (Option<SpanId>, String) {
    match error {
        AnalyzeError::UnknownVariable { span, name } => (Some(*span), format!("Unknown variable: {name}")),
        AnalyzeError::SelfOutsideObject { self_span } => {
            (Some(*self_span), "Can't use self outside of an object.".into())
        }
        AnalyzeError::SuperOutsideObject { super_span } => {
            (Some(*super_span), "Can't use super outside of an object.".into())
        }
        AnalyzeError::DollarOutsideObject { dollar_span } => {
            (Some(*dollar_span), "No top-level object found.".into())
        }
        AnalyzeError::RepeatedLocalName {
            repeated_span, name, ..
        } => (Some(*repeated_span), format!("Duplicate local var: {name}")),
        AnalyzeError::RepeatedFieldName {
            repeated_span, name, ..
        } => (Some(*repeated_span), format!("Duplicate field: {name}")),
        AnalyzeError::RepeatedParamName {
            repeated_span, name, ..
        } => (Some(*repeated_span), format!("Duplicate parameter: {name}")),
        AnalyzeError::PositionalArgAfterNamed { arg_span } => (
            Some(*arg_span),
            "Positional argument after a named argument is not allowed".into(),
        ),
        AnalyzeError::TextBlockAsImportPath { span } => {
            (Some(*span), "Cannot use text blocks in import statements.".into())
        }
        AnalyzeError::ComputedImportPath { span } => (Some(*span), "Computed imports are not allowed".into()),
    }
}

/// The source location an error kind points at, when it has one.
pub(crate) fn eval_span(kind: &EvalErrorKind) -> Option<SpanId> {
    match kind {
        EvalErrorKind::ExplicitError { span, .. }
        | EvalErrorKind::AssertFailed { span, .. }
        | EvalErrorKind::UnknownObjectField { span, .. }
        | EvalErrorKind::NumericIndexOutOfRange { span, .. }
        | EvalErrorKind::InvalidIndexedType { span, .. }
        | EvalErrorKind::CondIsNotBool { span, .. }
        | EvalErrorKind::RepeatedFieldName { span, .. }
        | EvalErrorKind::FieldNameIsNotString { span, .. }
        | EvalErrorKind::ObjectIndexIsNotString { span, .. }
        | EvalErrorKind::ForSpecValueIsNotArray { span, .. }
        | EvalErrorKind::SuperWithoutSuperObject { span }
        | EvalErrorKind::ImportFailed { span, .. } => Some(*span),
        EvalErrorKind::DivByZero { span }
        | EvalErrorKind::InvalidBinaryOpTypes { span, .. }
        | EvalErrorKind::CalleeIsNotFunction { span, .. }
        | EvalErrorKind::NumberOverflow { span }
        | EvalErrorKind::NumberNan { span }
        | EvalErrorKind::ShiftByNegative { span } => *span,
        _ => None,
    }
}

/// go-jsonnet's message for a runtime error.
pub(crate) fn eval_message(kind: &EvalErrorKind) -> String {
    match kind {
        EvalErrorKind::StackOverflow | EvalErrorKind::InfiniteRecursion => {
            "max stack frames exceeded.".into()
        }
        EvalErrorKind::ExplicitError { message, .. } => message.clone(),
        EvalErrorKind::AssertFailed { message, .. } => {
            message.clone().unwrap_or_else(|| "Assertion failed".into())
        }
        EvalErrorKind::UnknownObjectField { field_name, .. } => format!("Field does not exist: {field_name}"),
        EvalErrorKind::DivByZero { .. } => "Division by zero.".into(),
        EvalErrorKind::NumericIndexOutOfRange { index, length, .. } => {
            format!("Index {index} out of bounds, not within [0, {length})")
        }
        EvalErrorKind::UnknownExtVar { name } => format!("Undefined external variable: {name}"),
        EvalErrorKind::CalleeIsNotFunction { got_type, .. } => {
            format!("Unexpected type {}, expected function", type_name(*got_type))
        }
        EvalErrorKind::CallParamNotBound { param_name, .. } => format!("Missing argument: {param_name}"),
        EvalErrorKind::UnknownCallParam { param_name, .. } => {
            format!("function has no parameter {param_name}")
        }
        EvalErrorKind::TooManyCallArgs { num_params, .. } => {
            format!("Too many arguments, there can be at most {num_params}")
        }
        EvalErrorKind::ManifestFunction => "couldn't manifest function as JSON".into(),
        EvalErrorKind::NativeCallFailed => "native function call failed".into(),
        EvalErrorKind::AssertEqualFailed { lhs, rhs } => format!("Assertion failed. {lhs} != {rhs}"),
        EvalErrorKind::Other { message, .. } => other_message(message),
        EvalErrorKind::InvalidBinaryOpTypes {
            lhs_type, rhs_type, ..
        } => {
            if lhs_type == rhs_type {
                format!("Binary operator does not operate on {}s.", type_name(*lhs_type))
            } else {
                format!(
                    "Unexpected type {}, expected {}",
                    type_name(*rhs_type),
                    type_name(*lhs_type)
                )
            }
        }
        EvalErrorKind::InvalidUnaryOpType { rhs_type, .. } => {
            format!("Unexpected type {}", type_name(*rhs_type))
        }
        EvalErrorKind::CondIsNotBool { got_type, .. } => {
            format!("Unexpected type {}, expected boolean", type_name(*got_type))
        }
        EvalErrorKind::InvalidIndexedType { got_type, .. } => {
            format!(
                "Unexpected type {}, expected array, object or string",
                type_name(*got_type)
            )
        }
        EvalErrorKind::FieldOfNonObject { .. } => "Unexpected type, expected object".into(),
        EvalErrorKind::RepeatedFieldName { name, .. } => format!("Duplicate field name: {name:?}"),
        EvalErrorKind::FieldNameIsNotString { got_type, .. } => {
            format!("Field name must be string, got {}", type_name(*got_type))
        }
        EvalErrorKind::ObjectIndexIsNotString { got_type, .. } => {
            format!("Unexpected type {}, expected string", type_name(*got_type))
        }
        EvalErrorKind::ForSpecValueIsNotArray { got_type, .. } => {
            format!("Unexpected type {}, expected array", type_name(*got_type))
        }
        EvalErrorKind::SuperWithoutSuperObject { .. } => {
            "Attempt to use super when there is no super class.".into()
        }
        EvalErrorKind::NumberOverflow { .. } => "Overflow".into(),
        EvalErrorKind::NumberNan { .. } => "Not a number".into(),
        EvalErrorKind::ShiftByNegative { .. } => "Shift by negative exponent.".into(),
        EvalErrorKind::CompareNullInequality => "Unexpected type null".into(),
        EvalErrorKind::CompareBooleanInequality => "Unexpected type boolean".into(),
        EvalErrorKind::CompareObjectInequality => "Unexpected type object".into(),
        EvalErrorKind::CompareFunctions => "Cannot test equality of functions".into(),
        EvalErrorKind::CompareDifferentTypesInequality { lhs_type, rhs_type } => format!(
            "Unexpected type {}, expected {}",
            type_name(*rhs_type),
            type_name(*lhs_type)
        ),
        EvalErrorKind::InvalidStdFuncArgType {
            func_name,
            arg_index,
            expected_types,
            got_type,
        } => std_arg_message(func_name, *arg_index, expected_types, type_name(*got_type)),
        other => format!("{other:?}"),
    }
}

/// go-jsonnet's message for a standard-library argument of the wrong type (its own words for the functions that
/// have them, `Unexpected type T, expected U` otherwise).
fn std_arg_message(
    func: &str,
    arg: usize,
    expected: &[rsjsonnet_lang::program::EvalErrorValueType],
    got: &str,
) -> String {
    match (func, arg) {
        ("substr", 0) => format!("substr first parameter should be a string, got {got}"),
        ("join", 0) => format!("join first parameter should be string or array, got {got}"),
        ("split", 0) => format!("std.split first parameter must be a String, got {got}"),
        ("map", 1) => format!("std.map second param must be array / string, got {got}"),
        _ => match expected {
            [one] => format!("Unexpected type {got}, expected {}", type_name(*one)),
            _ => format!("Unexpected type {got}"),
        },
    }
}

fn type_name(t: rsjsonnet_lang::program::EvalErrorValueType) -> &'static str {
    use rsjsonnet_lang::program::EvalErrorValueType as T;
    match t {
        T::Null => "null",
        T::Bool => "boolean",
        T::Number => "number",
        T::String => "string",
        T::Array => "array",
        T::Object => "object",
        T::Function => "function",
    }
}

/// go-jsonnet's words for the standard library's errors that rsjsonnet-lang words differently.
fn other_message(message: &str) -> String {
    if let Some(got) = message.strip_prefix("not enough array items for format, got ") {
        return format!("Not enough values to format: {got}, expected more than {got}");
    }
    message.to_string()
}
