#if canImport(Glibc)
import Glibc
#endif
import EngramProtocol
import NIOCore
import Testing

/// Keeps the hex examples in docs/PROTOCOL.md true: they are produced here by the encoder and
/// compared with the document. Run with `ENGRAM_UPDATE_PROTOCOL_DOC=1` to rewrite them.
@Suite struct ProtocolDocumentTests {
    static let limits = ServerLimitsReport(requestFrameBytesMax: 2 << 20, responseFrameBytesMax: 4_293_168, inFlightRequestCountMax: 128, namespaceBytesMax: 64, keyBytesMax: 256, valueBytesMax: 1 << 20, scanCountMax: 1000, tagCountMax: 32, tagBytesMax: 64, vectorDimensionsMax: 4096, idleTimeoutMilliseconds: 300_000)
    static let factID = FactID("6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c")!

    /// Each example: a title, what it shows, and the frame's bytes.
    static func examples() -> [(String, ByteBuffer)] {
        func request(_ request: Request, _ id: UInt64, flags: FrameFlags = []) -> ByteBuffer {
            var buffer = ByteBuffer()
            FrameEncoder.write(request, requestID: id, flags: flags, into: &buffer)
            return buffer
        }
        func response(_ opcode: Opcode, _ id: UInt64, _ response: Response) -> ByteBuffer {
            var buffer = ByteBuffer()
            FrameEncoder.writeFrame(into: &buffer, opcode: opcode, requestID: id, status: response.status, flags: response.flags) { response.encodeBody(into: &$0) }
            return buffer
        }
        return [
            ("hello request: versions 1 to 1, durable default, token \"s3cret\", client \"triage\", request id 1",
             request(.hello(HelloRequest(token: Array("s3cret".utf8), clientName: "triage")), 1)),
            ("hello response: version 1, default limits, one grant (write on \"crm\"), server \"engramd\"",
             response(.hello, 1, .hello(HelloResponse(version: 1, openMode: false, limits: limits, grants: [Grant(role: .write, namespace: "crm")], serverName: "engramd")))),
            ("ping request with the payload \"hi\", request id 2",
             request(.ping(payload: Array("hi".utf8)), 2)),
            ("long-term put of \"enterprise\" at key \"profile:acme\" in \"crm\", connection default durability, request id 3",
             request(.longTermPut(namespace: "crm", key: Array("profile:acme".utf8), value: Array("enterprise".utf8)), 3)),
            ("the same put asking for applied durability (flags 0x02), request id 4",
             request(.longTermPut(namespace: "crm", key: Array("profile:acme".utf8), value: Array("enterprise".utf8)), 4, flags: .applied)),
            ("its response: version 42",
             response(.longTermPut, 4, .version(42))),
            ("long-term get of \"profile:acme\" in \"crm\", request id 5",
             request(.longTermGet(namespace: "crm", key: Array("profile:acme".utf8)), 5)),
            ("its response: version 42, value \"enterprise\"",
             response(.longTermGet, 5, .value(version: 42, value: Array("enterprise".utf8)))),
            ("a get of a missing key: status notFound (1), empty message",
             response(.longTermGet, 6, .failure(.notFound, message: ""))),
            ("compare-and-set expecting version 41, request id 7",
             request(.longTermCompareAndSet(namespace: "crm", key: Array("profile:acme".utf8), expectedVersion: 41, value: Array("smb".utf8)), 7)),
            ("its failure: status versionConflict (2)",
             response(.longTermCompareAndSet, 7, .failure(.versionConflict, message: "expected version 41 for key \"profile:acme\", found version 42"))),
            ("long-term scan of prefix \"lead:\" from the start, limit 2, request id 8",
             request(.longTermScan(namespace: "crm", prefix: Array("lead:".utf8), after: [], limit: 2), 8)),
            ("its response: two entries and the resume key \"lead:2\"",
             response(.longTermScan, 8, .longTermPage(entries: [WireEntry(key: Array("lead:1".utf8), version: 7, value: Array("a".utf8)), WireEntry(key: Array("lead:2".utf8), version: 9, value: Array("b".utf8))], resumeAfter: Array("lead:2".utf8)))),
            ("semantic put of a fact with tag \"lead\", a 2-dimension vector (0.5, -1) and body \"likes email\" in \"kb\", request id 9",
             request(.semanticPut(namespace: "kb", id: factID, fact: WireFact(tags: ["lead"], vector: [0.5, -1], body: Array("likes email".utf8))), 9)),
            ("semantic scan of \"kb\" after nothing, limit 10, request id 10",
             request(.semanticScan(namespace: "kb", after: nil, limit: 10), 10)),
            ("short-term put of \"draft 2\" at key \"ctx:lead-42\" in \"crm\" with a TTL of 600 seconds, request id 12",
             request(.shortTermPut(namespace: "crm", key: Array("ctx:lead-42".utf8), ttl: .seconds(600), value: Array("draft 2".utf8)), 12)),
            ("its response: status 0, no body",
             response(.shortTermPut, 12, .empty)),
            ("short-term get of \"ctx:lead-42\" in \"crm\", request id 13",
             request(.shortTermGet(namespace: "crm", key: Array("ctx:lead-42".utf8)), 13)),
            ("the get's response: value \"draft 2\"",
             response(.shortTermGet, 13, .shortTermValue(Array("draft 2".utf8)))),
            ("short-term multi-get of \"a\", \"b\" and \"c\", request id 14",
             request(.shortTermMultiGet(namespace: "crm", keys: [Array("a".utf8), Array("b".utf8), Array("c".utf8)]), 14)),
            ("its response: \"a\" holds \"1\", \"b\" is absent, \"c\" was not read (the answer was full)",
             response(.shortTermMultiGet, 14, .multiGet([.value(Array("1".utf8)), .absent, .notRead]))),
            ("episodic append of one episode by agent \"triage-1\": kind 3, lead 6f1c2a9e-..., body \"score 87\", in \"crm\", request id 15",
             request(.episodicAppend(namespace: "crm", episodes: [WireNewEpisode(agent: "triage-1", kind: 3, lead: factID, body: Array("score 87".utf8))]), 15)),
            ("its response: sequence 1, timestamp 1,767,225,600,000,000 µs (2026-01-01), position 7",
             response(.episodicAppend, 15, .receipts([WireEpisodeReceipt(sequence: 1, timestampMicroseconds: 1_767_225_600_000_000, position: 7)]))),
            ("episodic read range of agent \"triage-1\", sequences 1 to 10, any time, newest first, limit 5, request id 16",
             request(.episodicReadRange(namespace: "crm", agent: "triage-1", range: .sequences(1...10), order: .newestFirst, limit: 5), 16)),
            ("episodic follow of \"crm\" from position 7, agent \"triage-1\" only, kinds 3 and 4, request id 17",
             request(.episodicFollow(namespace: "crm", from: 7, agents: ["triage-1"], kinds: [3, 4]), 17)),
            ("its first push frame (flags 0x04, more): the follow is live from position 7",
             response(.episodicFollow, 17, .followPush(nextPosition: 7, episodes: []))),
            ("a push frame with the episode appended above; the next position is 8",
             response(.episodicFollow, 17, .followPush(nextPosition: 8, episodes: [WireEpisode(position: 7, sequence: 1, timestampMicroseconds: 1_767_225_600_000_000, agent: "triage-1", kind: 3, lead: factID, body: Array("score 87".utf8))]))),
            ("episodic unfollow of the follow with request id 17, request id 18",
             request(.episodicUnfollow(followRequestID: 17), 18)),
            ("the follow's last frame before the unfollow's answer: no more flag, next position 8",
             response(.episodicFollow, 17, .followEnd(nextPosition: 8))),
            ("lead upsert in \"crm\": id 6f1c2a9e-..., email \"ann@example.com\", score 87, status \"new\", created at the batch time (-1), request id 19",
             request(.leadUpsert(namespace: "crm", record: WireLead(id: factID, email: "ann@example.com", score: 87, status: "new").record), 19)),
            ("lead query: score at least 80, created at or after 1,767,225,600,000,000 µs, status \"new\", best first, limit 20, no cursor, request id 20",
             request(.leadQuery(namespace: "crm", query: WireLeadQuery(scoreMin: 80, createdAtOrAfterMicroseconds: 1_767_225_600_000_000, status: "new", limit: 20)), 20)),
            ("lead upsert batch in \"crm\" of two leads, both status \"new\" and created at the batch time: 6f1c2a9e-... \"ann@example.com\" score 87 and 00010203-... \"ANN@example.com\" score 40, request id 24",
             request(.leadUpsertBatch(namespace: "crm", records: [WireLead(id: factID, email: "ann@example.com", score: 87, status: "new").record, WireLead(id: FactID(bytes: Array(0..<16)), email: "ANN@example.com", score: 40, status: "new").record]), 24)),
            ("its response: updated at 1,767,225,600,000,000 µs; the first lead stored with version 12, created at the batch time; the second refused with alreadyExists (13), its email taken by the first",
             response(.leadUpsertBatch, 24, .upsertOutcomes(updatedAtMicroseconds: 1_767_225_600_000_000, outcomes: [.stored(version: 12, createdAtMicroseconds: 1_767_225_600_000_000), .refused(.alreadyExists, message: "email \"ANN@example.com\" already belongs to lead 6F1C2A9E-0B7D-4E21-9C3A-5D8E7F6A1B2C in namespace crm")]))),
            ("campaign upsert batch in \"crm\" of one campaign, 00010203-... \"Spring\", email, active, budget 125,000 cents, created at the batch time, request id 25",
             request(.campaignUpsertBatch(namespace: "crm", records: [WireCampaign(id: FactID(bytes: Array(0..<16)), name: "Spring", type: "email", status: .active, budgetCents: 125_000).record]), 25)),
            ("campaign summary response: campaign 00010203-... \"Spring\", email, active, budget 125,000 cents, version 9; 2 events, 150 sent, 45 opened, 10 clicked, 2 converted",
             response(.campaignSummary, 21, .summary(WireCampaignSummary(campaign: WireCampaign(id: FactID(bytes: Array(0..<16)), name: "Spring", type: "email", status: .active, budgetCents: 125_000, createdAtMicroseconds: 1_767_225_600_000_000, updatedAtMicroseconds: 1_767_225_600_000_000, version: 9), totals: WireTotals(eventCount: 2, sent: 150, opened: 45, clicked: 10, converted: 2))))),
            ("erase lead 6f1c2a9e-... in \"crm\", request id 22",
             request(.eraseLead(namespace: "crm", id: factID), 22)),
            ("its response: the lead record deleted, 17 episodes dropped from 2 rewritten segments, 4 index entries rekeyed, 1 lead finished, 9 commands, the longest 640 µs, 35,100 µs in all, complete",
             response(.eraseLead, 22, .erasure(Self.leadErasure))),
            ("consolidate (an empty body), request id 23",
             request(.consolidate, 23)),
            ("its response: 3 items expired, 40 events folded into 6 leads' summaries, no segment trimmed, 2 commands, the longest 410 µs, 1,250 µs in all, no more work, no erasure pending",
             response(.consolidate, 23, .consolidation(Self.pass))),
            ("a request from a read-only token: status forbidden (105)",
             response(.longTermPut, 11, .failure(.forbidden, message: "the token has read on namespace crm; long_term_put needs write"))),
            ("the server's answer to bytes that are not a frame: malformedFrame (100) with request id 0, then close",
             response(.none, 0, .failure(.malformedFrame, message: "the frame starts with 47 45, not the magic 45 47 (\"EG\")"))),
            ("going away, sent by the server on shutdown: 12 requests were read",
             response(.goingAway, 0, .goingAway(requestsRead: 12))),
        ]
    }

    static let leadErasure: WireErasureReport = {
        var report = WireErasureReport()
        report.deletedLeadRecordCount = 1
        report.rewrittenSegmentCount = 2
        report.droppedEpisodeCount = 17
        report.rekeyedIndexEntryCount = 4
        report.finishedLeadCount = 1
        report.commandCount = 9
        report.longestCommandMicroseconds = 640
        report.elapsedMicroseconds = 35_100
        return report
    }()

    static let pass: WireConsolidationReport = {
        var report = WireConsolidationReport()
        report.expiredItemCount = 3
        report.foldedEventCount = 40
        report.updatedLeadCount = 6
        report.commandCount = 2
        report.longestCommandMicroseconds = 410
        report.elapsedMicroseconds = 1_250
        return report
    }()

    static func render() -> String {
        var text = ""
        for (title, frame) in examples() {
            text += "\n\(title):\n\n```\n"
            let bytes = Array(frame.readableBytesView)
            var offset = 0
            while offset < bytes.count {
                let line = bytes[offset..<min(offset + 16, bytes.count)]
                let hex = line.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
                let offsetText = String(offset, radix: 16)
                text += String(repeating: "0", count: 4 - offsetText.count) + offsetText + "  " + hex + "\n"
                offset += 16
            }
            text += "```\n"
        }
        return text + "\n"
    }

    static let beginMarker = "<!-- frames:begin -->"
    static let endMarker = "<!-- frames:end -->"

    static var documentPath: String {
        let file = "\(#filePath)"
        let root = file.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        return root + "/docs/PROTOCOL.md"
    }

    @Test func theDocumentsHexExamplesMatchTheEncoder() throws {
        let document = try readText(Self.documentPath)
        guard let begin = document.firstRange(of: Self.beginMarker), let end = document.firstRange(of: Self.endMarker) else {
            Issue.record("docs/PROTOCOL.md lacks the frame markers")
            return
        }
        let current = String(document[begin.upperBound..<end.lowerBound])
        let expected = Self.render()
        if getenv("ENGRAM_UPDATE_PROTOCOL_DOC") != nil && current != expected {
            let updated = String(document[..<begin.upperBound]) + expected + String(document[end.lowerBound...])
            try writeText(Self.documentPath, updated)
            return
        }
        #expect(current == expected, "docs/PROTOCOL.md examples differ from the encoder; rerun with ENGRAM_UPDATE_PROTOCOL_DOC=1")
    }

    @Test func everyExampleDecodes() throws {
        for (title, frame) in Self.examples() {
            var buffer = frame
            // Requests are the examples whose frame carries a request opcode and status 0 and
            // whose title says "request id"; responses say what they answer.
            let isRequest = (title.contains(", request id") || title.hasSuffix("request id 1")) && !title.hasPrefix("its ") && !title.hasPrefix("the ")
            let side: FrameDecoder.Side = isRequest ? .server : .client
            var decoder = FrameDecoder(side: side, frameBytesMax: 1 << 20)
            let decoded = try #require(try decoder.decodeFrame(&buffer), "\(title)")
            #expect(buffer.readableBytes == 0, "\(title)")
            if side == .server {
                #expect(try Request.decode(decoded) != nil, "\(title)")
            } else {
                _ = try Response.decode(decoded)
            }
        }
    }
}

func readText(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw ProtocolError(.malformedBody, "cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeText(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw ProtocolError(.malformedBody, "cannot write \(path)") }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    _ = fwrite(bytes, 1, bytes.count, file)
}
