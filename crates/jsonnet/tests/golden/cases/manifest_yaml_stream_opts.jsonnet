std.manifestYamlStream([{a: 1}, {b: 2}], indent_array_in_object=false, c_document_end=false)
