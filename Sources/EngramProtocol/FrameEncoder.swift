import NIOCore

/// Writes whole frames. The header's body length is patched after the body is written, so a body
/// is encoded straight into the outbound buffer with no intermediate copy.
public enum FrameEncoder {
    /// Appends one frame to `buffer`: the header, then whatever `body` writes.
    @inlinable
    public static func writeFrame(
        into buffer: inout ByteBuffer,
        opcode: Opcode,
        requestID: UInt64,
        status: Status = .ok,
        flags: FrameFlags = [],
        version: UInt8 = FrameHeader.currentVersion,
        body: (inout ByteBuffer) -> Void
    ) {
        let start = buffer.writerIndex
        let header = FrameHeader(version: version, flags: flags, opcode: opcode, status: status, requestID: requestID)
        let lengthIndex = header.write(into: &buffer)
        body(&buffer)
        let bodyLength = buffer.writerIndex - start - FrameHeader.byteCount
        buffer.setInteger(UInt32(bodyLength), at: lengthIndex, endianness: .little)
    }

    /// Appends a request frame.
    public static func write(_ request: Request, requestID: UInt64, flags: FrameFlags = [], into buffer: inout ByteBuffer) {
        writeFrame(into: &buffer, opcode: request.opcode, requestID: requestID, flags: flags) { request.encodeBody(into: &$0) }
    }

    /// Appends an error response: the status and the error body.
    public static func writeError(_ status: Status, _ message: String, opcode: Opcode, requestID: UInt64, into buffer: inout ByteBuffer) {
        writeFrame(into: &buffer, opcode: opcode, requestID: requestID, status: status) { ErrorBody(message: message).encode(into: &$0) }
    }
}

/// Encodes frames for a pipeline (the client's): one `Frame` in, its bytes out.
public struct FrameMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame
    public init() {}
    public func encode(data: Frame, out: inout ByteBuffer) {
        data.write(into: &out)
    }
}
