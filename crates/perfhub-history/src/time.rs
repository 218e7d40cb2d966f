//! RFC 3339 times to and from milliseconds since the Unix epoch.
//!
//! Runs are ordered by the number, not the text: `…:00Z` and `…:00.5Z` do
//! not sort as text in time order, and offsets other than `Z` would not either.

use perfhub_core::time::UtcTime;

/// Parses an RFC 3339 time (`2026-01-01T12:00:00Z`, `…T12:00:00.250+02:00`)
/// into milliseconds since the Unix epoch; `None` when it is not one.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    UtcTime::parse_millis(s)
}

fn utc(millis: i64) -> UtcTime {
    UtcTime {
        unix: millis.div_euclid(1000),
    }
}

/// `YYYY-MM-DD` of a time in milliseconds since the Unix epoch (UTC).
pub(crate) fn format_date(millis: i64) -> String {
    utc(millis).date()
}

/// `YYYY-MM-DD HH:MM` of a time in milliseconds since the Unix epoch (UTC).
pub(crate) fn format_minutes(millis: i64) -> String {
    let c = utc(millis).civil();
    format!("{} {:02}:{:02}", format_date(millis), c.hour, c.minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_offsets_and_fractions() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_millis("2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-01-01T02:00:00.5+02:00"),
            Some(1_767_225_600_500)
        );
        assert_eq!(
            parse_rfc3339_millis("2025-12-31T23:00:00.123456-01:00"),
            Some(1_767_225_600_123)
        );
        assert_eq!(
            parse_rfc3339_millis("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00+0200",
            "２026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_dates_back() {
        assert_eq!(format_date(1_767_225_600_000), "2026-01-01");
        assert_eq!(format_date(1_709_164_800_000), "2024-02-29");
        assert_eq!(
            format_minutes(1_767_225_600_000 + 3_723_000),
            "2026-01-01 01:02"
        );
        assert_eq!(format_date(-86_400_000), "1969-12-31");
    }
}
