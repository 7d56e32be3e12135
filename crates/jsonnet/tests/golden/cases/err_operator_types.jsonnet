// go-jsonnet's messages for operands an operator does not take: the first non-number for arithmetic.
local tries = ['"x" * 2', 'true - 1', '[] - []'];
std.length(tries) + ("a" / 1)
