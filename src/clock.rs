//! Wall-clock timestamps for events, in RFC 3339 UTC with milliseconds,
//! without pulling in a date crate for one format.

use std::time::{Duration, SystemTime};

/// `2026-12-04T16:05:09.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let since =
        t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// `16:05:09.123`, for the human view.
pub fn time_of_day(t: SystemTime) -> String {
    rfc3339(t)[11..23].to_string()
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// well-known days-to-civil arithmetic, in 400-year eras).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let at = |s: u64, ms: u64| {
            SystemTime::UNIX_EPOCH + Duration::from_millis(s * 1000 + ms)
        };
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            rfc3339(at(1_796_401_509, 123)),
            "2026-12-04T16:25:09.123Z"
        );
        assert_eq!(time_of_day(at(1_796_401_509, 123)), "16:25:09.123");
    }
}
