import EngramProtocol
import NIOCore
import Testing

/// Every request and response through the encoder and back through the decoder and codec.
@Suite struct MessageRoundTripTests {
    static let id = FactID(bytes: Array(0..<16))
    static let fact = WireFact(tags: ["lead", "hot"], vector: [0.5, -1.25, 3], body: Array("prefers email".utf8))

    static let requests: [Request] = [
        .hello(HelloRequest(defaultDurability: .applied, token: Array("s3cret".utf8), clientName: "triage-agent")),
        .hello(HelloRequest(token: [], clientName: "")),
        .ping(payload: []),
        .ping(payload: Array("are you there".utf8)),
        .stats,
        .longTermGet(namespace: "crm", key: Array("profile:acme".utf8)),
        .longTermPut(namespace: "crm", key: Array("profile:acme".utf8), value: Array("enterprise".utf8)),
        .longTermPut(namespace: "crm", key: [0xFF], value: []),
        .longTermDelete(namespace: "crm", key: Array("k".utf8), expectedVersion: 0),
        .longTermDelete(namespace: "crm", key: Array("k".utf8), expectedVersion: 42),
        .longTermCompareAndSet(namespace: "crm", key: Array("k".utf8), expectedVersion: 7, value: Array("v".utf8)),
        .longTermScan(namespace: "crm", prefix: Array("profile:".utf8), after: [], limit: 100),
        .longTermScan(namespace: "crm", prefix: [], after: Array("profile:b".utf8), limit: 1),
        .semanticPut(namespace: "kb", id: id, fact: fact),
        .semanticPut(namespace: "kb", id: id, fact: WireFact(body: [])),
        .semanticGet(namespace: "kb", id: id),
        .semanticDelete(namespace: "kb", id: id),
        .semanticScan(namespace: "kb", after: nil, limit: 10),
        .semanticScan(namespace: "kb", after: id, limit: 10),
    ]

    @Test(arguments: requests)
    func requestRoundTrips(_ request: Request) throws {
        var buffer = ByteBuffer()
        FrameEncoder.write(request, requestID: 77, into: &buffer)
        var decoder = FrameDecoder(side: .server, frameBytesMax: 1 << 20)
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(buffer.readableBytes == 0)
        #expect(frame.header.opcode == request.opcode)
        #expect(frame.header.requestID == 77)
        #expect(try Request.decode(frame) == request)
    }

    static let responses: [(Opcode, Response)] = [
        (.hello, .hello(HelloResponse(version: 1, openMode: false, limits: ServerLimitsReport(requestFrameBytesMax: 2 << 20, responseFrameBytesMax: 5 << 20, inFlightRequestCountMax: 128, namespaceBytesMax: 64, keyBytesMax: 256, valueBytesMax: 1 << 20, scanCountMax: 1000, tagCountMax: 32, tagBytesMax: 64, vectorDimensionsMax: 4096, idleTimeoutMilliseconds: 300_000), grants: [Grant(role: .write, namespace: "crm"), Grant(role: .read, namespace: nil)], serverName: "engramd"))),
        (.ping, .pong(payload: Array("x".utf8))),
        (.stats, .stats([Statistic("store.writes", 12), Statistic("server.connections", 3)])),
        (.longTermGet, .value(version: 9, value: Array("enterprise".utf8))),
        (.longTermPut, .version(10)),
        (.longTermCompareAndSet, .version(11)),
        (.semanticPut, .version(12)),
        (.longTermDelete, .existed(true)),
        (.semanticDelete, .existed(false)),
        (.longTermScan, .longTermPage(entries: [WireEntry(key: Array("a".utf8), version: 1, value: Array("1".utf8)), WireEntry(key: Array("b".utf8), version: 2, value: [])], resumeAfter: Array("b".utf8))),
        (.longTermScan, .longTermPage(entries: [], resumeAfter: nil)),
        (.semanticGet, .fact(version: 4, fact: fact)),
        (.semanticScan, .semanticPage(facts: [WireStoredFact(id: id, version: 4, fact: fact)], resumeAfter: id)),
        (.semanticScan, .semanticPage(facts: [], resumeAfter: nil)),
        (.goingAway, .goingAway(requestsRead: 17)),
        (.longTermGet, .failure(.notFound, message: "")),
        (.longTermPut, .failure(.keyTooLarge, message: "key of 300 bytes exceeds keyBytesMax 256")),
    ]

    @Test(arguments: responses)
    func responseRoundTrips(_ opcode: Opcode, _ response: Response) throws {
        var buffer = ByteBuffer()
        FrameEncoder.writeFrame(into: &buffer, opcode: opcode, requestID: 5, status: response.status) { response.encodeBody(into: &$0) }
        var decoder = FrameDecoder(side: .client, frameBytesMax: 1 << 20)
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(frame.header.status == response.status)
        #expect(try Response.decode(frame) == response)
    }

    @Test func responsesIgnoreBytesAppendedByALaterVersion() throws {
        var buffer = ByteBuffer()
        FrameEncoder.writeFrame(into: &buffer, opcode: .longTermPut, requestID: 5) {
            $0.writeInteger(UInt64(3), endianness: .little)
            $0.writeBytes([1, 2, 3])
        }
        var decoder = FrameDecoder(side: .client, frameBytesMax: 1 << 20)
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(try Response.decode(frame) == .version(3))
    }

    @Test func factIDsPrintAndParseAsUUIDText() {
        #expect(Self.id.description == "00010203-0405-0607-0809-0a0b0c0d0e0f")
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0f") == Self.id)
        #expect(FactID("not an id") == nil)
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0g") == nil)
    }

    @Test func longErrorMessagesAreCutOnACharacterBoundary() throws {
        var buffer = ByteBuffer()
        ErrorBody(message: String(repeating: "é", count: 3000)).encode(into: &buffer)
        let rawLength = buffer.readInteger(endianness: .little, as: UInt16.self)
        let length = Int(try #require(rawLength))
        #expect(length == 4096)
        #expect(buffer.readString(length: length) == String(repeating: "é", count: 2048))
    }
}
