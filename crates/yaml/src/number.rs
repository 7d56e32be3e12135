//! Byte-level helpers shared by the scalar parser and the emitter's quoting rules.

/// Skips an optional exponent (`e`/`E`, an optional sign, digits) starting at `i`. Returns the index after
/// it (`i` itself when there is no exponent), or `None` when an `e` is not followed by digits.
pub(crate) fn skip_exponent(b: &[u8], mut i: usize) -> Option<usize> {
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits {
            return None;
        }
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::skip_exponent;

    #[test]
    fn exponents() {
        assert_eq!(skip_exponent(b"1e10", 1), Some(4));
        assert_eq!(skip_exponent(b"1E-3", 1), Some(4));
        assert_eq!(skip_exponent(b"12", 2), Some(2));
        assert_eq!(skip_exponent(b"1e", 1), None);
        assert_eq!(skip_exponent(b"1e+", 1), None);
    }
}
