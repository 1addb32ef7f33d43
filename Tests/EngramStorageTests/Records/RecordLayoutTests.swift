@testable import EngramStorage
import FoundationEssentials
import Testing

/// The record layouts of docs/RECORDS.md, byte for byte: the examples there are these bytes.
@Suite struct RecordLayoutTests {
    let id = UUID(uuidString: "00112233-4455-6677-8899-AABBCCDDEEFF")!

    // The hex of docs/RECORDS.md, "Lead", "Example".
    static let leadExample = """
        01 57 0000
        00112233 44556677 8899aabb ccddeeff
        05000000 00000000
        00401e18 240a0600
        01401e18 240a0600
        0f00 416e6e404578616d706c652e636f6d
        0300 416e6e
        0400 41434d45
        0300 776562
        0300 623262
        0300 6e6577
        07000000 7b2261223a317d
        """

    // docs/RECORDS.md, "Campaign".
    static let campaignExample = """
        01 02 0000
        00112233 44556677 8899aabb ccddeeff
        09000000 00000000
        00401e18 240a0600  01401e18 240a0600
        48e80100 00000000
        0600 537072696e67
        0500 656d61696c
        """

    var lead: Lead {
        Lead(id: id, email: "Ann@Example.com", name: "Ann", company: "ACME", source: "web", category: "b2b", score: 87, status: "new",
             metadata: bytes("{\"a\":1}"), createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 5)
    }

    @Test func theLeadExampleOfTheSpecIsWhatTheEncoderWrites() throws {
        #expect(hex(lead.record) == hex(unhex(Self.leadExample)))
        #expect(try Lead(record: unhex(Self.leadExample)) == lead)
        #expect(lead.record.count == LeadLayout.fixedBytes + 15 + 3 + 4 + 3 + 3 + 3 + 7)
    }

    @Test func theCampaignExampleOfTheSpecIsWhatTheEncoderWrites() throws {
        let campaign = Campaign(id: id, name: "Spring", type: "email", status: .active, budgetCents: 125_000,
                                createdAtMicroseconds: 1_700_000_000_000_000, updatedAtMicroseconds: 1_700_000_000_000_001, version: 9)
        #expect(hex(campaign.record) == hex(unhex(Self.campaignExample)))
        #expect(try Campaign(record: unhex(Self.campaignExample)) == campaign)
    }

    @Test func aMetricEventIs52BytesAndTotals48() throws {
        let event = CampaignMetricEvent(campaignID: id, timeMicroseconds: 3_600_000_000, sequence: 7, sent: 100, opened: 40, clicked: 10, converted: 2)
        #expect(hex(event.record) == "01000000" + "00112233445566778899aabbccddeeff" + "00a493d600000000" + "0700000000000000"
                + "64000000" + "28000000" + "0a000000" + "02000000")
        #expect(try CampaignMetricEvent(record: event.record) == event)
        let totals = CampaignTotals(eventCount: 2, sent: 300, opened: 90, clicked: 30, converted: 6)
        #expect(hex(TotalsLayout.record(totals)) == "0100000000000000" + "0200000000000000" + "2c01000000000000" + "5a00000000000000"
                + "1e00000000000000" + "0600000000000000")
        #expect(try TotalsLayout.record(totals).withBytes { (buffer) throws(EngramError) in try TotalsLayout.decode(buffer, source: "test") } == totals)
        #expect(totals.openRate == 0.3 && totals.clickRate == 0.1 && totals.conversionRate == 0.02)
        #expect(CampaignTotals().openRate == 0, "no sends, no rate")
    }

    @Test func damagedLeadRecordsAreCorruptWithWhatAndWhere() {
        func error(_ mutate: (inout [UInt8]) -> Void) -> EngramError? {
            var record = lead.record
            mutate(&record)
            do {
                _ = try Lead(record: record)
                return nil
            } catch {
                return error
            }
        }
        #expect(error { $0[0] = 2 } == EngramError(.corrupt, "lead format 2, expected 1", file: "a lead record", offset: 1))
        #expect(error { $0[1] = 101 } == EngramError(.corrupt, "score 101 is over 100", file: "a lead record", offset: 2))
        #expect(error { $0[2] = 1 } == EngramError(.corrupt, "reserved bytes are 0x1, must be zero", file: "a lead record", offset: 4))
        #expect(error { $0.append(0) } == EngramError(.corrupt, "1 bytes after the lead's metadata", file: "a lead record", offset: 98))
        #expect(error { $0.removeLast() } == EngramError(.corrupt, "the metadata needs 7 bytes, 6 remain", file: "a lead record", offset: 91))
        #expect(error { $0[44] = 0xFF } == EngramError(.corrupt, "the email needs 255 bytes, 52 remain", file: "a lead record", offset: 46))
        #expect(error { $0[47] = 0x80 } == EngramError(.corrupt, "a lead record email is not well-formed UTF-8 at byte 1"))
        #expect(error { $0[96] = UInt8(ascii: "x") } == EngramError(.corrupt, "a lead record metadata is not valid JSON at byte 5: unexpected byte 0x78 where a value was expected"))
        #expect(error { $0.replaceSubrange(28..<36, with: [UInt8](repeating: 0xFF, count: 8)) } == EngramError(.corrupt, "a lead record created_at -1 is outside 0...253402300799999999"))
    }

    @Test func damagedCampaignAndEventRecordsAreCorrupt() {
        let campaign = Campaign(id: id, name: "Spring", type: "email", status: .paused, budgetCents: 0, createdAtMicroseconds: 0, updatedAtMicroseconds: 0, version: 1)
        var record = campaign.record
        record[1] = 5
        #expect(throws: EngramError(.corrupt, "campaign status 5 is reserved", file: "a campaign record", offset: 2)) { _ = try Campaign(record: record) }
        record = campaign.record
        record.replaceSubrange(44..<52, with: withUnsafeBytes(of: Int64(-1).littleEndian) { Array($0) })
        #expect(throws: EngramError(.corrupt, "a campaign record budget_cents -1 is outside 0...9007199254740992")) { _ = try Campaign(record: record) }
        var event = CampaignMetricEvent(campaignID: id, timeMicroseconds: 0, sent: 1, opened: 0, clicked: 0, converted: 0).record
        event[2] = 1
        #expect(throws: EngramError(.corrupt, "a metric event's reserved bytes must be zero", file: "a metric event record", offset: 4)) { _ = try CampaignMetricEvent(record: event) }
        #expect(throws: EngramError(.corrupt, "a metric event of 51 bytes, expected 52", file: "a metric event record", offset: 0)) { _ = try CampaignMetricEvent(record: Array(event.dropLast())) }
    }

    @Test func theLeadCursorHasItsWireForm() throws {
        let cursor = LeadCursor(order: .newest, score: 81, createdAtMicroseconds: 1_700_000_000_000_000, id: id)
        #expect(hex(cursor.bytes) == "01" + "02" + "51" + "00401e18240a0600" + "00112233445566778899aabbccddeeff")
        #expect(try LeadCursor(bytes: cursor.bytes) == cursor)
        #expect(throws: EngramError(.invalidArgument, "a lead cursor is 27 bytes, got 26")) { _ = try LeadCursor(bytes: Array(cursor.bytes.dropLast())) }
        var wrongOrder = cursor.bytes
        wrongOrder[1] = 3
        #expect(throws: EngramError(.invalidArgument, "lead cursor order 3 is unknown")) { _ = try LeadCursor(bytes: wrongOrder) }
        var wrongScore = cursor.bytes
        wrongScore[2] = 200
        #expect(throws: EngramError(.invalidArgument, "lead cursor score 200 is over 100")) { _ = try LeadCursor(bytes: wrongScore) }
    }

    @Test func indexKeysFollowTheOrderPreservingEncodings() {
        // score 100 sorts before 99; the newer of two equal scores first; equal times by id.
        func key(score: UInt8, created: Int64, id: UUID) -> [UInt8] {
            withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { buffer in
                var writer = KeyWriter(buffer)
                withUnsafeBytes(of: id.uuid) { RecordKeys.appendScoreTail(&writer, score: score, createdAt: created, id: $0) }
                return Array(writer.bytes)
            }
        }
        let ordered = [key(score: 100, created: 5, id: testID(9)), key(score: 100, created: 4, id: testID(1)),
                       key(score: 100, created: 4, id: testID(2)), key(score: 99, created: 1 << 40, id: testID(0)), key(score: 0, created: 0, id: testID(0))]
        #expect(ordered == ordered.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(hex(key(score: 100, created: 0, id: testID(0))) == "9b" + "ffffffffffffffff" + String(repeating: "00", count: 16))
    }
}
