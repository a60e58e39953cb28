//! The `Date` header value, formatted by hand and cached for a second.
//!
//! RFC 9110 §6.6.1 requires an origin server with a clock to send `Date` in
//! IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7). Its
//! resolution is one second, so the formatted value is recomputed at most once a
//! second instead of once per response; formatting is done here to avoid a
//! calendar dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// What goes before the value in a `Date` field line.
const FIELD_NAME: &[u8] = b"date: ";

/// Length of a whole `Date` field line: name, value, CRLF.
const LINE_LEN: usize = FIELD_NAME.len() + DATE_LEN + 2;

/// A formatted `Date` field line and the Unix second it was made for. The
/// whole line is kept, so a response head copies it in one piece.
#[derive(Debug, Clone)]
pub(crate) struct DateCache {
    second: u64,
    line: [u8; LINE_LEN],
}

impl DateCache {
    /// Makes a cache holding the current time.
    pub(crate) fn new() -> Self {
        let second = unix_now();
        DateCache {
            second,
            line: field_line(second),
        }
    }

    /// The field line (`date: <IMF-fixdate>\r\n`) for the current second,
    /// reformatted only when the second changed.
    pub(crate) fn line(&mut self) -> &[u8; LINE_LEN] {
        let second = unix_now();
        if second != self.second {
            self.second = second;
            self.line = field_line(second);
        }
        &self.line
    }
}

/// The `Date` field line for Unix second `secs`.
fn field_line(secs: u64) -> [u8; LINE_LEN] {
    let mut line = [0; LINE_LEN];
    let (name, rest) = line.split_at_mut(FIELD_NAME.len());
    name.copy_from_slice(FIELD_NAME);
    rest[..DATE_LEN].copy_from_slice(&format_imf_fixdate(secs));
    rest[DATE_LEN..].copy_from_slice(b"\r\n");
    line
}

/// Seconds since the Unix epoch; a clock set before 1970 reads as the epoch.
///
/// Read once per response, so on Linux from the coarse clock: the kernel's
/// time as of its last tick (a few milliseconds old at most, nothing next to a
/// resolution of one second), read without the hardware counter and the
/// conversions `SystemTime` goes through.
#[cfg(target_os = "linux")]
fn unix_now() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0;
    match u64::try_from(now.tv_sec) {
        Ok(secs) if ok => secs,
        _ => system_now(),
    }
}

#[cfg(not(target_os = "linux"))]
fn unix_now() -> u64 {
    system_now()
}

/// [`unix_now`] from `SystemTime`.
fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats Unix seconds as an IMF-fixdate (RFC 9110 §5.6.7), the form of
/// `Date`, `Last-Modified` and `Expires`: `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// ```
/// let date = ringo_proto::http::format_imf_fixdate(784_111_777);
/// assert_eq!(&date, b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn format_imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday, the first name in DAYS.
    let weekday = DAYS[(days % 7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(weekday);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(month_name);
    // Years past 9999 (far beyond any real clock) print their last four digits.
    two_digits(&mut out[12..14], (year / 100) % 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], rem / 3600);
    two_digits(&mut out[20..22], (rem / 60) % 60);
    two_digits(&mut out[23..25], rem % 60);
    out
}

/// Writes `n` (below 100) as two ASCII digits into a two-byte slice.
fn two_digits(dst: &mut [u8], n: u64) {
    let pair = [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    dst.copy_from_slice(&pair);
}

/// Converts days since 1970-01-01 to (year, month 1..=12, day 1..=31).
///
/// Howard Hinnant's `civil_from_days` algorithm
/// (<https://howardhinnant.github.io/date_algorithms.html>), on unsigned
/// numbers since the input is never before the epoch: it counts in 400-year eras
/// of 146097 days that start on March 1st, so the leap day is the era's last.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch from 1970-01-01 to 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants_as_imf_fixdate() {
        let cases: [(&str, u64, &[u8]); 5] = [
            ("epoch", 0, b"Thu, 01 Jan 1970 00:00:00 GMT"),
            ("rfc example", 784_111_777, b"Sun, 06 Nov 1994 08:49:37 GMT"),
            ("leap day", 951_782_400, b"Tue, 29 Feb 2000 00:00:00 GMT"),
            (
                "end of year",
                1_704_067_199,
                b"Sun, 31 Dec 2023 23:59:59 GMT",
            ),
            ("y2038", 2_147_483_648, b"Tue, 19 Jan 2038 03:14:08 GMT"),
        ];
        for (name, secs, want) in cases {
            assert_eq!(&format_imf_fixdate(secs)[..], want, "case {name}");
        }
    }

    #[test]
    fn the_clock_read_agrees_with_system_time() {
        let before = system_now();
        let now = unix_now();
        let after = system_now();
        // The coarse clock may lag the precise one by a tick, never a second.
        assert!(
            before.saturating_sub(1) <= now && now <= after,
            "{before} {now} {after}"
        );
    }

    #[test]
    fn cache_returns_a_well_formed_current_date_line() {
        let mut cache = DateCache::new();
        let line = *cache.line();
        assert_eq!(&line[..6], b"date: ");
        let value = &line[6..LINE_LEN - 2];
        assert_eq!(&value[25..], b" GMT");
        assert_eq!(value[3], b',');
        assert_eq!(&line[LINE_LEN - 2..], b"\r\n");
    }
}
