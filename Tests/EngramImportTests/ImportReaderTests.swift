@testable import EngramImport
import EngramProtocol
import Testing

/// Reading import files (docs/IMPORT.md): CSV and JSON Lines, every field rule, the line of each
/// unreadable row, and what ends an import.
@Suite struct ImportReaderTests {
    static let annID = FactID("6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c")!

    func items(_ text: String, _ format: ImportFormat, kind: ImportKind = .lead) throws -> [ImportItem] {
        var reader = ImportReader(MemorySource(text), format: format, defaultKind: kind)
        var items: [ImportItem] = []
        while let item = try reader.next() { items.append(item) }
        return items
    }

    func failure(_ text: String, _ format: ImportFormat) -> ImportFailure? {
        do {
            _ = try items(text, format)
            return nil
        } catch let error as ImportFailure {
            return error
        } catch {
            return ImportFailure("unexpected \(error)")
        }
    }

    @Test func aCSVLeadWithEveryColumn() throws {
        let text = """
            id,email,name,company,source,category,score,status,metadata,created_at,updated_at
            6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c,ann@example.com,"Ann, Jr.",ACME,web,b2b,87,new,"{""utm"":""x""}",2026-01-01T00:00:00Z,2026-01-02 00:00:00+00

            """
        let expected = WireLead(id: Self.annID, email: "ann@example.com", name: "Ann, Jr.", company: "ACME", source: "web", category: "b2b", score: 87, status: "new",
                                metadata: Array("{\"utm\":\"x\"}".utf8), createdAtMicroseconds: 1_767_225_600_000_000)
        #expect(try items(text, .csv) == [.row(ImportRow(line: 2, record: .lead(expected)))])
    }

    @Test func csvQuotingLineBreaksAndBlankLines() throws {
        let text = "email,score,name\r\na@x,1,\"two\nlines\"\r\n\r\nb@x,2,\"say \"\"hi\"\"\"\n\nc@x,3,"
        let rows = try items(text, .csv).map { item -> (Int, String) in
            guard case .row(let row) = item, case .lead(let lead) = row.record else { return (0, "\(item)") }
            return (row.line, lead.name)
        }
        #expect(rows.map(\.0) == [2, 5, 7], "a quoted line break counts as a line")
        #expect(rows.map(\.1) == ["two\nlines", "say \"hi\"", ""])
    }

    @Test func unreadableCSVRowsCarryTheirLineAndTheRestGoOn() throws {
        let text = """
            email,score,status,created_at
            a@x,1,new,
            b@x,abc,new,
            c@x,2
            d@x,3,new,yesterday
            ,4,new,
            e@x,300,new,
            f@x,5,"new"x,
            g@x,6,new,1700000000000000
            """
        let found = try items(text, .csv)
        let errors = found.compactMap { item -> RowError? in if case .unreadable(let error) = item { error } else { nil } }
        #expect(errors == [
            RowError(line: 3, column: 2, field: "score", status: "unreadable", message: "score \"abc\" is not a whole number from 0 to 255"),
            RowError(line: 4, column: 3, field: "status", status: "unreadable", message: "2 fields, the header has 4"),
            RowError(line: 5, column: 4, field: "created_at", status: "unreadable", message: "created_at \"yesterday\" is neither microseconds since 1970 nor a time like 2026-01-31T09:30:00.25Z"),
            RowError(line: 6, column: 1, field: "email", status: "unreadable", message: "a lead row needs email"),
            RowError(line: 7, column: 2, field: "score", status: "unreadable", message: "score \"300\" is not a whole number from 0 to 255"),
            RowError(line: 8, column: 3, field: "status", status: "unreadable", message: "text after the closing quote of field 3"),
        ])
        #expect(errors[0].description == "line 3, column 2 (score): unreadable: score \"abc\" is not a whole number from 0 to 255")
        let lines = found.compactMap { item -> Int? in if case .row(let row) = item { row.line } else { nil } }
        #expect(lines == [2, 9])
        guard case .row(let last) = found.last, case .lead(let lead) = last.record else { return }
        #expect(lead.createdAtMicroseconds == 1_700_000_000_000_000)
        #expect(lead.status == "new")
    }

    @Test func aMixedCSVReadsEachKindFromItsColumns() throws {
        let campaign = "00010203-0405-0607-0809-0a0b0c0d0e0f"
        let text = """
            kind,id,name,type,status,budget_cents,email,score,campaign_id,time,sent,opened,clicked,converted
            campaign,\(campaign),Spring,email,active,125000,,,,,,,,
            metric,,,,,,,,\(campaign),3600000000,100,40,10,2
            lead,,Ann,,,,ann@example.com,87,,,,,,
            metric,,,,,,ann@example.com,,\(campaign),0,1,,,
            task,,,,,,,,,,,,,
            """
        let found = try items(text, .csv)
        #expect(found.count == 5)
        #expect(found[0] == .row(ImportRow(line: 2, record: .campaign(WireCampaign(id: FactID(campaign)!, name: "Spring", type: "email", status: .active, budgetCents: 125_000)))))
        #expect(found[1] == .row(ImportRow(line: 3, record: .metric(WireMetricEvent(campaignID: FactID(campaign)!, timeMicroseconds: 3_600_000_000, sent: 100, opened: 40, clicked: 10, converted: 2)))))
        guard case .row(let leadRow) = found[2], case .lead(let lead) = leadRow.record else { Issue.record("no lead"); return }
        #expect(lead.name == "Ann" && lead.score == 87 && lead.status == "new" && lead.createdAtMicroseconds == WireLead.createdAtUnset)
        #expect(found[3] == .unreadable(RowError(line: 5, column: 7, field: "email", status: "unreadable", message: "email is not a field of a metric row")))
        #expect(found[4] == .unreadable(RowError(line: 6, column: 1, field: "kind", status: "unreadable", message: "kind \"task\" is not lead, campaign or metric")))
    }

    @Test func jsonLinesReadEveryFieldAndKeepMetadataAsWritten() throws {
        let text = """
            {"id": "6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c", "email": "ann@example.com", "name": "Ann \\"A\\" \\u00c5\\ud83d\\ude00", "score": 87, "metadata": {"utm": ["x", {"y": "}"}]}, "created_at": 1767225600000000}
            {"kind": "campaign", "name": "Spring", "type": "email", "status": "paused", "budget_cents": 5}

            {"email": "b@x", "score": 1, "metadata": "just text"}\r
            {"email": "c@x", "score": 1, "metadata": null}
            """
        let found = try items(text, .jsonLines)
        #expect(found.count == 4)
        guard case .row(let first) = found[0], case .lead(let ann) = first.record else { Issue.record("no lead"); return }
        #expect(ann.id == Self.annID)
        #expect(ann.name == "Ann \"A\" Å😀")
        #expect(ann.metadata == Array("{\"utm\": [\"x\", {\"y\": \"}\"}]}".utf8))
        #expect(ann.createdAtMicroseconds == 1_767_225_600_000_000)
        guard case .row(let second) = found[1], case .campaign(let campaign) = second.record else { Issue.record("no campaign"); return }
        #expect(campaign.status == .paused && campaign.budgetCents == 5 && second.line == 2)
        guard case .row(let third) = found[2], case .lead(let textual) = third.record else { Issue.record("no lead"); return }
        #expect(third.line == 4)
        #expect(textual.metadata == Array("\"just text\"".utf8), "a string is metadata as a JSON string")
        guard case .row(let fourth) = found[3], case .lead(let none) = fourth.record else { Issue.record("no lead"); return }
        #expect(none.metadata.isEmpty)
    }

    @Test func unreadableJSONLinesCarryTheirLine() throws {
        let text = """
            {"email": "a@x", "score": 1
            [1, 2]
            {"email": "a@x", "score": "87"}
            {"email": "a@x", "score": 1, "colour": "red"}
            {"email": "a@x", "score": 1, "score": 2}
            {"email": "a@x", "score": 1.5}
            {"email": "a@x", "score": 1} trailing
            """
        let errors = try items(text, .jsonLines).compactMap { item -> RowError? in if case .unreadable(let error) = item { error } else { nil } }
        #expect(errors.map(\.line) == [1, 2, 4, 5, 6, 7])
        // A syntax error's column is where it went wrong; a field's, where its value starts.
        #expect(errors.map(\.column) == [28, 1, 40, 39, 27, 30])
        #expect(errors.map(\.field) == [nil, nil, nil, "score", "score", nil])
        #expect(errors.map(\.message) == [
            "not JSON: expected \",\" or \"}\" at column 28",
            "a JSON line must be an object",
            "unknown field \"colour\"",
            "score is given twice",
            "score \"1.5\" is not a whole number from 0 to 255",
            "not JSON: expected the end of the line after the object at column 30",
        ])
    }

    @Test func whatEndsAnImport() {
        #expect(failure("email,score,colour\na@x,1,red\n", .csv)?.message.hasPrefix("line 1: unknown column \"colour\"; the columns are kind, id, email") == true)
        #expect(failure("email,email\n", .csv) == ImportFailure("line 1: column email appears twice"))
        #expect(failure("email,score\n\"a@x,1\n", .csv) == ImportFailure("line 2: a quoted field is not closed at the end of the file"))
        let long = "email,score\n" + String(repeating: "x", count: ImportLimits.rowBytesMax + 10) + ",1\n"
        #expect(failure(long, .csv) == ImportFailure("line 2: a row longer than \(ImportLimits.rowBytesMax) bytes"))
    }

    /// Rows across the reader's window: many rows, each read whole whatever the window's cuts.
    @Test func aLargeFileIsReadRowByRow() throws {
        var text = "\u{FEFF}id,email,score,metadata\n"
        for index in 0..<30_000 {
            text += "\(FactID(bytes: Array(repeating: UInt8(index % 256), count: 16))),lead\(index)@example.com,\(index % 101),\"{\"\"n\"\":\(index),\"\"pad\"\":\"\"\(String(repeating: "p", count: index % 97))\"\"}\"\n"
        }
        var reader = ImportReader(MemorySource(text), format: .csv)
        var count = 0
        while let item = try reader.next() {
            guard case .row(let row) = item, case .lead(let lead) = row.record else { Issue.record("\(item)"); return }
            #expect(row.line == count + 2)
            #expect(lead.email == "lead\(count)@example.com")
            #expect(lead.metadata == Array("{\"n\":\(count),\"pad\":\"\(String(repeating: "p", count: count % 97))\"}".utf8))
            count += 1
        }
        #expect(count == 30_000)
    }
}

@Suite struct ImportTimeTests {
    @Test func rfc3339AndPostgreSQLTimes() {
        #expect(ImportTime.microseconds("1970-01-01T00:00:00Z") == 0)
        #expect(ImportTime.microseconds("2026-01-01T00:00:00Z") == 1_767_225_600_000_000)
        #expect(ImportTime.microseconds("2026-01-01") == 1_767_225_600_000_000)
        #expect(ImportTime.microseconds("2026-01-01 01:00:00+01") == 1_767_225_600_000_000)
        #expect(ImportTime.microseconds("2025-12-31T19:00:00-05:00") == 1_767_225_600_000_000)
        #expect(ImportTime.microseconds("2026-01-01T00:00:00.25Z") == 1_767_225_600_250_000)
        #expect(ImportTime.microseconds("2026-01-01t00:00:00.123456789z") == 1_767_225_600_123_456)
        #expect(ImportTime.microseconds("2026-01-01T00:00") == 1_767_225_600_000_000)
        #expect(ImportTime.microseconds("2024-02-29T12:00:00Z") == 1_709_208_000_000_000)
        #expect(ImportTime.microseconds("1969-12-31T23:59:59Z") == -1_000_000)
        for bad in ["2023-02-29", "2026-13-01", "2026-01-01T24:00", "2026-01-01T00:00:00.Z", "2026-1-1", "2026-01-01T00:00:00+5", "2026-01-01T00:00:00.1234567890Z", "now"] {
            #expect(ImportTime.microseconds(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct ImportSummaryTests {
    @Test func theProgressLineGivesRowsRateAndPercentOfTheFile() {
        var summary = ImportSummary()
        summary.rowCount = 412_000
        summary.elapsedSeconds = 4
        summary.bytesConsumed = 41_234
        summary.byteCount = 100_000
        #expect(summary.progressText == "412,000 rows  103,000 rows/s  41.2 %  0 bad rows")
        summary.byteCount = nil
        #expect(summary.progressText == "412,000 rows  103,000 rows/s  0 bad rows", "a pipe has no size")
        summary.byteCount = 0
        #expect(summary.percentByBytes == 100)
    }

    /// The reader counts the bytes it has used, so the percent reaches 100 at the end.
    @Test func theReaderCountsTheBytesItUsed() throws {
        let text = "email,score\na@x,1\n\nb@x,2\n"
        var reader = ImportReader(MemorySource(text), format: .csv)
        _ = try reader.next()
        #expect(reader.bytesConsumed == 18, "the header and the first row")
        _ = try reader.next()
        #expect(reader.bytesConsumed == text.utf8.count)
        #expect(try reader.next() == nil)
    }

    @Test func numbersAreGroupedByThousands() {
        #expect(ImportText.grouped(0) == "0")
        #expect(ImportText.grouped(999) == "999")
        #expect(ImportText.grouped(1_000) == "1,000")
        #expect(ImportText.grouped(-1_234_567) == "-1,234,567")
    }
}

@Suite struct RowBuilderTests {
    /// The builder's table is indexed by a switch; it must follow `allCases`, whose order the
    /// unknown-column message lists.
    @Test func theColumnIndexIsTheColumnsPlaceInAllCases() {
        for (position, column) in ImportColumn.allCases.enumerated() {
            #expect(RowBuilder.index(column) == position, "\(column)")
        }
    }
}
