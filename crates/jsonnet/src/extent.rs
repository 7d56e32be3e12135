//! Where an expression ends: go-jsonnet locates an `error` expression by its whole text (`error 'x' + y`), the
//! engine by its keyword alone. The end is found from the source: the longest run of tokens after the keyword,
//! ending before a separator or closing bracket of the enclosing code, that parses as one expression.

use jrsonnet_evaluator::{Source, Span};
use jrsonnet_lexer::SyntaxKind as K;

/// At most this many candidate ends are parsed (an `error` in a very long expression keeps its keyword span).
const MAX_TRIES: usize = 64;

/// `span` widened to the whole `error` expression when it covers only the `error` keyword; otherwise as it is.
pub(crate) fn whole_error(span: &Span) -> Span {
    let code = span.0.code();
    let (start, end) = (span.1 as usize, span.2 as usize);
    if code.get(start..end) != Some("error") {
        return span.clone();
    }
    match error_end(code, start) {
        Some(whole) => Span(span.0.clone(), span.1, whole),
        None => span.clone(),
    }
}

/// The byte offset where the expression starting at `start` (an `error` keyword) ends.
fn error_end(code: &str, start: usize) -> Option<u32> {
    let rest = code.get(start..)?;
    let candidates = candidate_ends(rest);
    let source = Source::new_virtual("<extent>".into(), "".into());
    let settings = jrsonnet_ir_parser::ParserSettings { source };
    candidates
        .iter()
        .rev()
        .take(MAX_TRIES)
        .find(|end| jrsonnet_ir_parser::parse(&rest[..**end], &settings).is_ok())
        .and_then(|end| u32::try_from(start + end).ok())
}

/// Ends (exclusive byte offsets into `rest`) after which the expression may stop: the end of the last token
/// before each separator (`,`, `;`, `then`, `else`, `for`, `in`, `:`) outside brackets, and before the closing
/// bracket or end of text that certainly ends it.
fn candidate_ends(rest: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut depth = 0usize;
    let mut last_end = 0usize;
    for lexeme in jrsonnet_lexer::lex(rest) {
        match lexeme.kind {
            K::WHITESPACE
            | K::SINGLE_LINE_SLASH_COMMENT
            | K::SINGLE_LINE_HASH_COMMENT
            | K::MULTI_LINE_COMMENT => {
                continue;
            }
            K::L_PAREN | K::L_BRACK | K::L_BRACE => depth += 1,
            K::R_PAREN | K::R_BRACK | K::R_BRACE if depth == 0 => {
                ends.push(last_end);
                return ends;
            }
            K::R_PAREN | K::R_BRACK | K::R_BRACE => depth -= 1,
            K::COMMA | K::SEMI | K::COLON | K::THEN_KW | K::ELSE_KW | K::FOR_KW | K::IN_KW
                if depth == 0 && last_end > 0 =>
            {
                ends.push(last_end);
            }
            _ => {}
        }
        last_end = lexeme.range.1 as usize;
    }
    ends.push(last_end);
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(code: &str) -> Option<&str> {
        let start = code.find("error")?;
        let end = error_end(code, start)? as usize;
        Some(&code[start..end])
    }

    #[test]
    fn an_error_expression_ends_where_the_grammar_ends_it() {
        assert_eq!(
            end_of("{\n  kind: error 'kind is required',\n}\n"),
            Some("error 'kind is required'")
        );
        assert_eq!(
            end_of("error 'a' + std.toString(1) // c\n"),
            Some("error 'a' + std.toString(1)")
        );
        assert_eq!(end_of("if c then error 'a' else 'b'"), Some("error 'a'"));
        assert_eq!(
            end_of("error if c then 'a' else 'b'"),
            Some("error if c then 'a' else 'b'")
        );
        assert_eq!(end_of("local x = error 'a'; x"), Some("error 'a'"));
        assert_eq!(end_of("[error 'x' for i in [1]]"), Some("error 'x'"));
        assert_eq!(end_of("f(error 'x, y', 2)"), Some("error 'x, y'"));
        assert_eq!(
            end_of("error local a = 1, b = 2; a + b"),
            Some("error local a = 1, b = 2; a + b")
        );
        assert_eq!(
            end_of("{ a: error |||\n  text }\n|||, b: 1 }"),
            Some("error |||\n  text }\n|||")
        );
    }
}
