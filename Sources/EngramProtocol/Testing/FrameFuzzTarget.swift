import NIOCore

/// The frame decoder's fuzz target (docs/PROTOCOL.md, "Frames").
///
/// Input: `control:u8 chunking:u8 stream`. Control bit 0: the side that decodes (0 the server,
/// reading requests; 1 the client, reading responses); bits 1-3: the frame limit, one of
/// `frameBytesMaxChoices`; bit 4: the peer closes after the stream (end of file). `chunking` 0
/// hands the stream over in one piece; otherwise it seeds the lengths of the pieces, 1 to
/// `(chunking & 63) + 1` bytes each.
///
/// The stream goes through the real `FrameDecoder` twice: as the server drives it (`decodeFrame`
/// over its own cumulation, compacted now and then), checking after every call that a partial
/// frame left the reader index where it was and a whole one moved it by exactly the frame; and
/// through NIO's `NIOSingleStepByteToMessageProcessor`, the machinery of `ByteToMessageHandler`.
/// Both must give what `expected` (a direct reading of the spec over the whole stream) gives: the
/// same frames, each writing back to its bytes, then the same error (code, request id, opcode,
/// leading bytes) or none, whatever the chunking.
enum FrameFuzzTarget {
    static let frameBytesMaxChoices = [20, 21, 64, 300, 4_096, 1 << 20, 20, 128]

    enum Ending: Equatable {
        case clean
        case failed(code: ProtocolError.Code, requestID: UInt64, opcode: Opcode, bytes: [UInt8])
    }

    struct Outcome: Equatable {
        var frames: [Frame] = []
        var ending = Ending.clean
    }

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard buffer.count >= 2 else { return false }
        let control = buffer[0]
        let chunking = buffer[1]
        let stream = Array(buffer[2...])
        let side: FrameDecoder.Side = control & 1 == 0 ? .server : .client
        let frameBytesMax = frameBytesMaxChoices[Int(control >> 1) & 7]
        let endOfFile = control & 0x10 != 0
        let chunks = cut(stream, chunking)

        let model = expected(stream, side: side, bodyBytesMax: frameBytesMax - FrameHeader.byteCount, endOfFile: endOfFile)
        let serverStyle = decodeAsServer(chunks, side: side, frameBytesMax: frameBytesMax, endOfFile: endOfFile)
        protocolFuzzCheck(serverStyle == model, "frame", "decodeFrame over \(chunks.count) chunks gave \(summary(serverStyle)), the spec \(summary(model))")
        let processed = decodeWithProcessor(chunks, side: side, frameBytesMax: frameBytesMax, endOfFile: endOfFile)
        protocolFuzzCheck(processed == model, "frame", "NIOSingleStepByteToMessageProcessor over \(chunks.count) chunks gave \(summary(processed)), the spec \(summary(model))")

        // Each frame writes back to exactly its bytes in the stream.
        var offset = 0
        for frame in model.frames {
            var written = ByteBuffer()
            frame.write(into: &written)
            let length = written.readableBytes
            protocolFuzzCheck(Array(written.readableBytesView) == Array(stream[offset..<(offset + length)]), "frame", "frame at \(offset) writes back differently")
            offset += length
        }
        return model.ending == .clean
    }

    /// Piece lengths from a small generator seeded by `chunking`; 0 is one piece.
    static func cut(_ stream: [UInt8], _ chunking: UInt8) -> [[UInt8]] {
        guard chunking != 0 else { return [stream] }
        var state = UInt32(chunking) &* 2_654_435_761 | 1
        let lengthMax = Int(chunking & 63) + 1
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            let length = min(1 + Int(state % UInt32(lengthMax)), stream.count - offset)
            chunks.append(Array(stream[offset..<(offset + length)]))
            offset += length
        }
        return chunks
    }

    /// The spec read directly: frames while whole ones are there; the header checks in their fixed
    /// order (magic, version, flags and status, request id, body length) as soon as 20 bytes are.
    static func expected(_ stream: [UInt8], side: FrameDecoder.Side, bodyBytesMax: Int, endOfFile: Bool) -> Outcome {
        var outcome = Outcome()
        var offset = 0
        func u16(_ at: Int) -> UInt16 { UInt16(stream[offset + at]) | UInt16(stream[offset + at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(stream[offset + at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(stream[offset + at + $1]) << (8 * $1) } }
        while true {
            let remaining = stream.count - offset
            let leading = Array(stream[offset..<(offset + min(remaining, FrameHeader.byteCount))])
            guard remaining >= FrameHeader.byteCount else {
                if endOfFile && remaining > 0 { outcome.ending = .failed(code: .truncatedStream, requestID: 0, opcode: .none, bytes: leading) }
                return outcome
            }
            let version = stream[offset + 2]
            let flags = stream[offset + 3]
            let opcode = Opcode(rawValue: u16(4))
            let status = u16(6)
            let requestID = u64(8)
            let bodyLength = Int(u32(16))
            func fail(_ code: ProtocolError.Code) -> Outcome {
                outcome.ending = .failed(code: code, requestID: requestID, opcode: opcode, bytes: leading)
                return outcome
            }
            if u16(0) != 0x4745 {
                outcome.ending = .failed(code: .badMagic, requestID: 0, opcode: .none, bytes: leading)
                return outcome
            }
            if version != 1 { return fail(.unsupportedVersion) }
            switch side {
            case .server:
                if flags & 0b1111_1100 != 0 || flags & 0b11 == 3 { return fail(.reservedBits) }
                if status != 0 { return fail(.statusInRequest) }
                if requestID == 0 { return fail(.zeroRequestID) }
            case .client:
                if flags & 0b1111_1000 != 0 { return fail(.reservedBits) }
            }
            if bodyLength > bodyBytesMax { return fail(.frameTooLarge) }
            guard remaining >= FrameHeader.byteCount + bodyLength else {
                if endOfFile { return fail(.truncatedStream) }
                return outcome
            }
            let header = FrameHeader(version: version, flags: FrameFlags(rawValue: flags), opcode: opcode, status: Status(rawValue: status), requestID: requestID, bodyLength: UInt32(bodyLength))
            let bodyStart = offset + FrameHeader.byteCount
            outcome.frames.append(Frame(header: header, body: ByteBuffer(bytes: stream[bodyStart..<(bodyStart + bodyLength)])))
            offset = bodyStart + bodyLength
        }
    }

    static func ending(_ error: any Error) -> Ending {
        guard let error = error as? ProtocolError else { fatalError("frame: the decoder threw \(error), not a ProtocolError") }
        return .failed(code: error.code, requestID: error.requestID, opcode: error.opcode, bytes: error.bytes)
    }

    static func decodeAsServer(_ chunks: [[UInt8]], side: FrameDecoder.Side, frameBytesMax: Int, endOfFile: Bool) -> Outcome {
        var decoder = FrameDecoder(side: side, frameBytesMax: frameBytesMax)
        var outcome = Outcome()
        var cumulation = ByteBuffer()
        do {
            for (index, chunk) in chunks.enumerated() {
                cumulation.writeBytes(chunk)
                while true {
                    let before = cumulation.readerIndex
                    guard let frame = try decoder.decodeFrame(&cumulation) else {
                        protocolFuzzCheck(cumulation.readerIndex == before, "frame", "a partial frame moved the reader index from \(before) to \(cumulation.readerIndex)")
                        break
                    }
                    let consumed = cumulation.readerIndex - before
                    protocolFuzzCheck(consumed == FrameHeader.byteCount + frame.body.readableBytes, "frame", "a frame of \(frame.body.readableBytes) body bytes moved the reader index by \(consumed)")
                    outcome.frames.append(frame)
                }
                // The server compacts its cumulation now and then; frames already out keep their bytes.
                if index % 2 == 1 { cumulation.discardReadBytes() }
            }
            if endOfFile {
                let last = try decoder.decodeLast(buffer: &cumulation, seenEOF: true)
                protocolFuzzCheck(last == nil, "frame", "decodeLast found a frame that decodeFrame left")
            }
        } catch {
            outcome.ending = ending(error)
        }
        return outcome
    }

    static func decodeWithProcessor(_ chunks: [[UInt8]], side: FrameDecoder.Side, frameBytesMax: Int, endOfFile: Bool) -> Outcome {
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(side: side, frameBytesMax: frameBytesMax))
        var outcome = Outcome()
        do {
            for chunk in chunks {
                try processor.process(buffer: ByteBuffer(bytes: chunk)) { outcome.frames.append($0) }
            }
            try processor.finishProcessing(seenEOF: endOfFile) { outcome.frames.append($0) }
        } catch {
            outcome.ending = ending(error)
        }
        return outcome
    }

    static func summary(_ outcome: Outcome) -> String {
        "\(outcome.frames.count) frames (\(outcome.frames.map { "\($0.header.opcode)/\($0.body.readableBytes)" }.joined(separator: ", "))) then \(outcome.ending)"
    }
}
