//! Go's `time` package as Sprig uses it: `time.Time` values with a location, `Format` and `Parse` with
//! reference-time layouts (`2006-01-02 15:04:05 MST`), and `Duration` parsing and printing.

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};
use tack_gotemplate::{FuncError, Object, Value};

/// A field that carries the zone of a time from one function to the next (not a Go field).
pub const TZ_FIELD: &str = "__tack_zone";

/// A Go `time.Time`: an instant and the location it is shown in.
#[derive(Clone, Debug)]
pub struct GoTime {
    /// The instant in its time zone.
    pub zoned: Zoned,
    /// The location's name as Go prints it (`Local`, `UTC`, `America/New_York`, or "" for a fixed zone).
    pub location: String,
    /// Whether the time carries a monotonic clock reading (from `now`), printed by `String()` as `m=+…`.
    pub monotonic: bool,
}

impl GoTime {
    /// The instant `ts` shown in `tz`, named `location`.
    pub fn new(ts: Timestamp, tz: TimeZone, location: &str) -> GoTime {
        GoTime {
            zoned: ts.to_zoned(tz),
            location: location.to_string(),
            monotonic: false,
        }
    }

    /// Go's zero time: January 1, year 1, 00:00:00 UTC.
    pub fn zero() -> GoTime {
        let ts = jiff::civil::date(1, 1, 1)
            .at(0, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp());
        GoTime::new(ts.unwrap_or(Timestamp::UNIX_EPOCH), TimeZone::UTC, "UTC")
    }

    /// Seconds since the Unix epoch, rounded down as Go's `Unix()` (the nanoseconds are always positive).
    pub fn unix(&self) -> i64 {
        self.zoned.timestamp().as_nanosecond().div_euclid(1_000_000_000) as i64
    }

    /// The same instant shown in `tz`, named `location` (Go's `In`).
    pub fn in_zone(&self, tz: TimeZone, location: &str) -> GoTime {
        GoTime {
            zoned: self.zoned.timestamp().to_zoned(tz),
            location: location.to_string(),
            monotonic: false,
        }
    }

    fn offset_seconds(&self) -> i32 {
        self.zoned.offset().seconds()
    }

    fn abbreviation(&self) -> String {
        // A zone abbreviation Go could not place (`toDate "… MST" "… PST"`) is kept as the zone's name.
        if !self.location.is_empty()
            && self.location.len() >= 3
            && self.location.bytes().all(|c| c.is_ascii_uppercase())
            && self.location != "UTC"
        {
            return self.location.clone();
        }
        let info = self.zoned.time_zone().to_offset_info(self.zoned.timestamp());
        let abbr = info.abbreviation().to_string();
        if self.zoned.time_zone().iana_name().is_none() && self.location.is_empty() {
            return String::new();
        }
        abbr
    }

    /// `t.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        format(self, layout)
    }

    /// `t.Add(d)` with a duration in nanoseconds.
    pub fn add_nanos(&self, nanos: i64) -> GoTime {
        let ts = self.zoned.timestamp();
        let ts = ts
            .checked_add(jiff::SignedDuration::from_nanos(nanos))
            .unwrap_or(ts);
        GoTime {
            zoned: ts.to_zoned(self.zoned.time_zone().clone()),
            location: self.location.clone(),
            monotonic: false,
        }
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let z = &self.zoned;
        Some(match name {
            "Unix" => Value::Int64(self.unix()),
            "UnixMilli" => Value::Int64(z.timestamp().as_millisecond()),
            "UnixNano" => Value::Int64(z.timestamp().as_nanosecond() as i64),
            "Year" => Value::Int(i64::from(z.year())),
            "Month" => Value::string(MONTHS[z.month() as usize - 1]),
            "Day" => Value::Int(i64::from(z.day())),
            "Hour" => Value::Int(i64::from(z.hour())),
            "Minute" => Value::Int(i64::from(z.minute())),
            "Second" => Value::Int(i64::from(z.second())),
            "Nanosecond" => Value::Int(i64::from(z.subsec_nanosecond())),
            "YearDay" => Value::Int(i64::from(z.day_of_year())),
            "Weekday" => Value::string(DAYS[z.weekday().to_sunday_zero_offset() as usize]),
            "UTC" => Value::Object(std::rc::Rc::new(self.in_zone(TimeZone::UTC, "UTC"))),
            "IsZero" => Value::Bool(self.unix() == GoTime::zero().unix() && z.subsec_nanosecond() == 0),
            "String" => Value::string(self.display()),
            "Location" => Value::string(self.location.clone()),
            TZ_FIELD => match self.zoned.time_zone().iana_name() {
                Some(name) => Value::string(name.to_string()),
                None => Value::Int(i64::from(self.offset_seconds())),
            },
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        Some(match name {
            "Format" => crate::convert::arity("Format", args, 1)
                .and_then(|_| crate::convert::str_arg(&args[0]))
                .map(|l| Value::string(self.format(&l))),
            _ => return None,
        })
    }
    fn display(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if self.monotonic {
            s.push_str(" m=+0.000000001");
        }
        s
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::string(self.format("2006-01-02T15:04:05.999999999Z07:00")))
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Iso8601TZ,
    Iso8601SecondsTZ,
    Iso8601ShortTZ,
    Iso8601ColonTZ,
    Iso8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// Fractional seconds: digits, `9`s (trim zeros), and the separator.
    Frac(usize, bool, u8),
}

/// Go's `nextStdChunk`: (literal prefix, element, element text, rest).
fn next_std_chunk(layout: &str) -> (&str, Option<(Std, &str)>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let hit: Option<(Std, usize)> = match b[i] {
            b'J' if starts(i, "Jan") => Some(if starts(i, "January") {
                (Std::LongMonth, 7)
            } else {
                (Std::Month, 3)
            }),
            b'M' if starts(i, "Mon") => Some(if starts(i, "Monday") {
                (Std::LongWeekDay, 6)
            } else {
                (Std::WeekDay, 3)
            }),
            b'M' if starts(i, "MST") => Some((Std::TZ, 3)),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => Some(match b[i + 1] {
                b'1' => (Std::ZeroMonth, 2),
                b'2' => (Std::ZeroDay, 2),
                b'3' => (Std::ZeroHour12, 2),
                b'4' => (Std::ZeroMinute, 2),
                b'5' => (Std::ZeroSecond, 2),
                _ => (Std::Year, 2),
            }),
            b'0' if starts(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' => Some(if starts(i, "15") {
                (Std::Hour, 2)
            } else {
                (Std::NumMonth, 1)
            }),
            b'2' => Some(if starts(i, "2006") {
                (Std::LongYear, 4)
            } else {
                (Std::Day, 1)
            }),
            b'_' if starts(i, "_2") => {
                if starts(i, "_2006") {
                    return (
                        &layout[..i + 1],
                        Some((Std::LongYear, &layout[i + 1..i + 5])),
                        &layout[i + 5..],
                    );
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if starts(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if starts(i, "PM") => Some((Std::PM, 2)),
            b'p' if starts(i, "pm") => Some((Std::Pm, 2)),
            b'-' => {
                if starts(i, "-070000") {
                    Some((Std::NumSecondsTz, 7))
                } else if starts(i, "-07:00:00") {
                    Some((Std::NumColonSecondsTZ, 9))
                } else if starts(i, "-0700") {
                    Some((Std::NumTZ, 5))
                } else if starts(i, "-07:00") {
                    Some((Std::NumColonTZ, 6))
                } else if starts(i, "-07") {
                    Some((Std::NumShortTZ, 3))
                } else {
                    None
                }
            }
            b'Z' => {
                if starts(i, "Z070000") {
                    Some((Std::Iso8601SecondsTZ, 7))
                } else if starts(i, "Z07:00:00") {
                    Some((Std::Iso8601ColonSecondsTZ, 9))
                } else if starts(i, "Z0700") {
                    Some((Std::Iso8601TZ, 5))
                } else if starts(i, "Z07:00") {
                    Some((Std::Iso8601ColonTZ, 6))
                } else if starts(i, "Z07") {
                    Some((Std::Iso8601ShortTZ, 3))
                } else {
                    None
                }
            }
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(j - i - 1, ch == b'9', b[i]), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = hit {
            return (&layout[..i], Some((std, &layout[i..i + len])), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n, width = width)
    } else {
        format!("{n:0width$}")
    }
}

fn format(t: &GoTime, layout: &str) -> String {
    let z = &t.zoned;
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std, after) = next_std_chunk(rest);
        out.push_str(prefix);
        let Some((std, _)) = std else { break };
        rest = after;
        let year = i64::from(z.year());
        let hour = i64::from(z.hour());
        let off = t.offset_seconds();
        match std {
            Std::Year => out.push_str(&pad(year.rem_euclid(100), 2)),
            Std::LongYear => out.push_str(&pad(year, 4)),
            Std::Month => out.push_str(&MONTHS[z.month() as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[z.month() as usize - 1]),
            Std::NumMonth => out.push_str(&z.month().to_string()),
            Std::ZeroMonth => out.push_str(&pad(i64::from(z.month()), 2)),
            Std::WeekDay => out.push_str(&DAYS[z.weekday().to_sunday_zero_offset() as usize][..3]),
            Std::LongWeekDay => out.push_str(DAYS[z.weekday().to_sunday_zero_offset() as usize]),
            Std::Day => out.push_str(&z.day().to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", z.day())),
            Std::ZeroDay => out.push_str(&pad(i64::from(z.day()), 2)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", z.day_of_year())),
            Std::ZeroYearDay => out.push_str(&pad(i64::from(z.day_of_year()), 3)),
            Std::Hour => out.push_str(&pad(hour, 2)),
            Std::Hour12 => out.push_str(&(if hour % 12 == 0 { 12 } else { hour % 12 }).to_string()),
            Std::ZeroHour12 => out.push_str(&pad(if hour % 12 == 0 { 12 } else { hour % 12 }, 2)),
            Std::Minute => out.push_str(&z.minute().to_string()),
            Std::ZeroMinute => out.push_str(&pad(i64::from(z.minute()), 2)),
            Std::Second => out.push_str(&z.second().to_string()),
            Std::ZeroSecond => out.push_str(&pad(i64::from(z.second()), 2)),
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::TZ => {
                let abbr = t.abbreviation();
                if !abbr.is_empty() && !abbr.starts_with(['+', '-']) {
                    out.push_str(&abbr);
                } else {
                    let m = off / 60;
                    out.push(if m < 0 { '-' } else { '+' });
                    out.push_str(&pad(i64::from((m / 60).abs()), 2));
                    out.push_str(&pad(i64::from((m % 60).abs()), 2));
                }
            }
            Std::Frac(n, trim, sep) => {
                let digits = format!("{:09}", z.subsec_nanosecond());
                let mut d = &digits[..n.min(9)];
                if trim {
                    d = d.trim_end_matches('0');
                    if !d.is_empty() {
                        out.push(char::from(sep));
                        out.push_str(d);
                    }
                } else {
                    out.push(char::from(sep));
                    out.push_str(d);
                }
            }
            iso_or_num => {
                let iso = matches!(
                    iso_or_num,
                    Std::Iso8601TZ
                        | Std::Iso8601SecondsTZ
                        | Std::Iso8601ShortTZ
                        | Std::Iso8601ColonTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if iso && off == 0 {
                    out.push('Z');
                    continue;
                }
                let mut zone = off / 60;
                let mut secs = off;
                if zone < 0 {
                    out.push('-');
                    zone = -zone;
                    secs = -secs;
                } else {
                    out.push('+');
                }
                out.push_str(&pad(i64::from(zone / 60), 2));
                let colon = matches!(
                    iso_or_num,
                    Std::Iso8601ColonTZ
                        | Std::NumColonTZ
                        | Std::Iso8601ColonSecondsTZ
                        | Std::NumColonSecondsTZ
                );
                if colon {
                    out.push(':');
                }
                if !matches!(iso_or_num, Std::NumShortTZ | Std::Iso8601ShortTZ) {
                    out.push_str(&pad(i64::from(zone % 60), 2));
                }
                if matches!(
                    iso_or_num,
                    Std::Iso8601SecondsTZ
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTZ
                        | Std::Iso8601ColonSecondsTZ
                ) {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&pad(i64::from(secs % 60), 2));
                }
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    crate::strings::go_quote(s)
}

/// Go's `time.ParseInLocation(layout, value, local)`; `Err` has Go's message.
pub fn parse(layout: &str, value: &str, local: &TimeZone) -> Result<GoTime, String> {
    let e = Errs { layout, value };
    let mut f = Fields {
        month: -1,
        day: -1,
        yday: -1,
        ..Fields::default()
    };
    let mut lay = layout;
    let mut val = value;
    loop {
        let (prefix, std, after) = next_std_chunk(lay);
        val = skip(val, prefix).ok_or_else(|| e.bad(prefix, val))?;
        let Some((std, std_str)) = std else {
            if !val.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(value),
                    quote(val)
                ));
            }
            break;
        };
        lay = after;
        val = f.element(std, std_str, val, lay, &e)?;
    }
    f.finish(&e, local)
}

/// The texts Go's parse errors quote.
struct Errs<'a> {
    layout: &'a str,
    value: &'a str,
}

impl Errs<'_> {
    fn bad(&self, elem: &str, rest: &str) -> String {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(self.value),
            quote(self.layout),
            quote(rest),
            quote(elem)
        )
    }

    fn range(&self, what: &str) -> String {
        format!("parsing time {}: {what} out of range", quote(self.value))
    }
}

/// What the layout elements read so far.
#[derive(Default)]
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    pm_set: Option<bool>,
    zone_offset: Option<i32>,
    zone_name: String,
    utc: bool,
}

impl Fields {
    /// Reads one layout element at the start of `val`; returns the rest. (One arm per element of Go's layout
    /// table: long by nature.)
    fn element<'v>(
        &mut self,
        std: Std,
        std_str: &str,
        val: &'v str,
        lay: &str,
        e: &Errs<'_>,
    ) -> Result<&'v str, String> {
        let mut val = val;
        let hold = val;
        let fail = || e.bad(std_str, hold);
        match std {
            Std::Year => {
                let (n, r) = fixed_digits(val, 2).ok_or_else(fail)?;
                self.year = if n >= 69 { n + 1900 } else { n + 2000 };
                val = r;
            }
            Std::LongYear => {
                let (n, r) = fixed_digits(val, 4).ok_or_else(fail)?;
                self.year = n;
                val = r;
            }
            Std::Month | Std::LongMonth => {
                let (i, r) = lookup_name(val, std == Std::LongMonth, &MONTHS).ok_or_else(fail)?;
                self.month = i as i64 + 1;
                val = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, r) = getnum(val, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&n) {
                    return Err(e.range("month"));
                }
                self.month = n;
                val = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, r) = lookup_name(val, std == Std::LongWeekDay, &DAYS).ok_or_else(fail)?;
                val = r;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && val.starts_with(' ') {
                    val = &val[1..];
                }
                let (n, r) = getnum(val, std == Std::ZeroDay).ok_or_else(fail)?;
                self.day = n;
                val = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let v2 = if std == Std::UnderYearDay {
                    val.trim_start_matches(' ')
                } else {
                    val
                };
                let (n, r) = fixed_digits(v2, 3).ok_or_else(fail)?;
                self.yday = n;
                val = r;
            }
            Std::Hour => {
                let (n, r) = getnum(val, false).ok_or_else(fail)?;
                if !(0..24).contains(&n) {
                    return Err(e.range("hour"));
                }
                self.hour = n;
                val = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, r) = getnum(val, std == Std::ZeroHour12).ok_or_else(fail)?;
                if !(0..=12).contains(&n) {
                    return Err(e.range("hour"));
                }
                self.hour = n;
                val = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, r) = getnum(val, std == Std::ZeroMinute).ok_or_else(fail)?;
                if !(0..60).contains(&n) {
                    return Err(e.range("minute"));
                }
                self.min = n;
                val = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, r) = getnum(val, std == Std::ZeroSecond).ok_or_else(fail)?;
                if !(0..60).contains(&n) {
                    return Err(e.range("second"));
                }
                self.sec = n;
                val = r;
                // A fraction the layout does not mention is accepted after the seconds.
                let b = val.as_bytes();
                let next_is_frac = matches!(next_std_chunk(lay).1, Some((Std::Frac(..), _)));
                if b.len() >= 2 && (b[0] == b'.' || b[0] == b',') && b[1].is_ascii_digit() && !next_is_frac {
                    let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count() + 1;
                    self.nsec = parse_nanos(&val[1..n]);
                    val = &val[n..];
                }
            }
            Std::PM | Std::Pm => {
                let p = val.get(..2).ok_or_else(fail)?;
                let (am, pm) = if std == Std::PM {
                    ("AM", "PM")
                } else {
                    ("am", "pm")
                };
                self.pm_set = Some(if p == pm {
                    true
                } else if p == am {
                    false
                } else {
                    return Err(fail());
                });
                val = &val[2..];
            }
            Std::TZ => {
                if val.starts_with("UTC") {
                    self.utc = true;
                    val = &val[3..];
                } else {
                    let n = val.bytes().take_while(|c| c.is_ascii_uppercase()).count();
                    if n < 3 {
                        return Err(fail());
                    }
                    self.zone_name = val[..n].to_string();
                    val = &val[n..];
                }
            }
            Std::Frac(n, trim, _) => {
                let b = val.as_bytes();
                if b.is_empty() || !(b[0] == b'.' || b[0] == b',') {
                    if trim {
                        return Ok(val);
                    }
                    return Err(fail());
                }
                let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if !trim && digits < n {
                    return Err(fail());
                }
                let take = if trim { digits } else { n };
                self.nsec = parse_nanos(&val[1..1 + take]);
                val = &val[1 + take..];
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601TZ
                        | Std::Iso8601SecondsTZ
                        | Std::Iso8601ShortTZ
                        | Std::Iso8601ColonTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if iso && val.starts_with('Z') {
                    val = &val[1..];
                    self.utc = true;
                    return Ok(val);
                }
                let (off, r) = parse_offset(val, tz).ok_or_else(fail)?;
                self.zone_offset = Some(off);
                val = r;
            }
        }
        Ok(val)
    }

    /// Go's checks and defaults after the last element, and the location of the result.
    fn finish(mut self, e: &Errs<'_>, local: &TimeZone) -> Result<GoTime, String> {
        if let Some(pm) = self.pm_set {
            if pm && self.hour < 12 {
                self.hour += 12;
            } else if !pm && self.hour == 12 {
                self.hour = 0;
            }
        }
        if self.yday >= 0 {
            let d = jiff::civil::Date::new(self.year as i16, 1, 1).map_err(|_| e.range("day-of-year"))?;
            let d = d
                .checked_add(jiff::Span::new().days(self.yday - 1))
                .map_err(|_| e.range("day-of-year"))?;
            if self.month >= 0 && i64::from(d.month()) != self.month
                || self.day >= 0 && i64::from(d.day()) != self.day
            {
                return Err(format!(
                    "parsing time {}: day-of-year does not match month or day",
                    quote(e.value)
                ));
            }
            self.month = i64::from(d.month());
            self.day = i64::from(d.day());
        } else {
            if self.month < 0 {
                self.month = 1;
            }
            if self.day < 0 {
                self.day = 1;
            }
        }
        let date =
            jiff::civil::Date::new(self.year as i16, self.month as i8, 1).map_err(|_| e.range("year"))?;
        if self.day < 1 || self.day > i64::from(date.days_in_month()) {
            return Err(format!("parsing time {}: day out of range", quote(e.value)));
        }
        let dt = jiff::civil::DateTime::new(
            self.year as i16,
            self.month as i8,
            self.day as i8,
            self.hour as i8,
            self.min as i8,
            self.sec as i8,
            self.nsec as i32,
        )
        .map_err(|e| e.to_string())?;
        if self.utc {
            let z = dt.to_zoned(TimeZone::UTC).map_err(|e| e.to_string())?;
            return Ok(GoTime {
                zoned: z,
                location: "UTC".into(),
                monotonic: false,
            });
        }
        if let Some(off) = self.zone_offset {
            let offset = Offset::from_seconds(off).map_err(|e| e.to_string())?;
            let ts = dt
                .to_zoned(TimeZone::fixed(offset))
                .map_err(|e| e.to_string())?
                .timestamp();
            if local.to_offset(ts).seconds() == off {
                return Ok(GoTime::new(ts, local.clone(), "Local"));
            }
            return Ok(GoTime {
                zoned: ts.to_zoned(TimeZone::fixed(offset)),
                location: String::new(),
                monotonic: false,
            });
        }
        if !self.zone_name.is_empty() {
            // An abbreviation Go cannot place: the time is read as UTC with that name.
            let z = dt.to_zoned(TimeZone::UTC).map_err(|e| e.to_string())?;
            return Ok(GoTime {
                zoned: z,
                location: self.zone_name,
                monotonic: false,
            });
        }
        let z = dt.to_zoned(local.clone()).map_err(|e| e.to_string())?;
        Ok(GoTime {
            zoned: z,
            location: "Local".into(),
            monotonic: false,
        })
    }
}

fn skip<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let mut v = value;
    let mut p = prefix;
    while !p.is_empty() {
        if p.starts_with(' ') {
            if !v.is_empty() && !v.starts_with(' ') {
                return None;
            }
            p = p.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        let c = p.chars().next()?;
        if !v.starts_with(c) {
            return None;
        }
        p = &p[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    Some(v)
}

fn fixed_digits(v: &str, n: usize) -> Option<(i64, &str)> {
    let d = v.get(..n)?;
    if !d.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((d.parse().ok()?, &v[n..]))
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'), &v[2..]))
}

fn lookup_name<'a>(v: &'a str, long: bool, names: &[&str]) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let n = if long { *name } else { &name[..3] };
        if v.len() >= n.len() && v.is_char_boundary(n.len()) && v[..n.len()].eq_ignore_ascii_case(n) {
            return Some((i, &v[n.len()..]));
        }
    }
    None
}

fn parse_nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

fn parse_offset(v: &str, std: Std) -> Option<(i32, &str)> {
    let b = v.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |s: &str| -> Option<i32> {
        if s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (h, m, s, len) = match std {
        Std::NumShortTZ | Std::Iso8601ShortTZ => (digits(v.get(1..3)?)?, 0, 0, 3),
        Std::NumTZ | Std::Iso8601TZ => (digits(v.get(1..3)?)?, digits(v.get(3..5)?)?, 0, 5),
        Std::NumColonTZ | Std::Iso8601ColonTZ => {
            if v.get(3..4)? != ":" {
                return None;
            }
            (digits(v.get(1..3)?)?, digits(v.get(4..6)?)?, 0, 6)
        }
        Std::NumSecondsTz | Std::Iso8601SecondsTZ => (
            digits(v.get(1..3)?)?,
            digits(v.get(3..5)?)?,
            digits(v.get(5..7)?)?,
            7,
        ),
        _ => {
            if v.get(3..4)? != ":" || v.get(6..7)? != ":" {
                return None;
            }
            (
                digits(v.get(1..3)?)?,
                digits(v.get(4..6)?)?,
                digits(v.get(7..9)?)?,
                9,
            )
        }
    };
    Some((sign * (h * 3600 + m * 60 + s), &v[len..]))
}

// ---- durations ----

/// Go's `Duration.String()` of nanoseconds.
pub fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, int) = frac_part(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (frac, secs) = frac_part(u, 9);
        u = secs;
        let s = format!("{}{}s", u % 60, frac);
        u /= 60;
        if u > 0 {
            let m = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&s);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Go's `fmtFrac`: the fraction of `v` below 10^prec, without trailing zeros, and the integer part.
fn frac_part(v: u64, prec: u32) -> (String, u64) {
    let p = 10u64.pow(prec);
    let frac = v % p;
    if frac == 0 {
        return (String::new(), v / p);
    }
    let digits = format!("{:0width$}", frac, width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / p)
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = s;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let int: u128 = if int_len > 0 {
            s[..int_len].parse().map_err(|_| invalid())?
        } else {
            0
        };
        s = &s[int_len..];
        let mut frac = String::new();
        if let Some(r) = s.strip_prefix('.') {
            let n = r.bytes().take_while(|c| c.is_ascii_digit()).count();
            frac = r[..n].to_string();
            s = &r[n..];
            if int_len == 0 && n == 0 {
                return Err(invalid());
            }
        }
        let unit_len = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        let mut v = int.checked_mul(scale).ok_or_else(invalid)?;
        if !frac.is_empty() {
            let f: f64 = format!("0.{frac}").parse().unwrap_or(0.0);
            v += (f * scale as f64) as u128;
        }
        total += v;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse() {
        let t = parse(
            "2006-01-02 15:04:05.999",
            "2020-03-04 05:06:07.123",
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(
            t.format("Jan _2 Mon 3PM .000 MST -07:00"),
            "Mar  4 Wed 5AM .123 UTC +00:00"
        );
        let t = parse(
            "2006-01-02T15:04:05Z07:00",
            "2020-01-02T03:04:05+02:00",
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(t.display(), "2020-01-02 03:04:05 +0200 +0200");
        assert_eq!(
            parse("2006-01-02", "x", &TimeZone::UTC).unwrap_err(),
            "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\""
        );
        let t = parse("15:04", "10:30", &TimeZone::UTC).unwrap();
        assert_eq!(t.display(), "0000-01-01 10:30:00 +0000 UTC");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(90_000_000_000), "1m30s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("-1.5h").unwrap(), -5_400_000_000_000);
        assert_eq!(
            parse_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
    }
}
