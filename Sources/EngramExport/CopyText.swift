import EngramStorage
import FoundationEssentials
import NIOCore

/// Writes values in PostgreSQL's `COPY ... FROM STDIN (FORMAT text)` format: columns separated by
/// a tab, rows ended by a newline, `\N` for NULL, and a backslash, tab, newline or carriage return
/// inside a value escaped with a backslash. The same bytes go to a live COPY and into a `--sql`
/// file between `COPY ... FROM stdin;` and `\.`.
///
/// Appends to the caller's buffer; no allocation per value beyond the buffer's growth.
struct CopyLine {
    var buffer: ByteBuffer
    private var columnCount = 0

    init(buffer: ByteBuffer) { self.buffer = buffer }

    private mutating func separate() {
        if columnCount > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
        columnCount += 1
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        columnCount = 0
    }

    mutating func null() {
        separate()
        buffer.writeStaticString("\\N")
    }

    /// Text, escaped; empty text is written as NULL when `emptyIsNull`.
    mutating func text(_ value: String, emptyIsNull: Bool = false) {
        if emptyIsNull && value.isEmpty { return null() }
        separate()
        var value = value
        value.withUTF8 { escaped(UnsafeRawBufferPointer($0)) }
    }

    /// Raw UTF-8 bytes (a JSON document), escaped.
    mutating func textBytes(_ bytes: [UInt8]) {
        separate()
        bytes.withUnsafeBytes { escaped($0) }
    }

    private mutating func escaped(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            let replacement: UInt8
            switch byte {
            case UInt8(ascii: "\\"): replacement = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): replacement = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): replacement = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): replacement = UInt8(ascii: "r")
            default: continue
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            buffer.writeInteger(UInt8(ascii: "\\"))
            buffer.writeInteger(replacement)
            start = index + 1
        }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    mutating func integer<Value: BinaryInteger>(_ value: Value) {
        separate()
        buffer.writeString(String(value))
    }

    /// `bytea` in hex: `\x` then two digits a byte; the backslash doubled for COPY.
    mutating func bytea(_ bytes: [UInt8]) {
        separate()
        buffer.writeStaticString("\\\\x")
        buffer.reserveCapacity(minimumWritableBytes: bytes.count * 2)
        for byte in bytes {
            buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
            buffer.writeInteger(Self.hexDigits[Int(byte & 0x0F)])
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A UUID as `8-4-4-4-12` lowercase hex.
    mutating func uuid(_ id: UUID) {
        separate()
        withUnsafeBytes(of: id.uuid) { bytes in
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 { buffer.writeInteger(UInt8(ascii: "-")) }
                buffer.writeInteger(Self.hexDigits[Int(bytes[index] >> 4)])
                buffer.writeInteger(Self.hexDigits[Int(bytes[index] & 0x0F)])
            }
        }
    }

    mutating func optionalUUID(_ id: UUID?) {
        if let id { uuid(id) } else { null() }
    }

    /// A `timestamptz` from microseconds since 1970: `YYYY-MM-DD HH:MM:SS.ffffff+00`.
    mutating func timestamp(_ microseconds: Int64) {
        separate()
        Self.writeTimestamp(microseconds, into: &buffer)
    }

    static func writeTimestamp(_ microseconds: Int64, into buffer: inout ByteBuffer) {
        let days = UTCCalendar.floorDivide(microseconds, UTCCalendar.microsecondsPerDay)
        let date = UTCCalendar.civil(fromDays: days)
        var rest = microseconds - days * UTCCalendar.microsecondsPerDay
        let fraction = rest % 1_000_000
        rest /= 1_000_000
        let second = rest % 60
        let minute = (rest / 60) % 60
        let hour = rest / 3_600
        digits(date.year, 4, &buffer)
        buffer.writeInteger(UInt8(ascii: "-"))
        digits(date.month, 2, &buffer)
        buffer.writeInteger(UInt8(ascii: "-"))
        digits(date.day, 2, &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        digits(hour, 2, &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        digits(minute, 2, &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        digits(second, 2, &buffer)
        buffer.writeInteger(UInt8(ascii: "."))
        digits(fraction, 6, &buffer)
        buffer.writeStaticString("+00")
    }

    /// `value` in decimal, zero-padded to `width` digits.
    private static func digits(_ value: Int64, _ width: Int, _ buffer: inout ByteBuffer) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var value = value
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            value %= divisor
            divisor /= 10
        }
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
        buffer.writeString("{" + values.map { "\($0)" }.joined(separator: ",") + "}")
    }

    /// Cents as `numeric(20,2)` text: exact, with two decimals.
    mutating func cents(_ cents: Int64) {
        separate()
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        buffer.writeString("\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)")
    }
}
