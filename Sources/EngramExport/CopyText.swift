import EngramStorage
import FoundationEssentials
import NIOCore

/// Writes values in PostgreSQL's `COPY ... FROM STDIN (FORMAT text)` format: columns separated by
/// a tab, rows ended by a newline, `\N` for NULL, and a backslash, tab, newline or carriage return
/// inside a value escaped with a backslash. The same bytes go to a live COPY and into a `--sql`
/// file between `COPY ... FROM stdin;` and `\.`.
///
/// Appends to a byte array that the caller hands to COPY when it is full (`take`). Fixed-width
/// values (ids, times) are formatted in a small stack buffer and appended at once: a byte at a
/// time through a generic buffer API costs far more, above all in debug builds.
struct CopyLine {
    private(set) var bytes: [UInt8]
    private var columnCount = 0

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var byteCount: Int { bytes.count }

    /// The rows written so far, as a buffer for COPY; the line starts empty again.
    mutating func take() -> ByteBuffer {
        let buffer = ByteBuffer(bytes: bytes)
        bytes.removeAll(keepingCapacity: true)
        return buffer
    }

    private mutating func separate() {
        if columnCount > 0 { bytes.append(UInt8(ascii: "\t")) }
        columnCount += 1
    }

    mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        columnCount = 0
    }

    mutating func null() {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    /// Text, escaped; empty text is written as NULL when `emptyIsNull`.
    mutating func text(_ value: String, emptyIsNull: Bool = false) {
        if emptyIsNull && value.isEmpty { return null() }
        separate()
        var value = value
        value.withUTF8 { escaped(UnsafeRawBufferPointer($0)) }
    }

    /// Raw UTF-8 bytes (a JSON document), escaped.
    mutating func textBytes(_ value: [UInt8]) {
        separate()
        value.withUnsafeBytes { escaped($0) }
    }

    private mutating func escaped(_ value: UnsafeRawBufferPointer) {
        var start = 0
        for index in 0..<value.count {
            let byte = value[index]
            let replacement: UInt8
            switch byte {
            case UInt8(ascii: "\\"): replacement = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): replacement = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): replacement = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): replacement = UInt8(ascii: "r")
            default: continue
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<index]))
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(replacement)
            start = index + 1
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<value.count]))
    }

    mutating func integer<Value: BinaryInteger>(_ value: Value) {
        separate()
        if let small = Int64(exactly: value) {
            appendFormatted(capacity: 20) { out in Self.decimal(small, out) }
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    /// `bytea` in hex: `\x` then two digits a byte; the backslash doubled for COPY.
    mutating func bytea(_ value: [UInt8]) {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "x"))
        appendFormatted(capacity: value.count * 2) { out in
            value.withUnsafeBufferPointer { input in
                for index in 0..<input.count {
                    out[2 * index] = Self.hexDigit(input[index] >> 4)
                    out[2 * index + 1] = Self.hexDigit(input[index] & 0x0F)
                }
            }
            return value.count * 2
        }
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// A UUID as `8-4-4-4-12` lowercase hex.
    mutating func uuid(_ id: UUID) {
        separate()
        withUnsafeBytes(of: id.uuid) { raw in
            appendFormatted(capacity: 36) { out in
                var at = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = Self.hexDigit(raw[index] >> 4)
                    out[at + 1] = Self.hexDigit(raw[index] & 0x0F)
                    at += 2
                }
                return at
            }
        }
    }

    mutating func optionalUUID(_ id: UUID?) {
        if let id { uuid(id) } else { null() }
    }

    /// A `timestamptz` from microseconds since 1970: `YYYY-MM-DD HH:MM:SS.ffffff+00`.
    mutating func timestamp(_ microseconds: Int64) {
        separate()
        appendFormatted(capacity: 32) { out in Self.timestamp(microseconds, out) }
    }

    /// Runs `format` on a stack buffer of `capacity` bytes and appends the bytes it says it wrote.
    private mutating func appendFormatted(capacity: Int, _ format: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { out in
            let count = format(out)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: out[0..<count]))
        }
    }

    static func timestamp(_ microseconds: Int64, _ out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let days = UTCCalendar.floorDivide(microseconds, UTCCalendar.microsecondsPerDay)
        let date = UTCCalendar.civil(fromDays: days)
        var rest = microseconds - days * UTCCalendar.microsecondsPerDay
        let fraction = rest % 1_000_000
        rest /= 1_000_000
        var at = 0
        func put(_ value: Int64, _ width: Int) {
            var value = value
            for offset in stride(from: width - 1, through: 0, by: -1) {
                out[at + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            at += width
        }
        func put(_ byte: UInt8) {
            out[at] = byte
            at += 1
        }
        put(date.year, 4)
        put(UInt8(ascii: "-"))
        put(date.month, 2)
        put(UInt8(ascii: "-"))
        put(date.day, 2)
        put(UInt8(ascii: " "))
        put(rest / 3_600, 2)
        put(UInt8(ascii: ":"))
        put((rest / 60) % 60, 2)
        put(UInt8(ascii: ":"))
        put(rest % 60, 2)
        put(UInt8(ascii: "."))
        put(fraction, 6)
        put(UInt8(ascii: "+"))
        put(UInt8(ascii: "0"))
        put(UInt8(ascii: "0"))
        return at
    }

    /// `value` in decimal into `out` (room for 20 bytes); returns the bytes written.
    static func decimal(_ value: Int64, _ out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var reversed = 0
        repeat {
            out[reversed] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            reversed += 1
        } while magnitude > 0
        if value < 0 {
            out[reversed] = UInt8(ascii: "-")
            reversed += 1
        }
        var low = 0
        var high = reversed - 1
        while low < high {
            out.swapAt(low, high)
            low += 1
            high -= 1
        }
        return reversed
    }

    /// A `text[]` literal (`{"a","b"}`), each element quoted with `"` and `\` escaped, then the
    /// whole literal escaped for COPY.
    mutating func textArray(_ elements: [String]) {
        var literal = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        literal += "}"
        text(literal)
    }

    /// A `real[]` literal with each component's shortest text that reads back to the same float.
    mutating func realArray(_ values: [Float]?) {
        guard let values else { return null() }
        separate()
        bytes.append(contentsOf: ("{" + values.map { "\($0)" }.joined(separator: ",") + "}").utf8)
    }

    /// Cents as `numeric(20,2)` text: exact, with two decimals.
    mutating func cents(_ cents: Int64) {
        separate()
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        bytes.append(contentsOf: "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)".utf8)
    }
}
