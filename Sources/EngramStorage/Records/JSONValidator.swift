/// A strict RFC 8259 validator for lead metadata (docs/RECORDS.md, "Metadata JSON").
///
/// It parses without recursion, with an explicit stack of open containers bounded by `depthMax`,
/// so a hostile document can cost neither stack nor unbounded memory. Two rules are stricter than
/// RFC 8259 so that every accepted document loads into PostgreSQL's `jsonb`: no `\u0000`, and
/// surrogate escapes only as a high-low pair. It reports the first error with its byte offset.
struct JSONValidator {
    struct Failure: Error, Equatable {
        let offset: Int
        let reason: String
    }

    private let bytes: UnsafeRawBufferPointer
    private let depthMax: Int
    private var index = 0
    /// Open containers, innermost last: true for an object, false for an array.
    private var containers: [Bool] = []

    /// Throws the first error of `bytes` as a JSON text nested at most `depthMax` deep.
    static func validate(_ bytes: UnsafeRawBufferPointer, depthMax: Int) throws(Failure) {
        var validator = JSONValidator(bytes: bytes, depthMax: depthMax)
        try validator.run()
    }

    /// The same check with the engine's error: `invalidArgument` naming the field and offset.
    static func check(_ bytes: [UInt8], field: String, depthMax: Int) throws(EngramError) {
        let failure: Failure? = bytes.withUnsafeBytes { buffer in
            do throws(Failure) {
                try validate(buffer, depthMax: depthMax)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw EngramError(.invalidArgument, "\(field) is not valid JSON at byte \(failure.offset): \(failure.reason)") }
    }

    private init(bytes: UnsafeRawBufferPointer, depthMax: Int) {
        self.bytes = bytes
        self.depthMax = depthMax
        containers.reserveCapacity(min(depthMax, 64))
    }

    private func fail(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(offset: offset ?? index, reason: reason)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard current == byte else { throw fail(current == nil ? "the text ends where \(what) was expected" : "\(what) expected") }
        index += 1
    }

    /// The main loop: a value (or the opening of a container, whose first value comes next), then
    /// what may follow it in the innermost container, until the outermost value is closed.
    private mutating func run() throws(Failure) {
        skipWhitespace()
        while true {
            if try valueOrOpening() { continue }
            while true {
                skipWhitespace()
                guard let isObject = containers.last else {
                    guard index == bytes.count else { throw fail("text after the JSON value") }
                    return
                }
                guard let byte = current else { throw fail("the text ends inside an \(isObject ? "object" : "array")") }
                index += 1
                if byte == UInt8(ascii: ",") {
                    skipWhitespace()
                    if isObject { try member() }
                    break
                }
                guard byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw fail(isObject ? "\",\" or \"}\" expected" : "\",\" or \"]\" expected", at: index - 1)
                }
                containers.removeLast()
            }
        }
    }

    /// An object member's name and colon; the value follows in the main loop.
    private mutating func member() throws(Failure) {
        guard current == UInt8(ascii: "\"") else { throw fail(current == nil ? "the text ends where a member name was expected" : "a member name (a string) expected") }
        try string()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "\":\"")
        skipWhitespace()
    }

    /// One whole value, returning false; or the opening of a non-empty container (and, for an
    /// object, its first member name), returning true: its first value is parsed next.
    private mutating func valueOrOpening() throws(Failure) -> Bool {
        guard let byte = current else { throw fail("the text ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let isObject = byte == UInt8(ascii: "{")
            guard containers.count < depthMax else { throw fail("nesting deeper than \(depthMax)") }
            index += 1
            skipWhitespace()
            if current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                index += 1
                return false
            }
            containers.append(isObject)
            if isObject { try member() }
            return true
        case UInt8(ascii: "\""):
            try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            throw fail("unexpected byte 0x\(String(byte, radix: 16)) where a value was expected")
        }
        return false
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let start = index
        for expected in UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard current == expected else { throw fail("invalid literal (expected \(word))", at: start) }
            index += 1
        }
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func number() throws(Failure) {
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw fail("a digit expected") }
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = current, next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") { throw fail("a number has a leading zero") }
        } else {
            _ = digits()
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("a digit expected after the decimal point") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("a digit expected in the exponent") }
        }
    }

    private mutating func string() throws(Failure) {
        index += 1 // the opening quote
        while true {
            guard let byte = current else { throw fail("the text ends inside a string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                try escape()
            case 0x00..<0x20:
                throw fail("control byte 0x\(String(byte, radix: 16)) in a string must be escaped")
            case 0x20..<0x80:
                index += 1
            default:
                let length = UTF8Validation.sequenceLength(bytes, at: index)
                guard length > 0 else { throw fail("a string is not well-formed UTF-8") }
                index += length
            }
        }
    }

    private mutating func escape() throws(Failure) {
        let start = index
        index += 1
        guard let byte = current else { throw fail("the text ends inside an escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let unit = try hexUnit(escapeStart: start)
            if unit == 0 { throw fail("\\u0000 is refused (jsonb cannot hold it)", at: start) }
            if (0xDC00...0xDFFF).contains(unit) { throw fail("a low surrogate escape without a high one before it", at: start) }
            if (0xD800...0xDBFF).contains(unit) {
                let lowStart = index
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("a high surrogate escape must be followed by a low surrogate escape", at: start)
                }
                index += 2
                let low = try hexUnit(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw fail("a high surrogate escape must be followed by a low surrogate escape", at: start)
                }
            }
        default:
            throw fail("invalid escape \\\(Character(Unicode.Scalar(byte)))", at: start)
        }
    }

    private mutating func hexUnit(escapeStart: Int) throws(Failure) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw fail("the text ends inside a \\u escape", at: escapeStart) }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits", at: escapeStart)
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }
}
