/// One field of a CSV record: its bytes in the input window.
struct CSVField {
    var from: Int
    var to: Int
    /// The field held `""` (a quote written twice), to be read as one quote.
    var hasDoubledQuotes: Bool
}

/// Why a CSV record could be read only in part, and the 1-based field where it went wrong.
struct CSVProblem: Equatable {
    var message: String
    var fieldNumber: Int
}

/// RFC 4180 records, scanned in place (docs/IMPORT.md, "CSV"): fields separated by commas,
/// records by LF or CRLF; a field in double quotes may hold commas, line breaks and quotes written
/// twice. Nothing is copied while scanning; the fields are ranges of the window.
enum CSVScanner {
    enum Scan: Equatable {
        /// A whole record: the next one starts at `next`; it spans `newlines` line breaks. A record
        /// the scanner could read only in part carries its `problem`, and is skipped to its end.
        case record(next: Int, newlines: Int, problem: CSVProblem?)
        /// The record runs past the bytes read so far.
        case needMore
        /// A quoted field is still open at the end of the file.
        case unclosedQuote
    }

    static let comma = UInt8(ascii: ",")
    static let quote = UInt8(ascii: "\"")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    /// Scans the record at `start`; `bytes[..<end]` are read, and `atEnd` says nothing follows.
    static func record(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, end: Int, atEnd: Bool, fields: inout [CSVField]) -> Scan {
        fields.removeAll(keepingCapacity: true)
        var index = start
        var newlines = 0
        var problem: CSVProblem?
        while true {
            var field = CSVField(from: index, to: index, hasDoubledQuotes: false)
            if index < end && bytes[index] == quote {
                index += 1
                field.from = index
                while true {
                    guard index < end else { return atEnd ? .unclosedQuote : .needMore }
                    let byte = bytes[index]
                    if byte == quote {
                        if index + 1 < end && bytes[index + 1] == quote {
                            field.hasDoubledQuotes = true
                            index += 2
                            continue
                        }
                        if index + 1 == end && !atEnd { return .needMore }
                        field.to = index
                        index += 1
                        break
                    }
                    if byte == newline { newlines += 1 }
                    index += 1
                }
                // A CRLF after a closing quote ends the record as an LF does.
                if index < end && bytes[index] == carriageReturn {
                    if index + 1 == end && !atEnd { return .needMore }
                    if index + 1 < end && bytes[index + 1] == newline { index += 1 }
                }
                // Only a separator may follow a closing quote; the rest of such a field is skipped.
                if index < end, bytes[index] != comma, bytes[index] != newline {
                    problem = problem ?? CSVProblem(message: "text after the closing quote of field \(fields.count + 1)", fieldNumber: fields.count + 1)
                    while index < end, bytes[index] != comma, bytes[index] != newline { index += 1 }
                }
            } else {
                while index < end, bytes[index] != comma, bytes[index] != newline { index += 1 }
                field.to = index
            }
            guard index < end || atEnd else { return .needMore }
            if index < end && bytes[index] == newline && field.to == index && field.to > field.from && bytes[field.to - 1] == carriageReturn {
                field.to -= 1
            }
            fields.append(field)
            if index == end { return .record(next: index, newlines: newlines, problem: problem) }
            if bytes[index] == newline { return .record(next: index + 1, newlines: newlines + 1, problem: problem) }
            index += 1 // the comma
        }
    }

    /// The field's text; nil when it is not UTF-8. An empty field is "".
    static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ field: CSVField) -> String? {
        let slice = UnsafeBufferPointer(rebasing: bytes[field.from..<field.to])
        guard field.hasDoubledQuotes else { return utf8Text(slice) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(slice.count)
        var index = 0
        while index < slice.count {
            unescaped.append(slice[index])
            index += slice[index] == quote ? 2 : 1
        }
        return unescaped.withUnsafeBufferPointer(utf8Text)
    }

    /// `bytes` as a string, or nil when they are not UTF-8. ASCII, the common case, is decoded
    /// without validation: the generic `String(validating:as:)` spent most of its time looking up
    /// generic metadata (a sixth of the import's client CPU).
    static func utf8Text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var isASCII = true
        for byte in bytes where byte >= 0x80 {
            isASCII = false
            break
        }
        if isASCII { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }
}
