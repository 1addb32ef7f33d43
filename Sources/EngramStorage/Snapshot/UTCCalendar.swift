/// Civil dates in UTC for microsecond times, without Foundation's calendars: the export names
/// PostgreSQL partitions by month and writes `timestamptz` text. The day arithmetic is Howard
/// Hinnant's `civil_from_days`/`days_from_civil` (proleptic Gregorian), exact for every time the
/// records allow (year 1970 to 9999) and for earlier ones.
public enum UTCCalendar {
    public static let microsecondsPerDay: Int64 = 86_400_000_000

    /// Year, month (1-12) and day (1-31) of a day number (days since 1970-01-01).
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The day number of a civil date.
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Floor division, so times before 1970 fall in the right day.
    public static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// The first microsecond of the UTC month holding `microseconds`.
    public static func monthStart(_ microseconds: Int64) -> Int64 {
        let date = civil(fromDays: floorDivide(microseconds, microsecondsPerDay))
        return days(year: date.year, month: date.month, day: 1) * microsecondsPerDay
    }

    /// The first microsecond of the month after the one starting at `monthStart`.
    public static func nextMonthStart(_ monthStart: Int64) -> Int64 {
        let date = civil(fromDays: floorDivide(monthStart, microsecondsPerDay))
        let (year, month) = date.month == 12 ? (date.year + 1, Int64(1)) : (date.year, date.month + 1)
        return days(year: year, month: month, day: 1) * microsecondsPerDay
    }
}
