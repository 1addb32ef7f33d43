import EngramProtocol
import NIOCore
import Testing

/// The lifecycle bodies (docs/PROTOCOL.md, "Lifecycle"): exact bytes of each layout, and the
/// malformed cases the decoders refuse.
@Suite struct LifecycleCodecTests {
    static let erasure: WireErasureReport = {
        var report = WireErasureReport()
        report.deletedKeyCount = 145
        report.deletedLeadRecordCount = 1
        report.rewrittenSegmentCount = 3
        report.droppedEpisodeCount = 120
        report.droppedDamagedBlockCount = 0
        report.rekeyedIndexEntryCount = 6
        report.finishedNamespaceCount = 1
        report.finishedLeadCount = 0
        report.commandCount = 14
        report.longestCommandMicroseconds = 812
        report.elapsedMicroseconds = 40_250
        report.isComplete = true
        return report
    }()

    static let pass: WireConsolidationReport = {
        var report = WireConsolidationReport()
        report.expiredItemCount = 2
        report.foldedEventCount = 30
        report.updatedLeadCount = 4
        report.trimmedSegmentCount = 1
        report.commandCount = 3
        report.longestCommandMicroseconds = 250
        report.elapsedMicroseconds = 1_900
        report.moreWorkRemains = true
        report.erasure = erasure
        return report
    }()

    static let engagement = WireLeadEngagement(touches: 5, opens: 2, clicks: 1, conversions: 1, lastContactMicroseconds: 1_767_225_600_000_000, lastChannel: 1, lastPosition: 811)

    func body(_ response: Response) -> [UInt8] {
        var buffer = ByteBuffer()
        response.encodeBody(into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes)!
    }

    func response(_ opcode: Opcode, _ body: [UInt8]) throws -> Response {
        try Response.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 3), body: ByteBuffer(bytes: body)))
    }

    func le(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    @Test func anErasureReportIsElevenU64sAndACompleteFlag() {
        let bytes = body(.erasure(Self.erasure))
        #expect(bytes.count == WireErasureReport.byteCount)
        #expect(bytes == [145, 1, 3, 120, 0, 6, 1, 0, 14, 812, 40_250].flatMap(le) + [1])
    }

    @Test func aConsolidationReportCarriesItsErasureAfterAFlag() {
        let bytes = body(.consolidation(Self.pass))
        #expect(bytes == [2, 30, 4, 1, 3, 250, 1_900].flatMap(le) + [1, 1] + body(.erasure(Self.erasure)))
        var idle = WireConsolidationReport()
        idle.elapsedMicroseconds = 7
        #expect(body(.consolidation(idle)) == [0, 0, 0, 0, 0, 0, 7].flatMap(le) + [0, 0])
    }

    @Test func anEngagementIsTheStoredFiftySixBytes() {
        let bytes = body(.engagement(Self.engagement))
        #expect(bytes.count == WireLeadEngagement.byteCount)
        #expect(bytes == [1, 1, 0, 0, 0, 0, 0, 0] + [5, 2, 1, 1].flatMap(le) + le(UInt64(bitPattern: 1_767_225_600_000_000)) + le(811))
    }

    @Test func requestLayouts() {
        var buffer = ByteBuffer()
        Request.eraseLead(namespace: "crm", id: FactID(bytes: Array(0..<16))).encodeBody(into: &buffer)
        #expect(buffer.readBytes(length: buffer.readableBytes)! == [3] + Array("crm".utf8) + Array(0..<16))
        buffer.clear()
        Request.eraseNamespace(namespace: "crm").encodeBody(into: &buffer)
        #expect(buffer.readBytes(length: buffer.readableBytes)! == [3] + Array("crm".utf8))
        buffer.clear()
        Request.consolidate.encodeBody(into: &buffer)
        #expect(buffer.readableBytes == 0)
    }

    @Test func malformedRequestsNameTheField() {
        func failure(_ opcode: Opcode, _ body: [UInt8]) -> String? {
            do {
                _ = try Request.decode(Frame(header: FrameHeader(opcode: opcode, requestID: 9), body: ByteBuffer(bytes: body)))
                return nil
            } catch {
                return error.message
            }
        }
        #expect(failure(.consolidate, [0]) == "consolidate body: 1 bytes after the last field at offset 0")
        #expect(failure(.eraseLead, [3] + Array("crm".utf8) + [1, 2]) == "erase_lead body: fact id of 16 bytes at offset 4 runs past the end (2 remain)")
        #expect(failure(.eraseNamespace, []) == "erase_namespace body: namespace length needs 1 bytes at offset 0, 0 remain")
        #expect(failure(.leadEngagement, [3] + Array("crm".utf8) + Array(0..<17)) == "lead_engagement body: 1 bytes after the last field at offset 20")
    }

    @Test func malformedResponsesAreRefused() throws {
        // A flag that is neither 0 nor 1.
        var flagged = body(.erasure(Self.erasure))
        flagged[flagged.count - 1] = 2
        #expect(throws: ProtocolError.self) { try response(.eraseLead, flagged) }
        // A short report.
        #expect(throws: ProtocolError.self) { try response(.eraseNamespace, Array(body(.erasure(Self.erasure)).dropLast())) }
        // An engagement with an unknown format or reserved bytes set.
        var format = body(.engagement(Self.engagement))
        format[0] = 2
        #expect(throws: ProtocolError.self) { try response(.leadEngagement, format) }
        var reserved = body(.engagement(Self.engagement))
        reserved[5] = 1
        #expect(throws: ProtocolError.self) { try response(.leadEngagement, reserved) }
        // Bytes a later version appends are ignored.
        #expect(try response(.eraseLead, body(.erasure(Self.erasure)) + [9, 9]) == .erasure(Self.erasure))
    }
}
