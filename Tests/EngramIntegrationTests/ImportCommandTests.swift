#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import EngramStorage
import Testing

/// `engram import` (docs/IMPORT.md) against a real engramd with real files: CSV and JSON Lines,
/// leads, campaigns and metric events, the first bad row named by line and column with the rows
/// before it stored, `--keep-going`, and the usage errors. Standard output is a pipe here, so no
/// progress is written (the progress line is a terminal's only).
@Suite(.serialized) struct ImportCommandTests {
    let crm = "crm"

    /// Writes `text` to a file of the test's directory and returns its path.
    func file(_ directory: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let path = directory.path + "/" + name
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw ImportTestError("cannot create \(path)") }
        defer { close(descriptor) }
        let written = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == text.utf8.count else { throw ImportTestError("short write to \(path)") }
        return path
    }

    struct ImportTestError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// The output's lines less the summary's "loaded ..." line, whose timing varies, and that
    /// line's part before " in ".
    func split(_ output: String) -> (lines: [String], loaded: String) {
        let lines = output.split(separator: "\n").map(String.init)
        let loaded = lines.first { $0.hasPrefix("loaded ") }.map { String($0[..<$0.firstRange(of: " in ")!.lowerBound]) } ?? "(no summary)"
        return (lines.filter { !$0.hasPrefix("loaded ") }, loaded)
    }

    @Test func aCSVFileOfLeadsLoadsWhole() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var text = "id,email,name,company,source,category,score,status,metadata,created_at\n"
        for index in 0..<5_000 {
            let id = FactID(bytes: [UInt8(index >> 8), UInt8(index & 0xFF)] + Array(repeating: 7, count: 14))
            text += "\(id),lead\(index)@example.com,\"Lead \(index), Jr.\",ACME,web,b2b,\(index % 101),new,\"{\"\"n\"\":\(index)}\",2026-01-01 00:00:00+00\n"
        }
        let path = try file(directory, "leads.csv", text)
        try await withServer { server in
            let outcome = runEngram(server.port, ["import", path, "-n", crm, "--batch", "300"])
            #expect(outcome.status == 0)
            #expect(!outcome.output.contains("\r"), "no progress line when standard output is not a terminal")
            let (lines, loaded) = split(outcome.output)
            #expect(lines == [])
            #expect(loaded == "loaded 5,000 of 5,000 rows")
            #expect(outcome.output.hasSuffix("5,000 leads, 0 campaigns, 0 metric events; 0 bad rows\n"))
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let lead = try #require(try await client.leadGet(namespace: crm, email: "lead4321@example.com"))
            #expect(lead.name == "Lead 4321, Jr.")
            #expect(lead.score == 4321 % 101)
            #expect(lead.metadata == Array("{\"n\":4321}".utf8))
            #expect(lead.createdAtMicroseconds == 1_767_225_600_000_000)
            // The same file again upserts the same leads: same ids, nothing new.
            #expect(runEngram(server.port, ["import", path, "-n", crm]).status == 0)
            #expect(try await client.leadGet(namespace: crm, email: "lead4321@example.com")?.id == lead.id)
        }
    }

    /// A mixed JSON Lines file: campaigns, their events, leads; the summary is the events' sum.
    @Test func aJSONLinesFileOfCampaignsAndEventsLoadsInFileOrder() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let campaign = "00010203-0405-0607-0809-0a0b0c0d0e0f"
        var text = "{\"kind\": \"campaign\", \"id\": \"\(campaign)\", \"name\": \"Spring\", \"type\": \"email\", \"status\": \"active\", \"budget_cents\": 125000}\n"
        for hour in 0..<30 {
            text += "{\"kind\": \"metric\", \"campaign_id\": \"\(campaign)\", \"time\": \"2026-01-01T\(hour % 24 < 10 ? "0" : "")\(hour % 24):30:00Z\", \"sent\": 10, \"opened\": 4, \"clicked\": 1}\n"
        }
        text += "{\"email\": \"ann@example.com\", \"score\": 87, \"metadata\": {\"utm\": [\"x\"]}}\n"
        let path = try file(directory, "mixed.jsonl", text)
        try await withServer { server in
            let outcome = runEngram(server.port, ["import", path, "-n", crm, "--batch", "7"])
            #expect(outcome.status == 0)
            #expect(split(outcome.output).loaded == "loaded 32 of 32 rows")
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let summary = try #require(try await client.campaignSummary(namespace: crm, id: FactID(campaign)!))
            #expect(summary.totals == WireTotals(eventCount: 30, sent: 300, opened: 120, clicked: 30, converted: 0))
            #expect(try await client.leadGet(namespace: crm, email: "ann@example.com")?.metadata == Array("{\"utm\": [\"x\"]}".utf8))
        }
    }

    /// A row the server refuses (a score of 101) stops the import: the rows before it are stored,
    /// the one that shared its request too, and nothing after that is sent.
    @Test func aRefusedRowStopsTheImportAndIsNamedByLineAndColumn() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let text = """
            email,name,score
            a@example.com,A,1
            b@example.com,B,2
            c@example.com,C,101
            d@example.com,D,4
            e@example.com,E,5
            f@example.com,F,6

            """
        let path = try file(directory, "bad.csv", text)
        try await withServer { server in
            // Two rows a request, one in flight: requests of lines 2-3, 4-5, 6-7.
            let outcome = runEngram(server.port, ["import", path, "-n", crm, "--batch", "2", "--in-flight", "1"])
            #expect(outcome.status == 2)
            let (lines, loaded) = split(outcome.output)
            #expect(lines == [
                "\(path): line 4, column 3 (score): invalidArgument: score 101 is over 100 (at byte 2)",
                "stopped at the first bad row: every row before line 4 is stored; 1 rows after it were already sent and are stored too",
            ])
            #expect(loaded == "loaded 3 of 6 rows")
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            for (email, stored) in [("a", true), ("b", true), ("c", false), ("d", true), ("e", false), ("f", false)] {
                let found = try await client.leadGet(namespace: crm, email: "\(email)@example.com")
                #expect((found != nil) == stored, "\(email)")
            }
            // --json names the same row.
            let json = runEngram(server.port, ["import", path, "-n", "other", "--batch", "2", "--in-flight", "1", "--json"])
            #expect(json.status == 2)
            #expect(json.output.contains("\"first_bad_row\":{\"line\":4,\"column\":3,\"field\":\"score\",\"status\":\"invalidArgument\",\"message\":\"score 101 is over 100 (at byte 2)\"}"))
            #expect(json.output.contains("\"stored_after_first_bad_row\":1"))
        }
    }

    /// A row the import cannot read stops it too; the rows read before it are sent first.
    @Test func anUnreadableRowStopsTheImportAfterTheRowsBeforeIt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let csv = try file(directory, "times.csv", "email,score,status,created_at\na@x.io,1,new,\nb@x.io,2,new,\nc@x.io,3,new,\nd@x.io,4,new,yesterday\ne@x.io,5,new,\n")
        let jsonl = try file(directory, "taken.jsonl", "{\"email\": \"p@x.io\", \"score\": 1}\n{\"email\": \"q@x.io\", \"score\": 2}\n{\"email\": \"r@x.io\", \"score\": 3, \"colour\": \"red\"}\n")
        try await withServer { server in
            let outcome = runEngram(server.port, ["import", csv, "-n", crm, "--batch", "2"])
            #expect(outcome.status == 2)
            let (lines, loaded) = split(outcome.output)
            #expect(lines == [
                "\(csv): line 5, column 4 (created_at): unreadable: created_at \"yesterday\" is neither microseconds since 1970 nor a time like 2026-01-31T09:30:00.25Z",
                "stopped at the first bad row: every row before line 5 is stored; 0 rows after it were already sent and are stored too",
            ])
            #expect(loaded == "loaded 3 of 4 rows")
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            for (email, stored) in [("a", true), ("b", true), ("c", true), ("d", false), ("e", false)] {
                let found = try await client.leadGet(namespace: crm, email: "\(email)@x.io")
                #expect((found != nil) == stored, "\(email)")
            }
            let json = runEngram(server.port, ["import", jsonl, "-n", crm])
            #expect(json.status == 2)
            #expect(split(json.output).lines.first == "\(jsonl): line 3, column 43: unreadable: unknown field \"colour\"")
            #expect(split(json.output).loaded == "loaded 2 of 3 rows")
        }
    }

    @Test func keepGoingLoadsEveryGoodRowAndReportsEachBadOne() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = try file(directory, "some-bad.csv", "email,score\na@x.io,1\nA@X.io,2\nb@x.io,abc\nc@x.io,3\n")
        try await withServer { server in
            let outcome = runEngram(server.port, ["import", path, "-n", crm, "--keep-going"])
            #expect(outcome.status == 2)
            let (lines, loaded) = split(outcome.output)
            let owner = try await leadID("a@x.io", server)
            #expect(lines == [
                "line 3, column 1 (email): alreadyExists: email \"A@X.io\" already belongs to lead \(owner) in namespace crm",
                "line 4, column 2 (score): unreadable: score \"abc\" is not a whole number from 0 to 255",
            ])
            #expect(loaded == "loaded 2 of 4 rows")
        }
    }

    func leadID(_ email: String, _ server: ServerProcess) async throws -> String {
        let client = EngramClient(server.clientConfiguration())
        defer { Task { await client.close() } }
        return try await client.leadGet(namespace: crm, email: email)?.id.description.uppercased() ?? "(none)"
    }

    @Test func usageErrorsExit64() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let unknown = try file(directory, "unknown.csv", "email,score,colour\na@x.io,1,red\n")
        try await withServer { server in
            let missing = runEngram(server.port, ["import", directory.path + "/none.csv", "-n", crm])
            #expect(missing.status == 64)
            let column = runEngram(server.port, ["import", unknown, "-n", crm])
            #expect(column.status == 64)
            #expect(runEngram(server.port, ["import", unknown, "--kind", "tasks"]).status == 64)
            #expect(runEngram(server.port, ["import", unknown, "--batch", "2000"]).status == 64)
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let lead = try await client.leadGet(namespace: crm, email: "a@x.io")
            #expect(lead == nil)
        }
    }
}
