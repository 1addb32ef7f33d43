/// The import's words for people: the progress line and grouped numbers.
public enum ImportText {
    /// 1234567 as "1,234,567".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }
}

extension ImportSummary {
    /// The progress line: "412,000 rows  98,112 rows/s  41.2 %  0 bad rows" (the percent of the
    /// file's bytes read, when its size is known).
    public var progressText: String {
        var text = "\(ImportText.grouped(rowCount)) rows  \(ImportText.grouped(Int(rowsPerSecond))) rows/s"
        if let percent = percentByBytes {
            let tenths = Int((percent * 10).rounded())
            text += "  \(tenths / 10).\(tenths % 10) %"
        }
        return text + "  \(ImportText.grouped(errorCount)) bad rows"
    }
}
