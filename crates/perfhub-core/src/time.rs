//! Moments in UTC, to the second: RFC 3339 parsing and the few formats
//! perfhub's adapters write (RFC 3339, iCalendar's basic form, dates, ISO
//! weeks), without a date-time dependency.
//!
//! [`UtcTime`] is also the type of a report's `created`: it is written as
//! [`UtcTime::rfc3339`] and read by [`UtcTime::parse`].

/// A moment in UTC, to the second.
///
/// Serialized as `YYYY-MM-DDTHH:MM:SSZ`; deserialized from any RFC 3339
/// form [`UtcTime::parse`] reads, a string that is not one refused with an
/// error that quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
}

/// The calendar fields of a [`UtcTime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// The year (proleptic Gregorian).
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
    /// The hour, 0 to 23.
    pub hour: u32,
    /// The minute, 0 to 59.
    pub minute: u32,
    /// The second, 0 to 59.
    pub second: u32,
}

impl UtcTime {
    /// The current time, to the second (the epoch on a clock set before it).
    pub fn now() -> UtcTime {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        UtcTime { unix }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, the form RFC 3339
    /// requires (a space or lower-case `t`/`z` also accepted, as RFC 3339
    /// allows), around which white space is ignored. Fractions of a second
    /// are dropped; a leap second is read as :59.
    pub fn parse(text: &str) -> Option<UtcTime> {
        let f = Fields::parse(text.trim())?;
        Some(UtcTime {
            unix: f.unix(f.second.min(59)),
        })
    }

    /// Parses the same form exactly (no white space around it) into
    /// milliseconds since the Unix epoch, keeping the first three digits of
    /// the fraction; a leap second counts as the next minute's :00.
    pub fn parse_millis(text: &str) -> Option<i64> {
        let f = Fields::parse(text)?;
        Some(f.unix(f.second) * 1000 + i64::from(f.nanos / 1_000_000))
    }

    /// Parses the same form exactly (no white space around it) into seconds
    /// since the Unix epoch and the nanoseconds past them (the first nine
    /// digits of the fraction; the rest are dropped); a leap second counts
    /// as the next minute's :00.
    ///
    /// This is the one RFC 3339 parser: [`UtcTime::parse`] and
    /// [`UtcTime::parse_millis`] are it, rounded down.
    pub fn parse_nanos(text: &str) -> Option<(i64, u32)> {
        let f = Fields::parse(text)?;
        Some((f.unix(f.second), f.nanos))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.unix.div_euclid(86_400)
    }

    /// The calendar date and time of day.
    pub fn civil(self) -> Civil {
        let (year, month, day) = civil_from_days(self.days());
        let secs = self.unix.rem_euclid(86_400);
        // rem_euclid keeps these within one day, so they fit u32.
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// `YYYYMMDDTHHMMSSZ`: iCalendar's UTC DATE-TIME and Taskwarrior's
    /// import format.
    pub fn basic(self) -> String {
        let c = self.civil();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `YYYY-MM-DD`.
    pub fn date(self) -> String {
        let c = self.civil();
        format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
    }

    /// The ISO 8601 week: (week-numbering year, week 1-53).
    pub fn iso_week(self) -> (i64, u32) {
        let days = self.days();
        // 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays.
        let weekday = (days + 3).rem_euclid(7);
        // The week belongs to the year its Thursday falls in.
        let thursday = days - weekday + 3;
        let (year, _, _) = civil_from_days(thursday);
        let ordinal = thursday - days_from_civil(year, 1, 1);
        (year, (ordinal / 7 + 1) as u32)
    }

    /// The Monday that starts this moment's ISO week.
    pub fn week_start(self) -> UtcTime {
        let days = self.days();
        let monday = days - (days + 3).rem_euclid(7);
        UtcTime {
            unix: monday * 86_400,
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn rfc3339(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `YYYYMMDDTHHMMSSZ` in lower case, for names.
    pub fn compact(self) -> String {
        let c = self.civil();
        format!(
            "{:04}{:02}{:02}t{:02}{:02}{:02}z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// What [`UtcTime`]'s [`FromStr`](std::str::FromStr) and deserialization
/// refuse: a string that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 timestamp such as 2026-01-05T08:00:00Z")]
pub struct NotRfc3339(pub String);

impl std::str::FromStr for UtcTime {
    type Err = NotRfc3339;

    /// [`UtcTime::parse`], with an error that quotes the text.
    fn from_str(text: &str) -> Result<UtcTime, NotRfc3339> {
        UtcTime::parse(text).ok_or_else(|| NotRfc3339(text.to_string()))
    }
}

/// [`UtcTime::rfc3339`].
impl std::fmt::Display for UtcTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl serde::Serialize for UtcTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for UtcTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UtcTime, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UtcTime;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp such as 2026-01-05T08:00:00Z")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<UtcTime, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The fields of an RFC 3339 time, as written.
struct Fields {
    days: i64,
    hour: i64,
    minute: i64,
    /// 0 to 60 (a leap second).
    second: i64,
    /// The first nine digits of the fraction, as nanoseconds.
    nanos: u32,
    /// The offset from UTC, in seconds.
    offset: i64,
}

impl Fields {
    fn parse(text: &str) -> Option<Fields> {
        let s = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(range)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
            return None;
        }
        if !matches!(s[10], b'T' | b't' | b' ') {
            return None;
        }
        let year = num(0..4)?;
        let month = u32::try_from(num(5..7)?).ok()?;
        let day = u32::try_from(num(8..10)?).ok()?;
        let hour = num(11..13)?;
        let minute = num(14..16)?;
        let second = num(17..19)?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0;
        if s.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(d - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..9 {
                nanos *= 10;
            }
        }
        let offset = match s.get(i) {
            Some(b'Z' | b'z') if i + 1 == s.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == s.len() && s[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if sign == b'+' { o } else { -o }
            }
            _ => return None,
        };
        Some(Fields {
            days: days_from_civil(year, month, day),
            hour,
            minute,
            second,
            nanos,
            offset,
        })
    }

    /// Seconds since the Unix epoch, with `second` for the seconds field.
    fn unix(&self, second: i64) -> i64 {
        self.days * 86_400 + self.hour * 3600 + self.minute * 60 + second - self.offset
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a
/// proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions_into_utc() {
        let t = UtcTime::parse("2026-01-05T08:09:10.123456Z").unwrap();
        assert_eq!(t.basic(), "20260105T080910Z");
        let t = UtcTime::parse("2026-01-05T01:00:00+02:00").unwrap();
        assert_eq!(t.basic(), "20260104T230000Z");
        let t = UtcTime::parse("2024-02-29T23:30:00-01:00").unwrap();
        assert_eq!(t.basic(), "20240301T003000Z");
        assert_eq!(UtcTime::parse("1970-01-01T00:00:00Z").unwrap().unix, 0);
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00.Z",
            "２０２６-01-01T00:00:00Z",
        ] {
            assert!(UtcTime::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn milliseconds_keep_the_fraction_and_leap_seconds() {
        assert_eq!(
            UtcTime::parse_millis("2026-01-01T02:00:00.5+02:00"),
            Some(1_767_225_600_500)
        );
        // A leap second: :59 to the second, the next minute to the millisecond.
        let leap = "2016-12-31T23:59:60.250Z";
        assert_eq!(
            UtcTime::parse(leap).unwrap().rfc3339(),
            "2016-12-31T23:59:59Z"
        );
        assert_eq!(
            UtcTime::parse_millis(leap),
            Some(UtcTime::parse("2017-01-01T00:00:00Z").unwrap().unix * 1000 + 250)
        );
        assert_eq!(UtcTime::parse("2026-01-01T00:00:61Z"), None);
        assert_eq!(UtcTime::parse_millis(" 2026-01-01T00:00:00Z"), None);
    }

    #[test]
    fn nanoseconds_keep_nine_digits_of_the_fraction() {
        assert_eq!(UtcTime::parse_nanos("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            UtcTime::parse_nanos("2026-01-01T00:00:00.5Z"),
            Some((1_767_225_600, 500_000_000))
        );
        assert_eq!(
            UtcTime::parse_nanos("2026-01-01T00:00:00.123456789987Z"),
            Some((1_767_225_600, 123_456_789))
        );
        // Before the epoch the seconds are negative and the fraction still
        // counts forward from them.
        assert_eq!(
            UtcTime::parse_nanos("1969-12-31T23:59:59.25Z"),
            Some((-1, 250_000_000))
        );
        assert_eq!(UtcTime::parse_millis("1969-12-31T23:59:59.25Z"), Some(-750));
        assert_eq!(
            UtcTime::parse_nanos("2016-12-31T23:59:60.5Z"),
            Some((1_483_228_800, 500_000_000))
        );
    }

    #[test]
    fn offsets_shift_to_utc_both_ways() {
        let utc = UtcTime::parse_millis("2026-03-01T12:00:00Z").unwrap();
        for (text, shift_minutes) in [
            ("2026-03-01T12:00:00+00:00", 0),
            ("2026-03-01T12:00:00-00:00", 0),
            ("2026-03-01T12:00:00+05:30", 330),
            ("2026-03-01T12:00:00-09:45", -585),
            ("2026-03-01T12:00:00+23:59", 1439),
        ] {
            assert_eq!(
                UtcTime::parse_millis(text),
                Some(utc - shift_minutes * 60_000),
                "{text}"
            );
        }
        // An offset that crosses midnight, a month end and a leap day.
        assert_eq!(
            UtcTime::parse("2024-03-01T00:30:00+01:00")
                .unwrap()
                .rfc3339(),
            "2024-02-29T23:30:00Z"
        );
        assert_eq!(
            UtcTime::parse("2023-12-31T23:30:00-01:00")
                .unwrap()
                .rfc3339(),
            "2024-01-01T00:30:00Z"
        );
    }

    #[test]
    fn leap_days_only_in_leap_years() {
        for good in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "1600-02-29T00:00:00Z",
        ] {
            let t = UtcTime::parse(good).unwrap();
            assert_eq!(t.rfc3339(), good);
        }
        assert_eq!(
            UtcTime::parse_millis("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-04-31T00:00:00Z",
        ] {
            assert_eq!(UtcTime::parse_nanos(bad), None, "{bad}");
        }
        assert_eq!(
            UtcTime::parse("2024-12-31T23:59:59Z").unwrap().days()
                - UtcTime::parse("2024-01-01T00:00:00Z").unwrap().days(),
            365
        );
    }

    #[test]
    fn lower_case_and_space_separators_are_rfc3339() {
        let want = UtcTime::parse_millis("2026-01-02T03:04:05.678Z");
        for text in [
            "2026-01-02t03:04:05.678z",
            "2026-01-02 03:04:05.678Z",
            "2026-01-02T05:04:05.678123+02:00",
            "2026-01-02t01:04:05.678-02:00",
        ] {
            assert_eq!(UtcTime::parse_millis(text), want, "{text}");
        }
        assert_eq!(want, Some(1_767_323_045_678));
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "yesterday",
            "2026",
            "2026-01-01",
            "x026-01-01T00:00:00Z",
            "+026-01-01T00:00:00Z",
            "2026-1-01T00:00:00Z",
            "2026/01/01T00:00:00Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00Zjunk",
            "2026-01-01T00:00:00ZZ",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00,5Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:61Z",
            "2026-01-01T+1:00:00Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00+02",
            "2026-01-01T00:00:00+02x00",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+02:60",
            "2026-01-01T00:00:00+02:00:00",
            "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T00:00:00.5µZ",
            "２０２６-01-01T00:00:00Z",
        ] {
            assert_eq!(UtcTime::parse_nanos(bad), None, "{bad}");
            assert_eq!(UtcTime::parse_millis(bad), None, "{bad}");
            assert_eq!(UtcTime::parse(bad), None, "{bad}");
        }
        // White space is the caller's to trim: `parse` does, the exact
        // forms do not.
        assert!(UtcTime::parse(" 2026-01-01T00:00:00Z\n").is_some());
        assert_eq!(UtcTime::parse_nanos("2026-01-01T00:00:00Z "), None);
    }

    #[test]
    fn iso_weeks_follow_thursdays() {
        let week = |s: &str| UtcTime::parse(s).unwrap().iso_week();
        assert_eq!(week("2026-01-01T12:00:00Z"), (2026, 1)); // a Thursday
        assert_eq!(week("2027-01-01T12:00:00Z"), (2026, 53)); // a Friday
        assert_eq!(week("2024-12-30T00:00:00Z"), (2025, 1)); // a Monday
        assert_eq!(week("2021-01-03T23:59:59Z"), (2020, 53)); // a Sunday
        let monday = UtcTime::parse("2026-01-08T10:00:00Z").unwrap().week_start();
        assert_eq!(monday.date(), "2026-01-05");
    }

    #[test]
    fn writes_rfc3339_and_compact_forms() {
        let t = UtcTime::parse("2026-01-05T08:09:10.123456Z").unwrap();
        assert_eq!(t.rfc3339(), "2026-01-05T08:09:10Z");
        let t = UtcTime::parse("2026-01-05T01:00:00+02:00").unwrap();
        assert_eq!(t.rfc3339(), "2026-01-04T23:00:00Z");
        let t = UtcTime::parse("2024-02-29T23:30:00-01:00").unwrap();
        assert_eq!(t.compact(), "20240301t003000z");
    }
}
