//! Date functions: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`, `dateModify`, `ago`,
//! `duration`, `durationRound`, `toDate`, `mustToDate`, `unixEpoch`, with Sprig's rules for what counts as
//! a time (a `time.Time`, or an int / int64 of Unix seconds; anything else means "now").

use std::rc::Rc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tack_gotemplate::{FuncError, Funcs, Value};

use crate::Env;
use crate::convert::{arity, str_arg, type_name};
use crate::gotime::{GoTime, duration_string, parse, parse_duration};

fn time_value(t: GoTime) -> Value {
    Value::Object(Rc::new(t))
}

/// The `time.Time` inside a value, if it is one (rebuilt from its instant, location and offset).
fn as_time(v: &Value) -> Option<GoTime> {
    let Value::Object(o) = v else { return None };
    if o.type_name() != "time.Time" {
        return None;
    }
    let (Some(Value::Int64(secs)), Some(Value::Int(nanos))) = (o.field("Unix"), o.field("Nanosecond")) else {
        return None;
    };
    let ts = Timestamp::from_nanosecond(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).ok()?;
    let location = match o.field("Location") {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    };
    let tz = match (location.as_str(), o.field(crate::gotime::TZ_FIELD)) {
        (_, Some(Value::String(name))) if !name.is_empty() => {
            jiff::tz::db().get(&name).unwrap_or(TimeZone::UTC)
        }
        (_, Some(Value::Int(off))) => jiff::tz::Offset::from_seconds(off as i32)
            .map(TimeZone::fixed)
            .unwrap_or(TimeZone::UTC),
        _ => TimeZone::UTC,
    };
    Some(GoTime::new(ts, tz, &location))
}

/// A typed `time.Time` parameter.
fn time_arg(v: &Value) -> Result<GoTime, FuncError> {
    as_time(v).ok_or_else(|| {
        let got = if matches!(v, Value::Nil) {
            "interface {}".into()
        } else {
            type_name(v)
        };
        FuncError::new(format!("wrong type for value; expected time.Time; got {got}"))
    })
}

fn zone(env: &Env, name: &str) -> (TimeZone, String) {
    match name {
        "Local" => (env.local.clone(), "Local".into()),
        "" | "UTC" => (TimeZone::UTC, "UTC".into()),
        other => match jiff::tz::db().get(other) {
            Ok(tz) => (tz, other.to_string()),
            Err(_) => (TimeZone::UTC, "UTC".into()),
        },
    }
}

pub fn register(funcs: &mut Funcs, env: &Env) {
    let e = env.clone();
    funcs.insert("now", move |_, a| {
        arity("now", a, 0)?;
        let mut t = GoTime::new((e.clock)(), e.local.clone(), "Local");
        t.monotonic = true;
        Ok(time_value(t))
    });
    for (name, layout, zone_at) in [
        ("date", None, None),
        ("dateInZone", None, Some(2)),
        ("date_in_zone", None, Some(2)),
        ("htmlDate", Some("2006-01-02"), None),
        ("htmlDateInZone", Some("2006-01-02"), Some(1)),
    ] {
        let e = env.clone();
        funcs.insert(name, move |_, a| {
            let want = usize::from(layout.is_none()) + 1 + usize::from(zone_at.is_some());
            arity(name, a, want)?;
            let fmt = match layout {
                Some(l) => l.to_string(),
                None => str_arg(&a[0])?.to_string(),
            };
            let date = if layout.is_some() { &a[0] } else { &a[1] };
            let zone_name = match zone_at {
                Some(i) => str_arg(&a[i])?.to_string(),
                None => "Local".to_string(),
            };
            let t = instant(&e, date);
            let (tz, loc) = zone(&e, &zone_name);
            Ok(Value::string(t.in_zone(tz, &loc).format(&fmt)))
        });
    }
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 2)?;
            let (d, t) = (str_arg(&a[0])?, time_arg(&a[1])?);
            match parse_duration(&d) {
                Ok(n) => Ok(time_value(t.add_nanos(n))),
                Err(e) if must => Err(FuncError::new(e)),
                Err(_) => Ok(time_value(t)),
            }
        });
    }
    let e = env.clone();
    funcs.insert("ago", move |_, a| {
        arity("ago", a, 1)?;
        let t = instant(&e, &a[0]);
        let now = (e.clock)();
        let d = now.as_nanosecond() - t.zoned.timestamp().as_nanosecond();
        Ok(Value::string(duration_string(round_to_second(d))))
    });
    funcs.insert("duration", |_, a| {
        arity("duration", a, 1)?;
        let n: i64 = match &a[0] {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::string(duration_string(n.saturating_mul(1_000_000_000))))
    });
    let e = env.clone();
    funcs.insert("durationRound", move |_, a| {
        arity("durationRound", a, 1)?;
        let d: i64 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(i) => *i,
            v => match as_time(v) {
                Some(t) => ((e.clock)().as_nanosecond() - t.zoned.timestamp().as_nanosecond()) as i64,
                None => 0,
            },
        };
        Ok(Value::string(duration_round(d)))
    });
    for (name, must) in [("toDate", false), ("mustToDate", true)] {
        let e = env.clone();
        funcs.insert(name, move |_, a| {
            arity(name, a, 2)?;
            let (layout, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
            match parse(&layout, &s, &e.local) {
                Ok(t) => Ok(time_value(t)),
                Err(err) if must => Err(FuncError::new(err)),
                Err(_) => Ok(time_value(GoTime::zero())),
            }
        });
    }
    funcs.insert("unixEpoch", |_, a| {
        arity("unixEpoch", a, 1)?;
        Ok(Value::string(time_arg(&a[0])?.unix().to_string()))
    });
}

/// Sprig's reading of a date argument: a time, or Unix seconds as int/int64; anything else is now.
fn instant(env: &Env, v: &Value) -> GoTime {
    match v {
        Value::Int(i) | Value::Int64(i) => GoTime::new(
            Timestamp::from_second(*i).unwrap_or(Timestamp::UNIX_EPOCH),
            env.local.clone(),
            "Local",
        ),
        other => as_time(other).unwrap_or_else(|| GoTime::new((env.clock)(), env.local.clone(), "Local")),
    }
}

/// `Duration.Round(time.Second)`.
fn round_to_second(d: i128) -> i64 {
    let s = 1_000_000_000i128;
    let r = d % s;
    let mut q = d - r;
    if r.abs() * 2 >= s {
        q += if d < 0 { -s } else { s };
    }
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Sprig's `durationRound`: the largest whole unit (y, mo, d, h, m, s) of a duration.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let units: [(u64, &str); 6] = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}
