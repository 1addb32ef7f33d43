/// The payload of a batch record (docs/STORAGE.md, "Batch payload"):
///
/// ```
/// batch_payload := batch_time_us:i64  operation_count:u32  operation*
/// operation     := opcode:u8  body_length:u32  body[body_length]
/// ```
/// The writer builds it in place behind the commit-log header it reserves; replay reads it back
/// with `BatchPayloadReader`. Both sides of the framing live here, so they cannot drift apart.
enum BatchPayload {
    static let headerBytes = 12
    static let operationCountOffset = CommitLogFormat.headerBytes + 8

    static func writeHeader(timeMicroseconds: Int64, into writer: inout ByteWriter) {
        writer.write(timeMicroseconds)
        writer.write(UInt32(0))
    }

    static func patchOperationCount(_ count: UInt32, in writer: inout ByteWriter) {
        writer.patch(count, at: operationCountOffset)
    }

    /// Appends `operation` framed by its opcode and body length.
    static func append<Operation: RedoOperation>(_ operation: Operation, to writer: inout ByteWriter) {
        writer.write(Operation.opcode.rawValue)
        let lengthOffset = writer.count
        writer.write(UInt32(0))
        operation.encode(into: &writer)
        writer.patch(UInt32(writer.count - lengthOffset - 4), at: lengthOffset)
    }
}

/// Reads a batch payload's framing: the batch time, then each operation's opcode and a reader
/// over exactly its body. It borrows the payload's bytes and must not outlive them.
///
/// Every length is checked before it is believed: an operation count the bytes cannot hold, an
/// unknown opcode, a body running past the payload, and bytes left after the last operation are
/// all `.corrupt`, naming the payload's place in its log file.
struct BatchPayloadReader {
    let batchTimeMicroseconds: Int64
    let operationCount: Int
    private(set) var operationsRead = 0
    private var reader: ByteReader
    private let source: String
    private let baseOffset: Int64

    /// Reads the header; `baseOffset` is the payload's offset in `source`, for errors.
    init(_ payload: UnsafeRawBufferPointer, source: String, baseOffset: Int64) throws(EngramError) {
        var reader = ByteReader(payload, source: source, baseOffset: baseOffset)
        batchTimeMicroseconds = try reader.read(Int64.self, "the batch time")
        operationCount = Int(try reader.read(UInt32.self, "the operation count"))
        // Each operation takes at least its five bytes of framing.
        guard operationCount <= reader.remaining / 5 else {
            throw reader.failure("\(operationCount) operations cannot fit the \(reader.remaining) bytes after the batch header")
        }
        self.reader = reader
        self.source = source
        self.baseOffset = baseOffset
    }

    /// The next operation's opcode and a reader over its body, or nil after the last one (when
    /// the payload must also be used up).
    mutating func next() throws(EngramError) -> (opcode: RedoOpcode, body: ByteReader)? {
        guard operationsRead < operationCount else {
            guard reader.isAtEnd else { throw reader.failure("\(reader.remaining) bytes after the last operation") }
            return nil
        }
        let code = try reader.readUInt8("an opcode")
        guard let opcode = RedoOpcode(rawValue: code) else {
            throw reader.failure("unknown redo opcode \(code); was this log written by a newer build?")
        }
        let length = Int(try reader.read(UInt32.self, "an operation length"))
        let bodyOffset = baseOffset + Int64(reader.offset)
        let body = try reader.readSlice(length, "an operation body")
        operationsRead += 1
        return (opcode, ByteReader(body, source: source, baseOffset: bodyOffset))
    }

    /// The next operation, decoded, its body used up exactly; nil after the last one. Replay
    /// applies each; the fuzz target encodes each back.
    mutating func nextOperation() throws(EngramError) -> (any RedoOperation)? {
        guard let (opcode, body) = try next() else { return nil }
        var reader = body
        let operation = try opcode.decode(from: &reader)
        guard reader.isAtEnd else { throw reader.failure("\(reader.remaining) bytes left after a \(opcode) operation") }
        return operation
    }
}
