// manifestYamlStream without the document end marker, with indented arrays and bare keys.
std.manifestYamlStream([1, { a: "b\n", list: [1, 2] }, [], "s"], indent_array_in_object=true, c_document_end=false, quote_keys=false)
