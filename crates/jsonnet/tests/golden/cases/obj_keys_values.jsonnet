[std.objectKeysValues({b: 1, a: 2}), std.objectValuesAll({a:: 1, b: 2}), std.objectKeysValuesAll({a:: 1})]
