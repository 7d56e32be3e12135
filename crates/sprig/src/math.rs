//! Arithmetic: integer functions on `cast.ToInt64` values (results int64), float functions through
//! shopspring/decimal as Sprig does (`addf 0.1 0.2` is 0.3), rounding, ranges (`until`, `seq`) and the
//! conversions `int`, `int64`, `float64`, `atoi`, `toDecimal`.

use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, arity_min, fmt_v, int_arg, str_arg, to_float64, to_int64};

fn int64_variadic(
    funcs: &mut Funcs,
    name: &'static str,
    min: usize,
    f: fn(&[i64]) -> Result<i64, FuncError>,
) {
    funcs.insert(name, move |_, a| {
        arity_min(name, a, min)?;
        let xs: Vec<i64> = a.iter().map(to_int64).collect();
        Ok(Value::Int64(f(&xs)?))
    });
}

fn int64_binary(funcs: &mut Funcs, name: &'static str, f: fn(i64, i64) -> Result<i64, FuncError>) {
    funcs.insert(name, move |_, a| {
        arity(name, a, 2)?;
        Ok(Value::Int64(f(to_int64(&a[0]), to_int64(&a[1]))?))
    });
}

fn decimal_op(funcs: &mut Funcs, name: &'static str, min: usize, start_zero: bool, op: Op) {
    funcs.insert(name, move |_, a| {
        arity_min(name, a, min)?;
        let (first, rest) = if start_zero {
            (0.0, a)
        } else {
            (to_float64(&a[0]), &a[1..])
        };
        let mut acc = Decimal::from_f64(first)?;
        for x in rest {
            acc = acc.apply(op, &Decimal::from_f64(to_float64(x))?)?;
        }
        Ok(Value::Float(acc.to_f64()))
    });
}

pub fn register(funcs: &mut Funcs) {
    funcs.insert("add1", |_, a| {
        arity("add1", a, 1)?;
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    int64_variadic(funcs, "add", 0, |xs| {
        Ok(xs.iter().fold(0i64, |acc, x| acc.wrapping_add(*x)))
    });
    int64_variadic(funcs, "mul", 1, |xs| {
        Ok(xs[1..].iter().fold(xs[0], |acc, x| acc.wrapping_mul(*x)))
    });
    int64_binary(funcs, "sub", |a, b| Ok(a.wrapping_sub(b)));
    int64_binary(funcs, "div", |a, b| {
        if b == 0 {
            Err(FuncError::new("runtime error: integer divide by zero"))
        } else {
            Ok(a.wrapping_div(b))
        }
    });
    int64_binary(funcs, "mod", |a, b| {
        if b == 0 {
            Err(FuncError::new("runtime error: integer divide by zero"))
        } else {
            Ok(a.wrapping_rem(b))
        }
    });
    int64_variadic(funcs, "max", 1, |xs| {
        Ok(xs[1..].iter().fold(xs[0], |acc, x| acc.max(*x)))
    });
    int64_variadic(funcs, "biggest", 1, |xs| {
        Ok(xs[1..].iter().fold(xs[0], |acc, x| acc.max(*x)))
    });
    int64_variadic(funcs, "min", 1, |xs| {
        Ok(xs[1..].iter().fold(xs[0], |acc, x| acc.min(*x)))
    });
    funcs.insert("maxf", |_, a| {
        arity_min("maxf", a, 1)?;
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_max(acc, to_float64(x))),
        ))
    });
    funcs.insert("minf", |_, a| {
        arity_min("minf", a, 1)?;
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_min(acc, to_float64(x))),
        ))
    });
    funcs.insert("add1f", |_, a| {
        arity("add1f", a, 1)?;
        Ok(Value::Float(
            Decimal::from_f64(to_float64(&a[0]))?
                .apply(Op::Add, &Decimal::from_f64(1.0)?)?
                .to_f64(),
        ))
    });
    decimal_op(funcs, "addf", 0, true, Op::Add);
    decimal_op(funcs, "subf", 1, false, Op::Sub);
    decimal_op(funcs, "mulf", 1, false, Op::Mul);
    decimal_op(funcs, "divf", 1, false, Op::Div);
    register_rounding_and_ranges(funcs);
}

/// Rounding, conversions and integer ranges.
fn register_rounding_and_ranges(funcs: &mut Funcs) {
    funcs.insert("floor", |_, a| {
        arity("floor", a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    funcs.insert("ceil", |_, a| {
        arity("ceil", a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    funcs.insert("round", |_, a| {
        arity_min("round", a, 2)?;
        if a.len() > 3 {
            return Err(FuncError::new(format!(
                "wrong number of args for round: want at most 3 got {}",
                a.len()
            )));
        }
        let places = int_arg(&a[1])?;
        let round_on = match a.get(2) {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            Some(other) => {
                return Err(FuncError::new(format!(
                    "wrong type for value; expected float64; got {}",
                    crate::convert::type_name(other)
                )));
            }
            None => 0.5,
        };
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(places as f64);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    funcs.insert("int64", |_, a| {
        arity("int64", a, 1)?;
        Ok(Value::Int64(to_int64(&a[0])))
    });
    funcs.insert("int", |_, a| {
        arity("int", a, 1)?;
        Ok(Value::Int(to_int64(&a[0])))
    });
    funcs.insert("float64", |_, a| {
        arity("float64", a, 1)?;
        Ok(Value::Float(to_float64(&a[0])))
    });
    funcs.insert("atoi", |_, a| {
        arity("atoi", a, 1)?;
        Ok(Value::Int(atoi(&str_arg(&a[0])?)))
    });
    funcs.insert("toDecimal", |_, a| {
        arity("toDecimal", a, 1)?;
        Ok(Value::Int64(parse_octal(&fmt_v(&a[0])).unwrap_or(0)))
    });
    funcs.insert("until", |_, a| {
        arity("until", a, 1)?;
        let n = int_arg(&a[0])?;
        Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?))
    });
    funcs.insert("untilStep", |_, a| {
        arity("untilStep", a, 3)?;
        Ok(int_list(until_step(
            int_arg(&a[0])?,
            int_arg(&a[1])?,
            int_arg(&a[2])?,
        )?))
    });
    funcs.insert("seq", |_, a| {
        let params = a.iter().map(int_arg).collect::<Result<Vec<_>, _>>()?;
        Ok(Value::string(seq(&params)?))
    });
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `strconv.Atoi` with the error ignored (0).
fn atoi(s: &str) -> i64 {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

/// `strconv.ParseInt(s, 8, 64)`.
fn parse_octal(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return None;
    }
    i64::from_str_radix(s, 8).ok()
}

fn int_list(xs: Vec<i64>) -> Value {
    Value::list(xs.into_iter().map(Value::Int).collect())
}

const MAX_RANGE: usize = 10_000_000;

fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut v = Vec::new();
    let too_long = || FuncError::new(format!("range of more than {MAX_RANGE} elements refused"));
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            if v.len() > MAX_RANGE {
                return Err(too_long());
            }
            match i.checked_add(step) {
                Some(next) => i = next,
                None => break,
            }
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        if v.len() > MAX_RANGE {
            return Err(too_long());
        }
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(v)
}

fn seq(params: &[i64]) -> Result<String, FuncError> {
    let join = |xs: Vec<i64>| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ");
    Ok(match params {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            join(until_step(1, end.saturating_add(inc), inc)?)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join(until_step(*start, end.saturating_add(step), step)?)
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(String::new());
                }
            }
            join(until_step(*start, end.saturating_add(inc), *step)?)
        }
        _ => String::new(),
    })
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal `mantissa × 10^exp`, as shopspring/decimal holds numbers (enough for Sprig's float helpers; a
/// result that does not fit falls back to float arithmetic).
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mant: i128,
    exp: i32,
    /// A non-finite or overflowing value, kept as a float.
    float: Option<f64>,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Decimal, FuncError> {
        if !f.is_finite() {
            return Err(FuncError::new(format!(
                "Cannot create a Decimal from {}",
                crate::convert::format_float_g(f)
            )));
        }
        if f == 0.0 {
            return Ok(Decimal {
                mant: 0,
                exp: 0,
                float: None,
            });
        }
        let (digits, dp) = crate::convert::shortest_digits(f);
        let mant: i128 = digits.parse().unwrap_or(0);
        let mant = if f < 0.0 { -mant } else { mant };
        Ok(Decimal {
            mant,
            exp: dp - digits.len() as i32,
            float: None,
        })
    }

    fn as_f64(&self) -> f64 {
        self.float
            .unwrap_or_else(|| format!("{}e{}", self.mant, self.exp).parse().unwrap_or(f64::NAN))
    }

    fn to_f64(self) -> f64 {
        self.as_f64()
    }

    fn aligned(a: &Decimal, b: &Decimal) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let scale = |d: &Decimal| -> Option<i128> {
            let shift = u32::try_from(d.exp - exp).ok()?;
            d.mant.checked_mul(10i128.checked_pow(shift)?)
        };
        Some((scale(a)?, scale(b)?, exp))
    }

    fn apply(self, op: Op, other: &Decimal) -> Result<Decimal, FuncError> {
        if matches!(op, Op::Div) && other.float.is_none() && other.mant == 0 {
            return Err(FuncError::new("decimal division by 0"));
        }
        let exact = if self.float.is_some() || other.float.is_some() {
            None
        } else {
            match op {
                Op::Add => Self::aligned(&self, other).and_then(|(x, y, e)| {
                    x.checked_add(y).map(|m| Decimal {
                        mant: m,
                        exp: e,
                        float: None,
                    })
                }),
                Op::Sub => Self::aligned(&self, other).and_then(|(x, y, e)| {
                    x.checked_sub(y).map(|m| Decimal {
                        mant: m,
                        exp: e,
                        float: None,
                    })
                }),
                Op::Mul => self.mant.checked_mul(other.mant).map(|m| Decimal {
                    mant: m,
                    exp: self.exp + other.exp,
                    float: None,
                }),
                Op::Div => self.div_round(other, 16),
            }
        };
        Ok(exact.unwrap_or_else(|| {
            let (x, y) = (self.as_f64(), other.as_f64());
            let f = match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => x / y,
            };
            Decimal {
                mant: 0,
                exp: 0,
                float: Some(f),
            }
        }))
    }

    /// `DivRound(d2, places)`: the quotient rounded half away from zero to `places` decimal places.
    fn div_round(&self, other: &Decimal, places: i32) -> Option<Decimal> {
        // self / other = (m1 / m2) × 10^(e1 - e2); want q × 10^-places.
        let shift = places + self.exp - other.exp;
        let (num, den) = if shift >= 0 {
            (
                self.mant.checked_mul(10i128.checked_pow(shift as u32)?)?,
                other.mant,
            )
        } else {
            (
                self.mant,
                other.mant.checked_mul(10i128.checked_pow((-shift) as u32)?)?,
            )
        };
        let q = num / den;
        let r = num % den;
        let q = if (r.abs() * 2) >= den.abs() {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Decimal {
            mant: q,
            exp: -places,
            float: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::convert::parse_go_int;

    #[test]
    fn decimal_addition_is_exact() {
        let d = Decimal::from_f64(0.1)
            .unwrap()
            .apply(Op::Add, &Decimal::from_f64(0.2).unwrap())
            .unwrap();
        assert_eq!(d.to_f64(), 0.3);
        let d = Decimal::from_f64(1.0)
            .unwrap()
            .apply(Op::Div, &Decimal::from_f64(3.0).unwrap())
            .unwrap();
        assert_eq!(d.to_f64(), 0.3333333333333333);
    }

    #[test]
    fn seq_forms() {
        assert_eq!(seq(&[3]).unwrap(), "1 2 3");
        assert_eq!(seq(&[0]).unwrap(), "1 0");
        assert_eq!(seq(&[2, 5]).unwrap(), "2 3 4 5");
        assert_eq!(seq(&[5, -1, 2]).unwrap(), "5 4 3 2");
        assert_eq!(seq(&[1, 2, 7]).unwrap(), "1 3 5 7");
    }

    #[test]
    fn parse_int_forms() {
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_int("08"), None);
    }
}
