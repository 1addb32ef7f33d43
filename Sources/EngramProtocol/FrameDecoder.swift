import NIOCore

/// Splits a byte stream into frames, checking each header before any of its body is buffered.
///
/// A small state machine: in `header` it waits for 20 bytes and validates them (magic, version,
/// flags, status, request id, body length against `bodyBytesMax`); in `body` it waits until the
/// whole body is there and only then moves the reader index past the frame. On a partial frame the
/// reader index never moves. Every violation throws a `ProtocolError`, after which the stream
/// cannot be trusted and the connection must close.
///
/// One decoder per connection; it is not thread-safe (it lives in the channel's pipeline).
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// Which side of the connection decodes: the server reads requests, the client responses.
    public enum Side: Sendable {
        case server
        case client
    }

    enum State {
        case header
        case body(FrameHeader)
    }

    public let side: Side
    /// Largest accepted body: the frame limit minus the header.
    public let bodyBytesMax: Int
    private var state = State.header

    /// `frameBytesMax` counts header and body, as the hello reports it.
    public init(side: Side, frameBytesMax: Int) {
        precondition(frameBytesMax >= FrameHeader.byteCount, "frameBytesMax \(frameBytesMax) is smaller than the \(FrameHeader.byteCount)-byte header")
        self.side = side
        self.bodyBytesMax = frameBytesMax - FrameHeader.byteCount
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        try decodeFrame(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try decodeFrame(&buffer) { return frame }
        if seenEOF && buffer.readableBytes > 0 {
            let header = FrameHeader.peek(buffer, at: buffer.readerIndex)?.header
            let expected = header.map { "\(FrameHeader.byteCount + Int($0.bodyLength))" } ?? "at least \(FrameHeader.byteCount)"
            throw ProtocolError(.truncatedStream, "the connection closed after \(buffer.readableBytes) bytes of a frame of \(expected) bytes", requestID: header?.requestID ?? 0, opcode: header?.opcode ?? .none, bytes: Self.leadingBytes(buffer))
        }
        return nil
    }

    /// Typed-throws core of `decode`, also used directly by tests and tools.
    public mutating func decodeFrame(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Frame? {
        if case .header = state {
            guard let (magic, header) = FrameHeader.peek(buffer, at: buffer.readerIndex) else { return nil }
            try validate(magic: magic, header: header, buffer: buffer)
            state = .body(header)
        }
        guard case .body(let header) = state else { preconditionFailure("decoder state is \(state) after the header") }
        let frameBytes = FrameHeader.byteCount + Int(header.bodyLength)
        guard buffer.readableBytes >= frameBytes else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameHeader.byteCount)
        let body = buffer.readSlice(length: Int(header.bodyLength))!
        state = .header
        return Frame(header: header, body: body)
    }

    private func validate(magic: UInt16, header: FrameHeader, buffer: ByteBuffer) throws(ProtocolError) {
        // The offending bytes are copied only when there is an error to report.
        guard magic == FrameHeader.magic else {
            let bytes = Self.leadingBytes(buffer)
            throw ProtocolError(.badMagic, "the frame starts with \(bytes.prefix(2).map { byteHex($0) }.joined(separator: " ")), not the magic 45 47 (\"EG\")", bytes: bytes)
        }
        func fail(_ code: ProtocolError.Code, _ message: String) -> ProtocolError {
            ProtocolError(code, message, requestID: header.requestID, opcode: header.opcode, bytes: Self.leadingBytes(buffer))
        }
        guard FrameHeader.versionsSupported.contains(header.version) else {
            throw fail(.unsupportedVersion, "frame version \(header.version); this side speaks \(FrameHeader.versionsSupported.lowerBound) to \(FrameHeader.versionsSupported.upperBound)")
        }
        switch side {
        case .server:
            guard header.flags.rawValue & FrameFlags.reservedRequestMask == 0 else {
                throw fail(.reservedBits, "request flags 0x\(byteHex(header.flags.rawValue)) set reserved bits")
            }
            guard header.flags.rawValue & FrameFlags.durabilityMask != 3 else {
                throw fail(.reservedBits, "request flags set durability 3, which is not a mode")
            }
            guard header.status == .ok else {
                throw fail(.statusInRequest, "a request carries status \(header.status.rawValue); requests carry 0")
            }
            guard header.requestID != 0 else {
                throw fail(.zeroRequestID, "request id 0 is reserved for frames the server sends on its own")
            }
        case .client:
            guard header.flags.rawValue & FrameFlags.reservedResponseMask == 0 else {
                throw fail(.reservedBits, "response flags 0x\(byteHex(header.flags.rawValue)) set reserved bits")
            }
        }
        guard Int(header.bodyLength) <= bodyBytesMax else {
            throw fail(.frameTooLarge, "body of \(header.bodyLength) bytes exceeds the limit of \(bodyBytesMax) (frame limit \(bodyBytesMax + FrameHeader.byteCount) bytes)")
        }
    }

    static func leadingBytes(_ buffer: ByteBuffer) -> [UInt8] {
        buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, FrameHeader.byteCount)) ?? []
    }
}
