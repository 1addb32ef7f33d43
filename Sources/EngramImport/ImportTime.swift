/// Timestamps of an import file (docs/IMPORT.md, "Times"): RFC 3339 and what PostgreSQL writes for
/// a `timestamptz`, so a file `COPY ... TO` wrote loads unchanged:
///
/// ```
/// time   := date [("T" | "t" | " ") clock [zone]]
/// date   := YYYY "-" MM "-" DD
/// clock  := hh ":" mm [":" ss ["." fraction]]            fraction: 1 to 9 digits, cut to µs
/// zone   := "Z" | "z" | ("+" | "-") hh [[":"] mm]         none: UTC
/// ```
enum ImportTime {
    /// Microseconds since 1970-01-01T00:00:00Z, or nil when `text` is not such a time.
    static func microseconds(_ text: String) -> Int64? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(4), scanner.take(UInt8(ascii: "-")),
              let month = scanner.digits(2), scanner.take(UInt8(ascii: "-")),
              let day = scanner.digits(2), (1...12).contains(month), (1...daysIn(month, year)).contains(day) else { return nil }
        var seconds = daysSince1970(year: year, month: month, day: day) * 86_400
        var micros: Int64 = 0
        if !scanner.atEnd {
            guard scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: "t")) || scanner.take(UInt8(ascii: " ")),
                  let hour = scanner.digits(2), scanner.take(UInt8(ascii: ":")), let minute = scanner.digits(2),
                  hour < 24, minute < 60 else { return nil }
            var second: Int64 = 0
            if scanner.take(UInt8(ascii: ":")) {
                guard let value = scanner.digits(2), value < 61 else { return nil }
                second = value
                if scanner.take(UInt8(ascii: ".")) {
                    guard let fraction = scanner.fractionMicroseconds() else { return nil }
                    micros = fraction
                }
            }
            seconds += hour * 3_600 + minute * 60 + second
            guard let offset = scanner.zoneSeconds(), scanner.atEnd else { return nil }
            seconds -= offset
        }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return nil }
        return product + micros
    }

    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date, proleptic Gregorian (Howard Hinnant's days_from_civil).
    static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func digits(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += count
            return value
        }

        /// 1 to 9 digits after the point, as microseconds (digits past the sixth are cut).
        mutating func fractionMicroseconds() -> Int64? {
            var value: Int64 = 0
            var count = 0
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                guard count < 9 else { return nil }
                if count < 6 { value = value * 10 + Int64(bytes[index] - 0x30) }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            if count < 6 { for _ in count..<6 { value *= 10 } }
            return value
        }

        /// The zone's offset east of UTC in seconds; 0 when there is none.
        mutating func zoneSeconds() -> Int64? {
            if atEnd { return 0 }
            if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) { return 0 }
            let sign: Int64
            if take(UInt8(ascii: "+")) { sign = 1 } else if take(UInt8(ascii: "-")) { sign = -1 } else { return nil }
            guard let hours = digits(2), hours < 24 else { return nil }
            var minutes: Int64 = 0
            if !atEnd {
                _ = take(UInt8(ascii: ":"))
                guard let value = digits(2), value < 60 else { return nil }
                minutes = value
            }
            return sign * (hours * 3_600 + minutes * 60)
        }
    }
}
