import EngramProtocol
import NIOCore
import Testing

/// Short-term and episodic bodies that do not match their layout, the decoder's count checks,
/// and the in-place short-term view against the ordinary decoder.
@Suite struct TierBodyTests {
    func error(_ opcode: Opcode, _ body: [UInt8]) -> ProtocolError? {
        do {
            _ = try Request.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 9), body: ByteBuffer(bytes: body)))
            return nil
        } catch {
            return error
        }
    }

    let crm: [UInt8] = [3] + Array("crm".utf8)

    @Test func aMultiGetCountTheBodyCannotHoldIsMalformedBeforeAnyKeyIsRead() throws {
        #expect(try #require(error(.shortTermMultiGet, crm + [0xFF, 0xFF, 1, 0, 0x61])).message == "short_term_multi_get body: 65535 keys need at least 131070 bytes, 3 remain")
    }

    @Test func aShortTermPutWithoutItsTTLIsMalformed() throws {
        #expect(try #require(error(.shortTermPut, crm + [1, 0, 0x61, 0, 0])).message == "short_term_put body: ttl needs 4 bytes at offset 7, 2 remain")
    }

    @Test func reservedEpisodeHeaderFlagsAreMalformed() throws {
        let body = crm + [1, 0, 1, 0x61, 3, 0, 0x04, 0, 0, 0, 0]
        #expect(try #require(error(.episodicAppend, body)).message == "episodic_append body: header flags 0x04 set reserved bits")
    }

    @Test func anAppendCountTheBodyCannotHoldIsMalformed() throws {
        #expect(try #require(error(.episodicAppend, crm + [0x00, 0x10])).message == "episodic_append body: 4096 episodes need at least 32768 bytes, 0 remain")
    }

    @Test func aReversedRangeOrAnUnknownOrderIsMalformed() throws {
        func readRange(sequences: (UInt64, UInt64), order: UInt8) -> [UInt8] {
            var buffer = ByteBuffer(bytes: crm + [1, 0x61])
            buffer.writeInteger(sequences.0, endianness: .little)
            buffer.writeInteger(sequences.1, endianness: .little)
            buffer.writeInteger(Int64.min, endianness: .little)
            buffer.writeInteger(Int64.max, endianness: .little)
            buffer.writeInteger(order)
            buffer.writeInteger(UInt32(10), endianness: .little)
            return Array(buffer.readableBytesView)
        }
        #expect(try #require(error(.episodicReadRange, readRange(sequences: (5, 4), order: 0))).message == "episodic_read_range body: sequence low 5 is above sequence high 4")
        #expect(try #require(error(.episodicReadRange, readRange(sequences: (1, 4), order: 2))).message == "episodic_read_range body: order is 2, not 0 or 1")
        #expect(error(.episodicReadRange, readRange(sequences: (4, 4), order: 1)) == nil)
    }

    @Test func aFollowKindCountPastTheEndIsMalformed() throws {
        let body = crm + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0]
        #expect(try #require(error(.episodicFollow, body)).message == "episodic_follow body: 3 kinds need 6 bytes, 2 remain")
    }

    @Test func aPushFrameWithAnImpossibleCountIsMalformed() throws {
        var body = ByteBuffer()
        body.writeInteger(UInt64(5), endianness: .little)
        body.writeInteger(UInt32(1_000_000), endianness: .little)
        let frame = Frame(header: FrameHeader(flags: .more, opcode: .episodicFollow, requestID: 3), body: body)
        #expect(throws: ProtocolError.self) { try Response.decode(frame) }
    }

    /// The fast path must accept exactly what `Request.decode` accepts, with the same fields:
    /// random bodies near the valid shape, and every valid one.
    @Test func theInPlaceShortTermViewAgreesWithTheDecoder() throws {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<4_000 {
            let isPut = trial % 2 == 0
            var buffer = ByteBuffer()
            let key = (0..<Int.random(in: 0...4, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let value = (0..<Int.random(in: 0...4, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let request: Request = isPut ? .shortTermPut(namespace: "crm", key: key, ttl: .seconds(UInt32.random(in: 0...10, using: &generator)), value: value) : .shortTermGet(namespace: "crm", key: key)
            request.encodeBody(into: &buffer)
            var bytes = Array(buffer.readableBytesView)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: break
            case 1: if !bytes.isEmpty { bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator)) }
            case 2: bytes.append(UInt8.random(in: 0...255, using: &generator))
            default: bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let opcode: Opcode = isPut ? .shortTermPut : .shortTermGet
            let decoded = try? Request.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 1), body: ByteBuffer(bytes: bytes)))
            let view = bytes.withUnsafeBytes { ShortTermRequestView.parse($0, isPut: isPut) }
            guard let view else {
                #expect(decoded == nil, "the view refused \(bytes) that the decoder took")
                continue
            }
            let namespace = String(decoding: bytes[view.namespace], as: UTF8.self)
            let expected: Request = isPut
                ? .shortTermPut(namespace: namespace, key: Array(bytes[view.key]), ttl: view.ttl, value: Array(bytes[view.value]))
                : .shortTermGet(namespace: namespace, key: Array(bytes[view.key]))
            #expect(decoded == expected, "\(bytes)")
        }
    }
}

/// Records bodies that do not match their layout.
@Suite struct RecordBodyTests {
    func error(_ opcode: Opcode, _ body: [UInt8]) -> ProtocolError? {
        do {
            _ = try Request.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 9), body: ByteBuffer(bytes: body)))
            return nil
        } catch {
            return error
        }
    }

    let crm: [UInt8] = [3] + Array("crm".utf8)

    @Test func aMetricAppendWhoseCountDoesNotMatchItsBytesIsMalformed() throws {
        #expect(try #require(error(.metricAppend, crm + [2, 0] + Array(repeating: 0, count: 52))).message == "campaign_metric_append body: 2 events need 104 bytes, 52 remain")
        let wrongFormat = [2, 0, 0, 0] + Array(repeating: UInt8(0), count: 48)
        #expect(try #require(error(.metricAppend, crm + [1, 0] + wrongFormat)).message == "campaign_metric_append body: metric event format 2 is not 1, the only format this side knows")
    }

    @Test func anUpsertBatchRecordLengthPastTheEndIsMalformed() throws {
        #expect(try #require(error(.leadUpsertBatch, crm + [0xFF, 0xFF, 0, 0, 0, 0])).message == "lead_upsert_batch body: 65535 lead records need at least 262140 bytes, 4 remain")
        #expect(try #require(error(.leadUpsertBatch, crm + [2, 0, 1, 0, 0, 0, 7, 9, 0, 0, 0, 1])).message == "lead_upsert_batch body: lead record of 9 bytes at offset 15 runs past the end (1 remain)")
        #expect(try #require(error(.campaignUpsertBatch, crm + [1, 0, 0, 0, 0, 0, 5])).message == "campaign_upsert_batch body: 1 bytes after the last field at offset 10")
        // Records that do not parse are the server's to refuse, one by one: the frame is fine.
        #expect(error(.leadUpsertBatch, crm + [2, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0]) == nil)
    }

    @Test func anUpsertBatchAnswerWhoseCountTheBodyCannotHoldIsMalformed() throws {
        var body = ByteBuffer()
        body.writeInteger(Int64(5), endianness: .little)
        body.writeInteger(UInt16(3), endianness: .little)
        body.writeBytes([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        let frame = Frame(header: FrameHeader(opcode: .leadUpsertBatch, requestID: 3), body: body)
        #expect(throws: ProtocolError.self) { try Response.decode(frame) }
    }

    @Test func anUpsertBatchAnswerCutsEachMessageOnACharacterBoundary() throws {
        var body = ByteBuffer()
        Response.upsertOutcomes(updatedAtMicroseconds: 1, outcomes: [.refused(.invalidArgument, message: String(repeating: "é", count: 300))]).encodeBody(into: &body)
        let frame = Frame(header: FrameHeader(opcode: .leadUpsertBatch, requestID: 3), body: body)
        #expect(try Response.decode(frame) == .upsertOutcomes(updatedAtMicroseconds: 1, outcomes: [.refused(.invalidArgument, message: String(repeating: "é", count: 256))]))
    }

    @Test func aCampaignQueryStatusPastFourIsMalformed() throws {
        #expect(try #require(error(.campaignQuery, crm + [5, 0, 10, 0, 0, 0, 0])).message == "campaign_query body: status 5 is not 0 (any) to 4")
    }

    @Test func aLeadQueryOrderMustBeOneOrTwo() throws {
        let body = crm + [80] + Array(repeating: 0, count: 8) + [0, 0, 3, 10, 0, 0, 0, 0]
        #expect(try #require(error(.leadQuery, body)).message == "lead_query body: order is 3, not 1 or 2")
    }

    @Test func aRecordWithTrailingBytesInAnAnswerIsMalformed() throws {
        var body = ByteBuffer()
        let record = WireCampaign(id: FactID(bytes: Array(0..<16)), name: "n", type: "t", status: .draft, budgetCents: 0).record + [0]
        body.writeInteger(UInt32(record.count), endianness: .little)
        body.writeBytes(record)
        let frame = Frame(header: FrameHeader(opcode: .campaignGet, requestID: 3), body: body)
        #expect(throws: ProtocolError.self) { try Response.decode(frame) }
    }
}
