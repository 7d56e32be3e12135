//! Promotion windows: when automatic promotions into a stage may happen. A window opens at every time its
//! five-field cron schedule matches (minute hour day-of-month month day-of-week, in its time zone) and stays open
//! for its duration. As Argo CD sync windows: with `allow` windows, promotions only while one is open; never while
//! a `deny` window is open. Pure: the time is a parameter.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use tack_model::PromotionWindow;

use crate::gate::parse_duration;

/// The longest window duration accepted (a window open longer than a week is a schedule mistake).
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far ahead the next opening is searched for the status message.
const LOOKAHEAD_MINUTES: i64 = 8 * 24 * 60;

/// A parsed window.
#[derive(Clone, Debug)]
pub struct Window {
    deny: bool,
    schedule: Schedule,
    duration: Duration,
    tz: TimeZone,
    text: String,
}

/// Whether promotions may happen now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No window holds promotions.
    Open,
    /// Held; the reason names the window and when it (or an allow window) opens next.
    Held(String),
}

/// Parses a stage's windows; the error says which field is wrong.
pub fn parse(windows: &[PromotionWindow]) -> Result<Vec<Window>, String> {
    windows.iter().map(parse_one).collect()
}

fn parse_one(w: &PromotionWindow) -> Result<Window, String> {
    let deny = match w.kind.as_deref().unwrap_or("allow") {
        "allow" => false,
        "deny" => true,
        other => {
            return Err(format!(
                "promotion window kind {other:?} is neither allow nor deny"
            ));
        }
    };
    let schedule = Schedule::parse(&w.schedule)
        .map_err(|e| format!("promotion window schedule {:?}: {e}", w.schedule))?;
    let duration = parse_duration(&w.duration)
        .filter(|d| !d.is_zero() && *d <= MAX_DURATION)
        .ok_or_else(|| {
            format!(
                "promotion window duration {:?} is not a duration between 1m and 168h such as 1h or 30m",
                w.duration
            )
        })?;
    let zone = w.time_zone.as_deref().unwrap_or("UTC");
    let tz = TimeZone::get(zone).map_err(|e| format!("promotion window timeZone {zone:?}: {e}"))?;
    Ok(Window {
        deny,
        schedule,
        duration,
        tz,
        text: format!(
            "{} {} for {} ({zone})",
            if deny { "deny" } else { "allow" },
            w.schedule,
            w.duration
        ),
    })
}

impl Window {
    /// When the window opened last if it is open at `now`.
    fn opened(&self, now: Timestamp) -> Option<Zoned> {
        let now = now.to_zoned(self.tz.clone());
        let minute = floor_minute(&now)?;
        let span = i64::try_from(self.duration.as_secs() / 60).unwrap_or(0);
        // The window is open if it opened within the last `duration` (opening minute included, end excluded).
        let mut t = minute;
        for _ in 0..=span {
            if self.schedule.matches(&t) {
                let end = t.timestamp() + self.duration;
                return (now.timestamp() < end).then_some(t);
            }
            t = t.checked_sub(1.minute()).ok()?;
        }
        None
    }

    /// The next time the window opens after `now`, within the look-ahead.
    fn next_opening(&self, now: Timestamp) -> Option<Zoned> {
        let mut t = floor_minute(&now.to_zoned(self.tz.clone()))?;
        for _ in 0..LOOKAHEAD_MINUTES {
            t = t.checked_add(1.minute()).ok()?;
            if self.schedule.matches(&t) {
                return Some(t);
            }
        }
        None
    }
}

fn floor_minute(t: &Zoned) -> Option<Zoned> {
    t.with().second(0).subsec_nanosecond(0).build().ok()
}

/// Whether the windows let an automatic promotion through at `now`.
pub fn verdict(windows: &[Window], now: Timestamp) -> Verdict {
    if let Some((w, opened)) = windows
        .iter()
        .filter(|w| w.deny)
        .find_map(|w| w.opened(now).map(|o| (w, o)))
    {
        let ends = opened.timestamp() + w.duration;
        return Verdict::Held(format!("held by the promotion window {} until {ends}", w.text));
    }
    let allow: Vec<&Window> = windows.iter().filter(|w| !w.deny).collect();
    if allow.is_empty() || allow.iter().any(|w| w.opened(now).is_some()) {
        return Verdict::Open;
    }
    let next = allow
        .iter()
        .filter_map(|w| w.next_opening(now).map(|t| (t.timestamp(), w)))
        .min_by_key(|(t, _)| *t);
    Verdict::Held(match next {
        Some((t, w)) => format!("outside the promotion windows: {} opens at {t}", w.text),
        None => "outside the promotion windows: none opens within 8 days".into(),
    })
}

/// A five-field cron schedule: the allowed values of each field.
#[derive(Clone, Debug)]
struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Both day fields restricted: either matches (as cron does).
    day_or: bool,
}

impl Schedule {
    fn parse(text: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = fields.as_slice() else {
            return Err("needs five fields: minute hour day-of-month month day-of-week".into());
        };
        let mut weekdays = field(dow, 0, 7, "day-of-week")?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        Ok(Schedule {
            minutes: field(m, 0, 59, "minute")?,
            hours: field(h, 0, 23, "hour")?,
            days: field(dom, 1, 31, "day-of-month")?,
            months: field(mon, 1, 12, "month")?,
            weekdays,
            day_or: *dom != "*" && *dow != "*",
        })
    }

    fn matches(&self, t: &Zoned) -> bool {
        let idx = |v: i8| usize::try_from(v).unwrap_or(usize::MAX);
        let get = |set: &[bool], v: usize| set.get(v).copied().unwrap_or(false);
        let dom = get(&self.days, idx(t.day()));
        let dow = get(&self.weekdays, idx(t.weekday().to_sunday_zero_offset()));
        let day = if self.day_or { dom || dow } else { dom && dow };
        get(&self.minutes, idx(t.minute()))
            && get(&self.hours, idx(t.hour()))
            && get(&self.months, idx(t.month()))
            && day
    }
}

/// One cron field: `*`, `N`, `N-M`, lists `a,b`, steps `*/S` or `N-M/S`. Returns a table indexed by value.
fn field(text: &str, min: usize, max: usize, name: &str) -> Result<Vec<bool>, String> {
    let mut set = vec![false; max + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name}: step {s:?} is not a positive number"))?,
            ),
            None => (part, 1),
        };
        let number = |s: &str| -> Result<usize, String> {
            s.parse::<usize>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or_else(|| format!("{name}: {s:?} is not a number from {min} to {max}"))
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None => {
                    let v = number(r)?;
                    (v, if part.contains('/') { max } else { v })
                }
            },
        };
        if lo > hi {
            return Err(format!("{name}: range {range:?} goes backwards"));
        }
        for v in (lo..=hi).step_by(step) {
            set[v] = true;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(kind: &str, schedule: &str, duration: &str, tz: &str) -> PromotionWindow {
        PromotionWindow {
            kind: Some(kind.into()),
            schedule: schedule.into(),
            duration: duration.into(),
            time_zone: Some(tz.into()),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn office_hours_in_a_time_zone() {
        // Opens at 09:00 Paris time on weekdays, for 8 hours.
        let w = parse(&[window("allow", "0 9 * * 1-5", "8h", "Europe/Paris")]).expect("parse");
        // Monday 2026-12-07 08:30 UTC = 09:30 in Paris (CET, +01:00): open.
        assert_eq!(verdict(&w, at("2026-12-07T08:30:00Z")), Verdict::Open);
        // 15:59 UTC = 16:59 Paris, one minute before the end: open; 16:00 UTC = 17:00 Paris: closed.
        assert_eq!(verdict(&w, at("2026-12-07T15:59:00Z")), Verdict::Open);
        let Verdict::Held(reason) = verdict(&w, at("2026-12-07T16:00:00Z")) else {
            panic!("17:00 in Paris is after the window")
        };
        assert_eq!(
            reason,
            "outside the promotion windows: allow 0 9 * * 1-5 for 8h (Europe/Paris) opens at 2026-12-08T08:00:00Z"
        );
        // Saturday: closed; the next opening is Monday.
        let Verdict::Held(reason) = verdict(&w, at("2026-12-12T10:00:00Z")) else {
            panic!("Saturday is outside")
        };
        assert!(reason.ends_with("opens at 2026-12-14T08:00:00Z"), "{reason}");
    }

    #[test]
    fn deny_wins_and_no_window_is_open() {
        assert_eq!(verdict(&[], at("2026-12-07T08:30:00Z")), Verdict::Open);
        let w = parse(&[
            window("allow", "* * * * *", "1m", "UTC"),
            window("deny", "0 22 * * 5", "60h", "UTC"),
        ])
        .expect("parse");
        assert_eq!(verdict(&w, at("2026-12-10T12:00:00Z")), Verdict::Open);
        // Friday 2026-12-11 22:00 UTC to Monday 10:00 UTC: frozen.
        let Verdict::Held(reason) = verdict(&w, at("2026-12-12T12:00:00Z")) else {
            panic!("weekend freeze")
        };
        assert_eq!(
            reason,
            "held by the promotion window deny 0 22 * * 5 for 60h (UTC) until 2026-12-14T10:00:00Z"
        );
        assert_eq!(verdict(&w, at("2026-12-14T10:00:00Z")), Verdict::Open);
    }

    #[test]
    fn cron_fields() {
        let s = Schedule::parse("*/15 9-17/2 1,15 * 0").expect("parse");
        assert!(s.minutes[0] && s.minutes[45] && !s.minutes[10]);
        assert!(s.hours[9] && s.hours[11] && !s.hours[10] && !s.hours[18]);
        assert!(s.day_or);
        assert!(Schedule::parse("0 9 * *").is_err());
        assert!(Schedule::parse("60 * * * *").is_err());
        assert!(Schedule::parse("5-1 * * * *").is_err());
        assert!(parse(&[window("maybe", "* * * * *", "1h", "UTC")]).is_err());
        assert!(parse(&[window("allow", "* * * * *", "0s", "UTC")]).is_err());
        let err = parse(&[window("allow", "* * * * *", "1h", "Mars/Olympus")]).expect_err("zone");
        assert!(err.contains("Mars/Olympus"), "{err}");
    }
}
