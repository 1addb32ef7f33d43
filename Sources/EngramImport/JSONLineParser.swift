/// One JSON Lines row (docs/IMPORT.md, "JSON Lines"): a JSON object whose members are the row's
/// fields. Strings, numbers, `true`, `false` and `null` are read; an object or array is kept as
/// the bytes written (the metadata field's), checked only for balance here: the server validates
/// metadata strictly.
struct JSONLineParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int
    /// Where the line starts, for the columns messages name.
    let lineStart: Int

    static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    /// Calls `member` with each member's name and value, in order; `rawValue` is the value's
    /// bytes as written.
    static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int,
                            _ member: (String, ImportValue, UnsafeBufferPointer<UInt8>) throws(RowFailure) -> Void) throws(RowFailure) {
        var parser = JSONLineParser(bytes: bytes, index: start, end: end, lineStart: start)
        parser.skipSpace()
        guard parser.take(UInt8(ascii: "{")) else { throw RowFailure("a JSON line must be an object", position: parser.index - start + 1) }
        parser.skipSpace()
        if !parser.take(UInt8(ascii: "}")) {
            while true {
                parser.skipSpace()
                guard parser.peek == Self.quote else { throw parser.failure("a member name") }
                let name = try parser.string()
                parser.skipSpace()
                guard parser.take(UInt8(ascii: ":")) else { throw parser.failure("\":\" after \"\(name)\"") }
                parser.skipSpace()
                let valueStart = parser.index
                let value = try parser.value()
                try member(name, value, UnsafeBufferPointer(rebasing: bytes[valueStart..<parser.index]))
                parser.skipSpace()
                if parser.take(UInt8(ascii: ",")) { continue }
                guard parser.take(UInt8(ascii: "}")) else { throw parser.failure("\",\" or \"}\"") }
                break
            }
        }
        parser.skipSpace()
        guard parser.index == end else { throw parser.failure("the end of the line after the object") }
    }

    var peek: UInt8? { index < end ? bytes[index] : nil }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A { index += 1 }
    }

    func failure(_ expected: String) -> RowFailure {
        RowFailure("not JSON: expected \(expected) at column \(index - lineStart + 1)", position: index - lineStart + 1)
    }

    mutating func value() throws(RowFailure) -> ImportValue {
        switch peek {
        case Self.quote: return .text(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let start = index
            try skipContainer()
            return .json(Array(bytes[start..<index]))
        case UInt8(ascii: "t"): return try word("true", .boolean(true))
        case UInt8(ascii: "f"): return try word("false", .boolean(false))
        case UInt8(ascii: "n"): return try word("null", .null)
        case .some(let byte) where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): return .number(try number())
        default: throw failure("a value")
        }
    }

    mutating func word(_ text: StaticString, _ value: ImportValue) throws(RowFailure) -> ImportValue {
        let count = text.utf8CodeUnitCount
        guard index + count <= end, UnsafeBufferPointer(rebasing: bytes[index..<(index + count)]).elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: count)) else {
            throw failure("\(text)")
        }
        index += count
        return value
    }

    /// A JSON number's text, as written (syntax checked).
    mutating func number() throws(RowFailure) -> String {
        let start = index
        _ = take(UInt8(ascii: "-"))
        guard try digits() > 0 else { throw failure("a digit") }
        if take(UInt8(ascii: ".")) { guard try digits() > 0 else { throw failure("a digit after \".\"") } }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            _ = take(UInt8(ascii: "+")) || take(UInt8(ascii: "-"))
            guard try digits() > 0 else { throw failure("an exponent") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    mutating func digits() throws(RowFailure) -> Int {
        var count = 0
        while let byte = peek, byte >= 0x30 && byte <= 0x39 {
            index += 1
            count += 1
        }
        return count
    }

    /// A string at `index` (its opening quote), unescaped.
    mutating func string() throws(RowFailure) -> String {
        index += 1
        let start = index
        while let byte = peek, byte != Self.quote, byte != Self.backslash {
            guard byte >= 0x20 else { throw RowFailure("not JSON: a control character in a string at column \(index - lineStart + 1)", position: index - lineStart + 1) }
            index += 1
        }
        guard let stop = peek else { throw failure("the end of a string") }
        if stop == Self.quote {
            defer { index += 1 }
            guard let text = CSVScanner.utf8Text(UnsafeBufferPointer(rebasing: bytes[start..<index])) else { throw RowFailure("a string is not UTF-8") }
            return text
        }
        var unescaped = Array(bytes[start..<index])
        while true {
            guard let byte = peek else { throw failure("the end of a string") }
            index += 1
            if byte == Self.quote { break }
            guard byte >= 0x20 else { throw RowFailure("not JSON: a control character in a string at column \(index - lineStart)", position: index - lineStart) }
            guard byte == Self.backslash else {
                unescaped.append(byte)
                continue
            }
            guard let escaped = peek else { throw failure("an escape") }
            index += 1
            switch escaped {
            case Self.quote, Self.backslash, UInt8(ascii: "/"): unescaped.append(escaped)
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "u"): unescaped.append(contentsOf: try unicodeEscape())
            default: throw failure("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)")
            }
        }
        guard let text = unescaped.withUnsafeBufferPointer(CSVScanner.utf8Text) else { throw RowFailure("a string is not UTF-8") }
        return text
    }

    /// After `\u`: four hex digits, or a surrogate pair as two escapes; the scalar's UTF-8.
    mutating func unicodeEscape() throws(RowFailure) -> [UInt8] {
        var scalar = try hex4()
        if (0xD800...0xDBFF).contains(scalar) {
            guard take(Self.backslash), take(UInt8(ascii: "u")) else { throw failure("a low surrogate escape") }
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("a low surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw failure("a Unicode scalar") }
        return Array(String(Character(unicode)).utf8)
    }

    mutating func hex4() throws(RowFailure) -> UInt32 {
        guard index + 4 <= end else { throw failure("four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw failure("a hex digit")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Skips an object or array, strings inside included; nesting is bounded so a hostile line
    /// cannot make the import recurse (it does not recurse at all: it counts).
    mutating func skipContainer() throws(RowFailure) {
        var depth = 0
        repeat {
            guard let byte = peek else { throw failure("the end of an object or array") }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
            case Self.quote:
                _ = try string()
            default:
                index += 1
            }
        } while depth > 0
    }
}
