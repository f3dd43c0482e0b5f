//! Budget periods: the calendar day, week, month or quarter (in the budget's time zone)
//! or the custom-length period that contains an instant.
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// How a budget's periods are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodRule {
    /// Local midnight to local midnight.
    Daily(Tz),
    /// Seven local days from `Weekday` 00:00.
    Weekly(Tz, Weekday),
    /// The local calendar month.
    Monthly(Tz),
    /// The local calendar quarter (January, April, July, October).
    Quarterly(Tz),
    /// Every `length_secs` from `anchor` (no time zone involved).
    Custom {
        /// An instant at which a period starts.
        anchor: DateTime<Utc>,
        /// The length, seconds (more than 0).
        length_secs: i64,
    },
}

/// One period, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First instant.
    pub start: DateTime<Utc>,
    /// First instant of the next period.
    pub end: DateTime<Utc>,
}

impl Period {
    /// The start rounded down to its UTC hour: the first ledger hour the period counts.
    pub fn start_hour(&self) -> i64 {
        floor_hour(self.start.timestamp())
    }
    /// The end rounded down to its UTC hour: the first ledger hour it does not count.
    pub fn end_hour(&self) -> i64 {
        floor_hour(self.end.timestamp())
    }
}

/// Unix seconds rounded down to the hour.
pub fn floor_hour(s: i64) -> i64 {
    s - s.rem_euclid(3600)
}

/// Local midnight starting `date` in `tz`, as UTC. When DST skips midnight (some zones
/// switch at 00:00), the day starts at the first local time that exists.
fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for minutes in 0..=24 * 60 {
        let t = midnight + Duration::minutes(minutes);
        match tz.from_local_datetime(&t) {
            LocalResult::Single(d) => return d.with_timezone(&Utc),
            // At a repeated hour the first occurrence is the start of the day.
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    // No zone skips a whole day at midnight; fall back to UTC midnight.
    Utc.from_utc_datetime(&midnight)
}

fn first_of_month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default()
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + months as i32;
    first_of_month(total.div_euclid(12), total.rem_euclid(12) as u32 + 1)
}

impl PeriodRule {
    /// The period that contains `now`.
    pub fn containing(&self, now: DateTime<Utc>) -> Period {
        let local_date = |tz: &Tz| now.with_timezone(tz).date_naive();
        let span = |tz: Tz, from: NaiveDate, to: NaiveDate| Period {
            start: local_midnight(tz, from),
            end: local_midnight(tz, to),
        };
        match self {
            PeriodRule::Daily(tz) => {
                let d = local_date(tz);
                span(*tz, d, d + Duration::days(1))
            }
            PeriodRule::Weekly(tz, start) => {
                let d = local_date(tz);
                let back =
                    (7 + d.weekday().num_days_from_monday() - start.num_days_from_monday()) % 7;
                let from = d - Duration::days(i64::from(back));
                span(*tz, from, from + Duration::days(7))
            }
            PeriodRule::Monthly(tz) => {
                let d = local_date(tz);
                let from = first_of_month(d.year(), d.month());
                span(*tz, from, add_months(from, 1))
            }
            PeriodRule::Quarterly(tz) => {
                let d = local_date(tz);
                let from = first_of_month(d.year(), d.month0() / 3 * 3 + 1);
                span(*tz, from, add_months(from, 3))
            }
            PeriodRule::Custom {
                anchor,
                length_secs,
            } => {
                let k = (now.timestamp() - anchor.timestamp()).div_euclid(*length_secs);
                let start = *anchor + Duration::seconds(k * length_secs);
                Period {
                    start,
                    end: start + Duration::seconds(*length_secs),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn check(rule: PeriodRule, now: &str, start: &str, end: &str) {
        let p = rule.containing(at(now));
        assert_eq!((p.start, p.end), (at(start), at(end)), "{rule:?} at {now}");
    }

    #[test]
    fn daily_periods_follow_local_midnight_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00 CET→CEST, a 23-hour day.
        check(
            PeriodRule::Daily(berlin),
            "2026-03-29T12:00:00Z",
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z",
        );
        // 2026-10-25: back to CET, a 25-hour day.
        check(
            PeriodRule::Daily(berlin),
            "2026-10-25T12:00:00Z",
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
        );
        // Just before local midnight belongs to the day before.
        check(
            PeriodRule::Daily(berlin),
            "2026-01-10T22:59:59Z",
            "2026-01-09T23:00:00Z",
            "2026-01-10T23:00:00Z",
        );
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_one_oclock() {
        // America/Santiago springs forward at 00:00 (to 01:00) on 2026-09-06.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let p = PeriodRule::Daily(santiago).containing(at("2026-09-06T12:00:00Z"));
        assert_eq!(p.start, at("2026-09-06T04:00:00Z")); // 01:00 -03
        assert_eq!(p.end, at("2026-09-07T03:00:00Z")); // 00:00 -03
    }

    #[test]
    fn weeks_start_on_the_configured_day() {
        let utc: Tz = "UTC".parse().unwrap();
        // 2026-11-26 is a Thursday.
        check(
            PeriodRule::Weekly(utc, Weekday::Mon),
            "2026-11-26T10:00:00Z",
            "2026-11-23T00:00:00Z",
            "2026-11-30T00:00:00Z",
        );
        check(
            PeriodRule::Weekly(utc, Weekday::Sun),
            "2026-11-26T10:00:00Z",
            "2026-11-22T00:00:00Z",
            "2026-11-29T00:00:00Z",
        );
        check(
            PeriodRule::Weekly(utc, Weekday::Thu),
            "2026-11-26T00:00:00Z",
            "2026-11-26T00:00:00Z",
            "2026-12-03T00:00:00Z",
        );
    }

    #[test]
    fn months_and_quarters_use_the_local_calendar() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2027-01-01T03:00Z is still 2026-12-31 in New York.
        check(
            PeriodRule::Monthly(ny),
            "2027-01-01T03:00:00Z",
            "2026-12-01T05:00:00Z",
            "2027-01-01T05:00:00Z",
        );
        check(
            PeriodRule::Quarterly(ny),
            "2027-01-01T03:00:00Z",
            "2026-10-01T04:00:00Z",
            "2027-01-01T05:00:00Z",
        );
        let utc: Tz = "UTC".parse().unwrap();
        check(
            PeriodRule::Quarterly(utc),
            "2026-05-15T00:00:00Z",
            "2026-04-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        );
    }

    #[test]
    fn a_half_hour_zone_starts_mid_hour_and_its_ledger_hours_round_down() {
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let p = PeriodRule::Daily(kolkata).containing(at("2026-11-26T12:00:00Z"));
        assert_eq!(p.start, at("2026-11-25T18:30:00Z"));
        assert_eq!(p.start_hour(), at("2026-11-25T18:00:00Z").timestamp());
        assert_eq!(p.end_hour(), at("2026-11-26T18:00:00Z").timestamp());
    }

    #[test]
    fn custom_periods_repeat_from_the_anchor_both_ways() {
        let rule = PeriodRule::Custom {
            anchor: at("2026-01-05T00:00:00Z"),
            length_secs: 14 * 86_400,
        };
        check(
            rule.clone(),
            "2026-01-20T00:00:00Z",
            "2026-01-19T00:00:00Z",
            "2026-02-02T00:00:00Z",
        );
        check(
            rule,
            "2026-01-04T23:59:59Z",
            "2025-12-22T00:00:00Z",
            "2026-01-05T00:00:00Z",
        );
    }
}
