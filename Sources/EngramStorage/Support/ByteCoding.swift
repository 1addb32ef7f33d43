/// Little-endian encoding into a growable byte array.
///
/// Owned by one thread at a time. The writer thread keeps one and calls `removeAll(keepingCapacity:)`
/// between batches, so steady-state encoding does not allocate.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Drops everything after the first `byteCount` bytes (undoes a partly written entry).
    public mutating func truncate(to byteCount: Int) {
        precondition(byteCount >= 0 && byteCount <= bytes.count, "truncate to \(byteCount) of \(bytes.count) bytes")
        bytes.removeSubrange(byteCount...)
    }

    /// Appends `byteCount` zero bytes (room for a header patched in later).
    public mutating func reserve(_ byteCount: Int) {
        bytes.append(contentsOf: repeatElement(0, count: byteCount))
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Big-endian, for LMDB keys whose byte order must follow numeric order.
    public mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }

    public mutating func write<C: Collection>(contentsOf data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    public mutating func write(contentsOf data: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: data)
    }

    /// Runs `body` on the bytes in place, so a header can be patched and the whole written out
    /// without a copy.
    public mutating func withUnsafeMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try bytes.withUnsafeMutableBytes { buffer in Swift.Result { () throws(EngramError) -> Result in try body(buffer) } }.get()
    }

    /// Overwrites eight bytes at `offset`.
    public mutating func patch(_ value: UInt64, at offset: Int) {
        precondition(offset >= 0 && offset + 8 <= bytes.count, "patch at \(offset) outside \(bytes.count) bytes")
        withUnsafeBytes(of: value.littleEndian) { source in
            for index in 0..<8 { bytes[offset + index] = source[index] }
        }
    }

    /// Overwrites four bytes at `offset` (a length or checksum patched in after the body).
    public mutating func patch(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "patch at \(offset) outside \(bytes.count) bytes")
        withUnsafeBytes(of: value.littleEndian) { source in
            for index in 0..<4 { bytes[offset + index] = source[index] }
        }
    }
}

/// Little-endian decoding from borrowed bytes, checking every length before it reads.
///
/// It borrows its bytes: a reader must not outlive the buffer it was made from (for LMDB values,
/// the transaction). Every read that would run past the end throws `.corrupt` with the offset.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset: Int
    /// Names the source in errors: a file path, a table name.
    let source: String
    /// Added to `offset` in errors, when the buffer is a slice of a larger file.
    let baseOffset: Int64

    public init(_ buffer: UnsafeRawBufferPointer, source: String, baseOffset: Int64 = 0) {
        self.buffer = buffer
        self.offset = 0
        self.source = source
        self.baseOffset = baseOffset
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset == buffer.count }

    func failure(_ what: String) -> EngramError {
        .corrupt(what, file: source, offset: baseOffset + Int64(offset))
    }

    mutating func require(_ byteCount: Int, _ what: @autoclosure () -> String) throws(EngramError) {
        guard byteCount >= 0, byteCount <= remaining else {
            throw failure("\(what()) needs \(byteCount) bytes, \(remaining) remain")
        }
    }

    public mutating func readUInt8(_ what: @autoclosure () -> String = "a byte") throws(EngramError) -> UInt8 {
        try require(1, what())
        defer { offset += 1 }
        return buffer[offset]
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String = "an integer") throws(EngramError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, what())
        defer { offset += size }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public mutating func readBigEndian<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String = "an integer") throws(EngramError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, what())
        defer { offset += size }
        return T(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public mutating func readFloat(_ what: @autoclosure () -> String = "a float") throws(EngramError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    /// The next `byteCount` bytes, borrowed from the same buffer.
    public mutating func readSlice(_ byteCount: Int, _ what: @autoclosure () -> String = "bytes") throws(EngramError) -> UnsafeRawBufferPointer {
        try require(byteCount, what())
        defer { offset += byteCount }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + byteCount)])
    }

    public mutating func readBytes(_ byteCount: Int, _ what: @autoclosure () -> String = "bytes") throws(EngramError) -> [UInt8] {
        Array(try readSlice(byteCount, what()))
    }

    public mutating func skip(_ byteCount: Int, _ what: @autoclosure () -> String = "bytes") throws(EngramError) {
        try require(byteCount, what())
        offset += byteCount
    }
}

/// `withUnsafeBytes` for bodies with typed throws: the standard library's versions rethrow as
/// `any Error`, which a `throws(EngramError)` caller cannot propagate.
extension Array where Element == UInt8 {
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let result = withUnsafeBytes { buffer in Swift.Result { () throws(EngramError) -> Result in try body(buffer) } }
        return try result.get()
    }
}

func withBytes<Value, Result>(of value: Value, _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
    let result = withUnsafeBytes(of: value) { buffer in Swift.Result { () throws(EngramError) -> Result in try body(buffer) } }
    return try result.get()
}
