import EngramProtocol
import NIOCore

/// The seed corpus of the protocol's fuzz targets (`Fuzz/Corpus/frame/`, `Fuzz/Corpus/message/`),
/// made by the protocol's own encoders: whole request and response streams, one body of every
/// request and every response opcode (the values `MessageRoundTripTests` round-trips), error
/// bodies, and a few streams each decoder must refuse. `ProtocolFuzzSeedTests` checks them and,
/// with `ENGRAM_WRITE_FUZZ_SEEDS=1` (`tools/fuzz --write-seeds`), writes them. Deterministic.
struct ProtocolFuzzSeed {
    let target: String
    let name: String
    let bytes: [UInt8]
    let accepted: Bool
}

enum ProtocolFuzzSeeds {
    static func all() -> [ProtocolFuzzSeed] { frame() + message() }

    /// The frame target's control byte: side, frame limit (an index into
    /// `frameBytesMaxChoices`: 2 is 64 bytes, 5 is 1 MiB), end of file.
    static func control(client: Bool, limitIndex: UInt8, endOfFile: Bool) -> UInt8 {
        (client ? 1 : 0) | limitIndex << 1 | (endOfFile ? 0x10 : 0)
    }

    static func stream(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        write(&buffer)
        return Array(buffer.readableBytesView)
    }

    static let requestStream = stream { buffer in
        FrameEncoder.write(.hello(HelloRequest(token: Array("secret".utf8), clientName: "seed")), requestID: 1, into: &buffer)
        FrameEncoder.write(.ping(payload: [1, 2, 3]), requestID: 2, into: &buffer)
        FrameEncoder.write(.longTermPut(namespace: "crm", key: Array("lead:42".utf8), value: Array("{\"score\":87}".utf8)), requestID: 3, flags: .durable, into: &buffer)
        FrameEncoder.write(.shortTermGet(namespace: "crm", key: Array("session".utf8)), requestID: 4, into: &buffer)
        FrameEncoder.write(.episodicScan(namespace: "crm", from: 1, limit: 10), requestID: 5, into: &buffer)
    }

    static let responseStream = stream { buffer in
        FrameEncoder.writeFrame(into: &buffer, opcode: .ping, requestID: 2) { Response.pong(payload: [1, 2, 3]).encodeBody(into: &$0) }
        FrameEncoder.writeFrame(into: &buffer, opcode: .longTermPut, requestID: 3) { Response.version(9).encodeBody(into: &$0) }
        FrameEncoder.writeError(.notFound, "", opcode: .shortTermGet, requestID: 4, into: &buffer)
        let push = Response.followPush(nextPosition: 12, episodes: [MessageRoundTripTests.episode])
        FrameEncoder.writeFrame(into: &buffer, opcode: .episodicFollow, requestID: 6, flags: push.flags) { push.encodeBody(into: &$0) }
        FrameEncoder.writeFrame(into: &buffer, opcode: .goingAway, requestID: 0) { Response.goingAway(requestsRead: 6).encodeBody(into: &$0) }
    }

    static func frame() -> [ProtocolFuzzSeed] {
        let oneMiB: UInt8 = 5
        let tooLarge = stream { FrameEncoder.write(.ping(payload: Array(repeating: 7, count: 100)), requestID: 1, into: &$0) }
        return [
            ProtocolFuzzSeed(target: "frame", name: "requests", bytes: [control(client: false, limitIndex: oneMiB, endOfFile: false), 0] + requestStream, accepted: true),
            ProtocolFuzzSeed(target: "frame", name: "requests-in-pieces-then-end-of-file", bytes: [control(client: false, limitIndex: oneMiB, endOfFile: true), 7] + requestStream, accepted: true),
            ProtocolFuzzSeed(target: "frame", name: "responses-in-pieces", bytes: [control(client: true, limitIndex: oneMiB, endOfFile: false), 45] + responseStream, accepted: true),
            ProtocolFuzzSeed(target: "frame", name: "partial-frame-then-end-of-file", bytes: [control(client: false, limitIndex: oneMiB, endOfFile: true), 3] + requestStream.dropLast(5), accepted: false),
            ProtocolFuzzSeed(target: "frame", name: "over-the-frame-limit", bytes: [control(client: false, limitIndex: 2, endOfFile: false), 0] + requestStream.prefix(40) + tooLarge, accepted: false),
            ProtocolFuzzSeed(target: "frame", name: "bad-magic-after-a-frame", bytes: [control(client: true, limitIndex: oneMiB, endOfFile: false), 0] + responseStream.prefix(23) + Array("GET / HTTP/1.1\r\n\r\n".utf8) + [0, 0], accepted: false),
        ]
    }

    static func opcodeIndex(_ opcode: Opcode) -> UInt8 {
        UInt8(ProtocolFuzzEntryPoints.messageOpcodes.firstIndex(of: opcode)!)
    }

    static func message() -> [ProtocolFuzzSeed] {
        var seeds: [ProtocolFuzzSeed] = []
        var counts: [Opcode: Int] = [:]
        func name(_ kind: String, _ opcode: Opcode) -> String {
            counts[opcode, default: 0] += 1
            let count = counts[opcode]!
            return "\(kind)-\(opcode.name.replacingUnderscores())" + (count > 1 ? "-\(count)" : "")
        }
        for request in MessageRoundTripTests.requests {
            var body = ByteBuffer()
            request.encodeBody(into: &body)
            seeds.append(ProtocolFuzzSeed(target: "message", name: name("request", request.opcode), bytes: [opcodeIndex(request.opcode), 0] + Array(body.readableBytesView), accepted: true))
        }
        counts = [:]
        for (opcode, response) in MessageRoundTripTests.responses {
            guard response.status == .ok else { continue }
            var body = ByteBuffer()
            response.encodeBody(into: &body)
            let control: UInt8 = response.flags.contains(.more) ? 3 : 1
            seeds.append(ProtocolFuzzSeed(target: "message", name: name("response", opcode), bytes: [opcodeIndex(opcode), control] + Array(body.readableBytesView), accepted: true))
        }
        for (opcode, request, response) in snapshotBodies() {
            let suffix = opcode.name.replacingUnderscores()
            seeds.append(ProtocolFuzzSeed(target: "message", name: "request-\(suffix)", bytes: [opcodeIndex(opcode), 0] + request, accepted: true))
            seeds.append(ProtocolFuzzSeed(target: "message", name: "response-\(suffix)", bytes: [opcodeIndex(opcode), 1] + response, accepted: true))
        }
        var error = ByteBuffer()
        ErrorBody(message: "key of 300 bytes exceeds keyBytesMax 256").encode(into: &error)
        // Status bits 3 (keyTooLarge) and 32 + 5 (105, forbidden).
        seeds.append(ProtocolFuzzSeed(target: "message", name: "response-error-key-too-large", bytes: [opcodeIndex(.longTermPut), 3 << 2 | 1] + Array(error.readableBytesView), accepted: true))
        seeds.append(ProtocolFuzzSeed(target: "message", name: "response-error-empty", bytes: [opcodeIndex(.longTermGet), 37 << 2 | 1], accepted: true))
        seeds.append(ProtocolFuzzSeed(target: "message", name: "request-undefined-opcode", bytes: [opcodeIndex(ProtocolFuzzEntryPoints.undefinedOpcode), 0, 1, 2, 3], accepted: false))
        seeds.append(ProtocolFuzzSeed(target: "message", name: "request-long-term-get-with-trailing-bytes", bytes: [opcodeIndex(.longTermGet), 0, 3] + Array("crm".utf8) + [1, 0, 0x6b, 0xff], accepted: false))
        return seeds
    }
}

extension ProtocolFuzzSeeds {
    /// A request and an answer of each snapshot opcode, which have their own types (not `Request`
    /// and `Response`), made by their encoders: open, a read answered by a chunk of two rows that
    /// ends the stream, close answered "existed".
    static func snapshotBodies() -> [(Opcode, [UInt8], [UInt8])] {
        func bytes(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
            var buffer = ByteBuffer()
            write(&buffer)
            return Array(buffer.readableBytesView)
        }
        let open = bytes { SnapshotOpenRequest(namespace: "crm").encode(into: &$0) }
        let opened = bytes {
            SnapshotOpenResponse(snapshotID: 7, lsn: 1_200, version: 88, episodicPosition: 4_096, holdSecondsMax: 600, chunkBytesMax: 1 << 20).encode(into: &$0)
        }
        let read = bytes { SnapshotReadRequest(snapshotID: 7, stream: .leads, chunkIndex: 0).encode(into: &$0) }
        let chunk = bytes { buffer in
            let flagsIndex = SnapshotChunk.writeHeader(chunkIndex: 0, into: &buffer)
            for row in [Array("row one".utf8), Array("second row".utf8)] {
                buffer.writeInteger(UInt32(row.count), endianness: .little)
                buffer.writeBytes(row)
            }
            SnapshotChunk.patch(&buffer, flagsIndex: flagsIndex, isEnd: true, rowCount: 2)
        }
        let close = bytes { SnapshotCloseRequest(snapshotID: 7).encode(into: &$0) }
        return [(.snapshotOpen, open, opened), (.snapshotRead, read, chunk), (.snapshotClose, close, [1])]
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
