// All builtins should return results
#![allow(clippy::unnecessary_wraps)]

use format::{format_arr, format_obj};

use crate::{Result, Val, function::CallLocation, in_frame};

pub mod format;

/// tack: a formatting function replacing this crate's own for the `%` operator on a string.
pub type StringFormat = fn(String, Val) -> Result<String>;

thread_local! {
	static STRING_FORMAT: std::cell::Cell<Option<StringFormat>> = const { std::cell::Cell::new(None) };
}

/// tack: `a % b` with a string `a` is `std.format(a, b)` (go-jsonnet's `std.mod`); evaluations of this thread
/// format with `format` from now on (`None`: this crate's own). Returns the one set before.
pub fn set_string_format(format: Option<StringFormat>) -> Option<StringFormat> {
	STRING_FORMAT.with(|cell| cell.replace(format))
}

pub fn std_format(str: &str, vals: Val) -> Result<String> {
	if let Some(format) = STRING_FORMAT.with(std::cell::Cell::get) {
		return in_frame(
			CallLocation::native(),
			|| format!("std.format of {str}"),
			|| format(str.to_string(), vals),
		);
	}
	in_frame(
		CallLocation::native(),
		|| format!("std.format of {str}"),
		|| {
			Ok(match vals {
				Val::Arr(vals) => format_arr(str, &vals.iter().collect::<Result<Vec<_>>>()?)?,
				Val::Obj(obj) => format_obj(str, &obj)?,
				o => format_arr(str, &[o])?,
			})
		},
	)
}
