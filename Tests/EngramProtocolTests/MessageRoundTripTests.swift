import EngramProtocol
import NIOCore
import Testing

/// Every request and response through the encoder and back through the decoder and codec.
@Suite struct MessageRoundTripTests {
    static let id = FactID(bytes: Array(0..<16))
    static let episode = WireEpisode(position: 11, sequence: 4, timestampMicroseconds: 1_767_225_600_000_000, agent: "engage-2", kind: 7, lead: id, campaign: FactID(bytes: Array(repeating: 3, count: 16)), body: Array("clicked".utf8))
    static let lead = WireLead(id: id, email: "Ann@Example.com", name: "Ann", company: "ACME", source: "web", category: "b2b", score: 87, status: "new", metadata: Array("{\"a\":1}".utf8), createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 5)
    static let campaign = WireCampaign(id: id, name: "Spring", type: "email", status: .active, budgetCents: 125_000, createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 9)
    static let totals = WireTotals(eventCount: 2, sent: 150, opened: 45, clicked: 10, converted: 2)
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
        .shortTermGet(namespace: "crm", key: Array("ctx".utf8)),
        .shortTermMultiGet(namespace: "crm", keys: [Array("a".utf8), [0xFF, 0]]),
        .shortTermPut(namespace: "crm", key: Array("ctx".utf8), ttl: .serverDefault, value: Array("v".utf8)),
        .shortTermPut(namespace: "crm", key: Array("ctx".utf8), ttl: .never, value: []),
        .shortTermPut(namespace: "crm", key: Array("ctx".utf8), ttl: .seconds(30), value: Array(repeating: 7, count: 300)),
        .shortTermDelete(namespace: "crm", key: Array("ctx".utf8)),
        .shortTermTouch(namespace: "crm", key: Array("ctx".utf8), ttl: .seconds(5)),
        .shortTermStats,
        .episodicAppend(namespace: "crm", episodes: [WireNewEpisode(agent: "a", kind: 1, body: [])]),
        .episodicAppend(namespace: "crm", episodes: [WireNewEpisode(agent: "triage-1", kind: 65535, lead: id, campaign: FactID(bytes: Array(repeating: 9, count: 16)), body: Array("x".utf8)), WireNewEpisode(agent: "b", kind: 2, campaign: id, body: [1, 2])]),
        .episodicReadRange(namespace: "crm", agent: "a", range: .all, order: .oldestFirst, limit: 10),
        .episodicReadRange(namespace: "crm", agent: "a", range: .time(-5...1_000), order: .newestFirst, limit: 1),
        .episodicScan(namespace: "crm", from: 0, limit: 100),
        .episodicFollow(namespace: "crm", from: 1, agents: [], kinds: []),
        .episodicFollow(namespace: "crm", from: 99, agents: ["a", "b"], kinds: [1, 2, 3]),
        .episodicUnfollow(followRequestID: 12),
        .leadUpsert(namespace: "crm", record: lead.record),
        .leadGet(namespace: "crm", id: id),
        .leadGetByEmail(namespace: "crm", email: "Ann@Example.com"),
        .leadDelete(namespace: "crm", id: id),
        .leadQuery(namespace: "crm", query: WireLeadQuery(limit: 10)),
        .leadQuery(namespace: "crm", query: WireLeadQuery(scoreMin: 80, createdAtOrAfterMicroseconds: 1_000, status: "new", source: "", order: .newest, limit: 5, cursor: Array(repeating: 1, count: 27))),
        .campaignUpsert(namespace: "crm", record: campaign.record),
        .campaignGet(namespace: "crm", id: id),
        .campaignDelete(namespace: "crm", id: id),
        .campaignQuery(namespace: "crm", status: nil, type: nil, limit: 100, after: nil),
        .campaignQuery(namespace: "crm", status: .active, type: "email", limit: 1, after: WireCampaignCursor(status: .paused, type: "ads", id: id)),
        .metricAppend(namespace: "crm", events: [WireMetricEvent(campaignID: id, timeMicroseconds: 3_600_000_000, sent: 100, opened: 40, clicked: 10, converted: 2)]),
        .campaignSummary(namespace: "crm", id: id),
        .activeCampaignSummaries(namespace: "crm", limit: 10, after: nil),
        .campaignHourly(namespace: "crm", id: id, fromMicroseconds: 0, toMicroseconds: .max, limit: 24),
        .leadUpsertBatch(namespace: "crm", records: [lead.record, WireLead(id: id, email: "b@x", score: 1, status: "new").record]),
        // A record the server cannot read still travels: only its length must stay inside the body.
        .leadUpsertBatch(namespace: "crm", records: [[9, 9, 9], []]),
        .campaignUpsertBatch(namespace: "crm", records: [campaign.record]),
        .consolidate,
        .eraseNamespace(namespace: "tenant-7"),
        .eraseLead(namespace: "crm", id: id),
        .leadEngagement(namespace: "crm", id: id),
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
        (.shortTermGet, .shortTermValue(Array("v".utf8))),
        (.shortTermGet, .shortTermValue([])),
        (.shortTermMultiGet, .multiGet([.value(Array("1".utf8)), .absent, .notRead, .value([])])),
        (.shortTermPut, .empty),
        (.shortTermDelete, .existed(true)),
        (.shortTermTouch, .existed(false)),
        (.shortTermStats, .stats([Statistic("hot_tier.items", 4)])),
        (.episodicAppend, .receipts([WireEpisodeReceipt(sequence: 1, timestampMicroseconds: -3, position: 9), WireEpisodeReceipt(sequence: 2, timestampMicroseconds: 5, position: 10)])),
        (.episodicReadRange, .episodePage(episodes: [episode], next: .sequences(2...9))),
        (.episodicReadRange, .episodePage(episodes: [], next: nil)),
        (.episodicScan, .episodeScanPage(episodes: [episode, episode], nextPosition: 40, isAtEnd: true)),
        (.episodicFollow, .followPush(nextPosition: 12, episodes: [episode])),
        (.episodicFollow, .followPush(nextPosition: 1, episodes: [])),
        (.episodicFollow, .followEnd(nextPosition: 12)),
        (.episodicFollow, .failure(.shuttingDown, message: "stopping")),
        (.episodicUnfollow, .existed(true)),
        (.leadUpsert, .lead(lead)),
        (.leadGet, .lead(lead)),
        (.leadGetByEmail, .lead(WireLead(id: id, email: "a@b", score: 0, status: "x"))),
        (.leadQuery, .leadPage(leads: [lead, lead], cursor: Array(repeating: 2, count: 27))),
        (.leadQuery, .leadPage(leads: [], cursor: nil)),
        (.leadDelete, .existed(true)),
        (.campaignUpsert, .campaign(campaign)),
        (.campaignGet, .campaign(campaign)),
        (.campaignQuery, .campaignPage(campaigns: [campaign], next: WireCampaignCursor(status: .active, type: "email", id: id))),
        (.campaignQuery, .campaignPage(campaigns: [], next: nil)),
        (.campaignDelete, .existed(false)),
        (.metricAppend, .sequences([7, 8])),
        (.campaignSummary, .summary(WireCampaignSummary(campaign: campaign, totals: totals))),
        (.activeCampaignSummaries, .summaryPage(summaries: [WireCampaignSummary(campaign: campaign, totals: WireTotals())], next: nil)),
        (.campaignHourly, .hourlyPage(buckets: [WireHourlyBucket(hourStartMicroseconds: 3_600_000_000, totals: totals)], resumeFromMicroseconds: 7_200_000_000)),
        (.campaignHourly, .hourlyPage(buckets: [], resumeFromMicroseconds: nil)),
        (.leadUpsertBatch, .upsertOutcomes(updatedAtMicroseconds: 1_700_000_000_000_001, outcomes: [.stored(version: 12, createdAtMicroseconds: 1_700_000_000_000_000), .refused(.alreadyExists, message: "taken"), .refused(.invalidArgument, message: "")])),
        (.campaignUpsertBatch, .upsertOutcomes(updatedAtMicroseconds: 5, outcomes: [.stored(version: 1, createdAtMicroseconds: -1)])),
        (.leadUpsertBatch, .failure(.valueTooLarge, message: "1025 leads exceed leadUpsertBatchCountMax 1024")),
        (.consolidate, .consolidation(LifecycleCodecTests.pass)),
        (.consolidate, .consolidation(WireConsolidationReport())),
        (.eraseNamespace, .erasure(LifecycleCodecTests.erasure)),
        (.eraseLead, .erasure(WireErasureReport())),
        (.eraseLead, .failure(.forbidden, message: "the token has read on namespace crm; erase_lead needs write")),
        (.leadEngagement, .engagement(LifecycleCodecTests.engagement)),
        (.longTermGet, .failure(.notFound, message: "")),
        (.longTermPut, .failure(.keyTooLarge, message: "key of 300 bytes exceeds keyBytesMax 256")),
    ]

    @Test(arguments: responses)
    func responseRoundTrips(_ opcode: Opcode, _ response: Response) throws {
        var buffer = ByteBuffer()
        FrameEncoder.writeFrame(into: &buffer, opcode: opcode, requestID: 5, status: response.status, flags: response.flags) { response.encodeBody(into: &$0) }
        var decoder = FrameDecoder(side: .client, frameBytesMax: 1 << 20)
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(frame.header.status == response.status)
        #expect(frame.header.flags == response.flags)
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

    /// The lead and campaign records are the bytes of docs/RECORDS.md's examples.
    @Test func recordsMatchTheRecordsDocumentsExamples() throws {
        let id = FactID("00112233-4455-6677-8899-aabbccddeeff")!
        let lead = WireLead(id: id, email: "Ann@Example.com", name: "Ann", company: "ACME", source: "web", category: "b2b", score: 87, status: "new", metadata: Array("{\"a\":1}".utf8), createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 5)
        let leadHex: String = ["01570000", "00112233445566778899aabbccddeeff", "0500000000000000", "00401e18240a0600", "01401e18240a0600",
            "0f00416e6e404578616d706c652e636f6d", "0300416e6e", "040041434d45", "0300776562", "0300623262", "03006e6577", "070000007b2261223a317d"].joined()
        #expect(hexText(lead.record) == leadHex)
        let campaign = WireCampaign(id: id, name: "Spring", type: "email", status: .active, budgetCents: 125_000, createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 9)
        let campaignHex: String = ["01020000", "00112233445566778899aabbccddeeff", "0900000000000000", "00401e18240a0600", "01401e18240a0600", "48e8010000000000", "0600537072696e67", "0500656d61696c"].joined()
        #expect(hexText(campaign.record) == campaignHex)
        let event = WireMetricEvent(campaignID: id, timeMicroseconds: 3_600_000_000, sequence: 7, sent: 100, opened: 40, clicked: 10, converted: 2)
        #expect(hexText(event.record) == ["01000000", "00112233445566778899aabbccddeeff", "00a493d600000000", "0700000000000000", "64000000280000000a00000002000000"].joined())
    }

    /// The counted length a response page reserves is the record's, for every field size, empty
    /// or multi-byte, and the record written into a page is the record.
    @Test func leadRecordByteCountIsTheRecordsLength() {
        let texts = ["", "a", "Ann@Example.com", "Zoë Ångström", "東京支社", String(repeating: "x", count: 300)]
        for (index, text) in texts.enumerated() {
            let other = texts[(index + 1) % texts.count]
            let lead = WireLead(id: Self.id, email: text, name: other, company: text, source: other, category: text, score: UInt8(index), status: other, metadata: Array(repeating: UInt8(ascii: "7"), count: index * 100), createdAtMicroseconds: Int64(index), updatedAtMicroseconds: 9, version: UInt64(index))
            #expect(lead.recordByteCount == lead.record.count, "\(text)")
            var page = ByteBuffer()
            lead.writeRecord(into: &page)
            #expect(Array(page.readableBytesView) == lead.record)
        }
    }

    @Test func factIDsPrintAndParseAsUUIDText() {
        #expect(Self.id.description == "00010203-0405-0607-0809-0a0b0c0d0e0f")
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0f") == Self.id)
        #expect(FactID("not an id") == nil)
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0g") == nil)
        #expect(FactID("000102030405060708090A0B0C0D0E0F") == Self.id, "32 digits alone, either case")
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0") == nil, "35 characters")
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0e0f0") == nil, "37 characters")
        #expect(FactID("00010203-0405-0607-0809--a0b0c0d0e0f") == nil, "31 digits")
        #expect(FactID("00010203-0405-0607-0809-0a0b0c0d0é0") == nil, "a digit that is not ASCII")
    }

    /// A lead's record built into an array is the bytes `writeRecord` puts in a page.
    @Test func aLeadRecordIsTheBytesItsPageEntryHas() {
        let lead = WireLead(id: Self.id, email: "ann@example.com", name: "Ann Ö", company: "", source: "web", category: "b2b", score: 87, status: "new",
                            metadata: Array("{\"a\":1}".utf8), createdAtMicroseconds: -1, updatedAtMicroseconds: 5, version: 9)
        var buffer = ByteBuffer()
        lead.writeRecord(into: &buffer)
        #expect(lead.record == Array(buffer.readableBytesView))
        #expect(lead.record.count == lead.recordByteCount)
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

func hexText(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
