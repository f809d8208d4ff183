//! `strftime_now(format)` for chat templates (Llama 3 writes "Today Date:
//! 26 Jul 2024" with `strftime_now("%d %b %Y")`). Times are UTC; the
//! directives are those of C/Python `strftime` that templates use.

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
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32, // 1..=12
    day: u32,   // 1..=31
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize, // 0 = Monday
    yday: u32,      // 1..=366
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = u32::from(is_leap(year) && month > 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
        // 1970-01-01 was a Thursday (index 3).
        weekday: (days + 3).rem_euclid(7) as usize,
        yday: cumulative[month as usize - 1] + day + leap,
    }
}

/// Formats `secs` (Unix time, UTC) with a `strftime` format string.
/// Unknown directives are an error naming the directive.
pub(super) fn format_utc(format: &str, secs: i64) -> Result<String, String> {
    let t = civil(secs);
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            return Err(format!("strftime_now: format {format:?} ends with a lone '%'"));
        };
        let hour12 = if t.hour.is_multiple_of(12) { 12 } else { t.hour % 12 };
        let piece = match d {
            'Y' => t.year.to_string(),
            'y' => format!("{:02}", t.year.rem_euclid(100)),
            'm' => format!("{:02}", t.month),
            'd' => format!("{:02}", t.day),
            'e' => format!("{:>2}", t.day),
            'B' => MONTHS[t.month as usize - 1].to_string(),
            'b' | 'h' => MONTHS[t.month as usize - 1][..3].to_string(),
            'A' => DAYS[t.weekday].to_string(),
            'a' => DAYS[t.weekday][..3].to_string(),
            'H' => format!("{:02}", t.hour),
            'I' => format!("{hour12:02}"),
            'M' => format!("{:02}", t.minute),
            'S' => format!("{:02}", t.second),
            'p' => if t.hour < 12 { "AM" } else { "PM" }.to_string(),
            'j' => format!("{:03}", t.yday),
            'F' => format!("{}-{:02}-{:02}", t.year, t.month, t.day),
            'T' => format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            '%' => "%".to_string(),
            other => return Err(format!("strftime_now: unsupported directive %{other} in {format:?}")),
        };
        out.push_str(&piece);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // (unix seconds, format, expected): checked against Python
        // `datetime.fromtimestamp(s, timezone.utc).strftime(fmt)`.
        let cases = [
            (0, "%Y-%m-%d %H:%M:%S %a %j", "1970-01-01 00:00:00 Thu 001"),
            (1_721_952_000, "%d %b %Y", "26 Jul 2024"),
            (1_709_208_000, "%A %d %B %Y %I%p", "Thursday 29 February 2024 12PM"),
            (1_735_689_599, "%F %T %j %y", "2024-12-31 23:59:59 366 24"),
            (951_782_400, "%e/%m %%", "29/02 %"),
            (-86_400, "%Y-%m-%d %A", "1969-12-31 Wednesday"),
        ];
        for (secs, fmt, want) in cases {
            assert_eq!(format_utc(fmt, secs).unwrap(), want, "{secs} {fmt}");
        }
    }

    #[test]
    fn bad_directives_are_errors() {
        assert!(format_utc("%Q", 0).unwrap_err().contains("%Q"));
        assert!(format_utc("50%", 0).unwrap_err().contains("lone"));
    }
}
