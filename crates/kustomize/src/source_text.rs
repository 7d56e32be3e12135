//! File text as Kustomize's YAML reader sees it: invalid UTF-8 replaced, and the end-of-stream
//! rule of go-yaml for a final block scalar.

use std::borrow::Cow;

/// File text (invalid UTF-8 sequences replaced).
pub(crate) fn utf8_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// go-yaml gives a block scalar that ends the stream without a final line break no trailing
/// newline, whatever its chomping indicator (`|` and `|+` read like `|-`). The text is rewritten
/// so that the final block scalar, if the file ends inside one, says `-`.
pub(crate) fn strip_final_block(text: &str) -> Cow<'_, str> {
    if text.ends_with('\n') || text.trim_end().is_empty() {
        return Cow::Borrowed(text);
    }
    let lines: Vec<&str> = text.split('\n').collect();
    // The outermost header below which every non-blank line is more indented.
    let mut min_below = usize::MAX;
    let mut header: Option<(usize, usize)> = None; // (line, byte offset of the indicator)
    for (i, line) in lines.iter().enumerate().rev() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("---") || line.starts_with("...") {
            break;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent < min_below
            && i + 1 < lines.len()
            && let Some(pos) = block_indicator(line)
        {
            header = Some((i, pos));
        }
        min_below = min_below.min(indent);
    }
    let Some((line_no, pos)) = header else {
        return Cow::Borrowed(text);
    };
    let line = lines[line_no];
    let rest = &line[pos + 1..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let after_digits = &rest[digits.len()..];
    let (chomp, tail) = match after_digits.as_bytes().first() {
        Some(b'-') => return Cow::Borrowed(text),
        Some(b'+') => (true, &after_digits[1..]),
        _ => (false, after_digits),
    };
    let _ = chomp;
    let fixed = format!("{}{}{digits}-{tail}", &line[..pos], &line[pos..pos + 1]);
    let mut out: Vec<&str> = lines.clone();
    out[line_no] = &fixed;
    Cow::Owned(out.join("\n"))
}

/// The byte offset of a block scalar indicator (`|` or `>`) that ends `line` (a trailing comment
/// aside), if the line is a block scalar header.
fn block_indicator(line: &str) -> Option<usize> {
    let code = match line.find(" #") {
        Some(c) => &line[..c],
        None => line,
    };
    let code = code.trim_end();
    let pos = code.rfind(['|', '>'])?;
    let rest = &code[pos + 1..];
    if !rest.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '+') || rest.len() > 2 {
        return None;
    }
    let before = &code[..pos];
    let trimmed = before.trim_end();
    let ok =
        trimmed.is_empty() || before.ends_with(' ') && (trimmed.ends_with(':') || trimmed.ends_with('-'));
    ok.then_some(pos)
}

#[cfg(test)]
mod tests {
    use super::strip_final_block;

    #[test]
    fn final_literal_block_without_newline_is_stripped() {
        assert_eq!(strip_final_block("a: |\n  x"), "a: |-\n  x");
        assert_eq!(strip_final_block("a: |+\n  x"), "a: |-\n  x");
        assert_eq!(strip_final_block("a: >2\n  x"), "a: >2-\n  x");
        assert_eq!(strip_final_block("a: |\n  x\n"), "a: |\n  x\n");
        assert_eq!(strip_final_block("a: |\n  x\nb: c"), "a: |\n  x\nb: c");
        // A header inside the block is content: the outer one is rewritten.
        assert_eq!(strip_final_block("a: |\n  b: |\n    x"), "a: |-\n  b: |\n    x");
        assert_eq!(strip_final_block("- |\n  x"), "- |-\n  x");
    }
}
