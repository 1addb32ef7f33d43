import NIOCore

/// Reads a frame body field by field, throwing `malformedBody` with the field's name and offset
/// when a field runs past the end. `finish()` rejects trailing bytes (requests are exact).
public struct BodyReader {
    var buffer: ByteBuffer
    let opcode: Opcode
    let requestID: UInt64
    let start: Int

    public init(_ buffer: ByteBuffer, opcode: Opcode, requestID: UInt64) {
        self.buffer = buffer
        self.opcode = opcode
        self.requestID = requestID
        self.start = buffer.readerIndex
    }

    public var remaining: Int { buffer.readableBytes }

    func failure(_ message: String) -> ProtocolError {
        ProtocolError(.malformedBody, "\(opcode.name) body: \(message)", requestID: requestID, opcode: opcode)
    }

    private var offset: Int { buffer.readerIndex - start }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws(ProtocolError) -> T {
        guard let value = buffer.readInteger(endianness: .little, as: T.self) else {
            throw failure("\(field()) needs \(MemoryLayout<T>.size) bytes at offset \(offset), \(remaining) remain")
        }
        return value
    }

    /// A `u8` that is 0 or 1 (existed, has next, has resume, at end). Any other value is
    /// malformed: read as "false" it would make a client skip the field it guards and take a page
    /// for the last, or read as "true" answer a byte the encoder never writes.
    public mutating func readFlag(_ field: @autoclosure () -> String) throws(ProtocolError) -> Bool {
        let value = try read(UInt8.self, field())
        guard value <= 1 else { throw failure("\(field()) is \(value), not 0 or 1") }
        return value == 1
    }

    public mutating func readBytes(_ count: Int, _ field: @autoclosure () -> String) throws(ProtocolError) -> [UInt8] {
        guard count <= remaining, let bytes = buffer.readBytes(length: count) else {
            throw failure("\(field()) of \(count) bytes at offset \(offset) runs past the end (\(remaining) remain)")
        }
        return bytes
    }

    public mutating func readSlice(_ count: Int, _ field: @autoclosure () -> String) throws(ProtocolError) -> ByteBuffer {
        guard count <= remaining, let slice = buffer.readSlice(length: count) else {
            throw failure("\(field()) of \(count) bytes at offset \(offset) runs past the end (\(remaining) remain)")
        }
        return slice
    }

    /// Strings are UTF-8 (docs/PROTOCOL.md, "Overview"): bytes that are not are malformed, not
    /// decoded with replacement characters, which would hand on a string other than the one sent.
    public mutating func readString(_ count: Int, _ field: @autoclosure () -> String) throws(ProtocolError) -> String {
        guard count <= remaining else {
            throw failure("\(field()) of \(count) bytes at offset \(offset) runs past the end (\(remaining) remain)")
        }
        let start = offset
        let bytes = buffer.readableBytesView.prefix(count)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("\(field()) of \(count) bytes at offset \(start) is not UTF-8")
        }
        buffer.moveReaderIndex(forwardBy: count)
        return text
    }

    /// `[u8 length][name]`.
    public mutating func readNamespace() throws(ProtocolError) -> String {
        let length = Int(try read(UInt8.self, "namespace length"))
        return try readString(length, "namespace")
    }

    /// `[u16 length][bytes]`.
    public mutating func readKey(_ field: String = "key") throws(ProtocolError) -> [UInt8] {
        let length = Int(try read(UInt16.self, "\(field) length"))
        return try readBytes(length, field)
    }

    /// `[u32 length][bytes]`.
    public mutating func readValue(_ field: String = "value") throws(ProtocolError) -> [UInt8] {
        let length = Int(try read(UInt32.self, "\(field) length"))
        return try readBytes(length, field)
    }

    public mutating func readFactID() throws(ProtocolError) -> FactID {
        FactID(bytes: try readBytes(16, "fact id"))
    }

    /// Requests must be exactly their layout.
    public func finish() throws(ProtocolError) {
        guard remaining == 0 else { throw failure("\(remaining) bytes after the last field at offset \(offset)") }
    }
}

extension ByteBuffer {
    @inlinable mutating func writeNamespace(_ namespace: String) {
        writeInteger(UInt8(truncatingIfNeeded: namespace.utf8.count))
        writeString(namespace)
    }

    @inlinable mutating func writeKey(_ key: [UInt8]) {
        writeInteger(UInt16(truncatingIfNeeded: key.count), endianness: .little)
        writeBytes(key)
    }

    @inlinable mutating func writeValue(_ value: [UInt8]) {
        writeInteger(UInt32(truncatingIfNeeded: value.count), endianness: .little)
        writeBytes(value)
    }
}

/// `[u16 message length][message]`: the body of every non-zero status.
public struct ErrorBody: Sendable, Hashable {
    public var message: String
    public init(message: String) { self.message = message }

    /// Messages are cut to 4 KiB: they are for people, and the cut keeps an error small.
    public static let messageBytesMax = 4096

    public func encode(into buffer: inout ByteBuffer) {
        encode(into: &buffer, bytesMax: Self.messageBytesMax)
    }

    /// Writes the message cut to `bytesMax` bytes, on a UTF-8 character boundary.
    func encode(into buffer: inout ByteBuffer, bytesMax: Int) {
        var bytes = Array(message.utf8)
        if bytes.count > bytesMax {
            // Cut, then drop the partial UTF-8 sequence the cut may have left at the end.
            bytes.removeSubrange(bytesMax...)
            var leadIndex = bytes.count - 1
            while leadIndex > 0 && bytes[leadIndex] & 0xC0 == 0x80 { leadIndex -= 1 }
            let lead = bytes[leadIndex]
            let sequenceBytes = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            if bytes.count - leadIndex < sequenceBytes { bytes.removeSubrange(leadIndex...) }
        }
        buffer.writeInteger(UInt16(bytes.count), endianness: .little)
        buffer.writeBytes(bytes)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> ErrorBody {
        let length = Int(try reader.read(UInt16.self, "message length"))
        return ErrorBody(message: try reader.readString(length, "message"))
    }
}
