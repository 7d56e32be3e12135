[std.objectFields({b: 1, a: 2, c:: 3}), std.objectFieldsAll({b: 1, c:: 3}), std.objectValues({a: 1, b: 2}), std.objectHas({a:: 1}, "a"), std.objectHasAll({a:: 1}, "a")]
