#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The `engram` command line's short-term and episodic commands against a real server: human
/// output, `--json`, and the exit codes scripts rely on.
@Suite(.serialized) struct CommandLineTests {
    struct Outcome: Equatable {
        let status: Int32
        let output: String
        init(_ status: Int32, _ output: String) {
            self.status = status
            self.output = output
        }
    }

    /// Runs `engram` with `arguments` against `port`; returns its exit status and standard output.
    func engram(_ port: Int, _ arguments: [String]) -> Outcome {
        let outcome = runEngram(port, arguments)
        return Outcome(outcome.status, outcome.output)
    }

    @Test func shortTermCommands() async throws {
        try await withServer { server in
            let port = server.port
            #expect(engram(port, ["st-put", "ctx", "draft", "--ttl", "60"]) == Outcome(0, "OK\n"))
            #expect(engram(port, ["st-get", "ctx"]) == Outcome(0, "draft\n"))
            #expect(engram(port, ["st-get", "ctx", "--json"]) == Outcome(0, "{\"key\":\"ctx\",\"value\":\"draft\"}\n"))
            #expect(engram(port, ["st-mget", "ctx", "none"]) == Outcome(0, "1) draft\n2) (nil)\n"))
            #expect(engram(port, ["st-mget", "ctx", "none", "--json"]) == Outcome(0, "[{\"key\":\"ctx\",\"value\":\"draft\"},{\"key\":\"none\",\"value\":null}]\n"))
            #expect(engram(port, ["st-touch", "ctx", "--no-expiry"]) == Outcome(0, "OK (touched)\n"))
            #expect(engram(port, ["st-del", "ctx"]) == Outcome(0, "OK (deleted)\n"))
            #expect(engram(port, ["st-get", "ctx"]) == Outcome(1, "(not found)\n"))
            #expect(engram(port, ["st-del", "ctx", "--json"]) == Outcome(1, "{\"error\":\"notFound\",\"message\":\"ctx\"}\n"))
            #expect(engram(port, ["st-put", "ctx", "x", "--ttl", "9999999"]).status == 2)
            #expect(engram(port, ["st-put", "ctx", "x", "--ttl", "5", "--no-expiry"]).status == 64)
            #expect(engram(port, ["st-stats"]).output.contains("hot_tier.items: 0\n"))
        }
    }

    @Test func episodicCommands() async throws {
        try await withServer { server in
            let port = server.port
            let appended = engram(port, ["append", "triage-1", "one", "two", "--kind", "3", "--lead", "6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c"])
            #expect(appended.status == 0)
            #expect(appended.output.hasPrefix("OK position 1 (triage-1/1, "))
            #expect(appended.output.contains("\nOK position 2 (triage-1/2, "))
            let read = engram(port, ["episodes", "triage-1", "--newest-first", "--limit", "1", "--json"])
            #expect(read.status == 0)
            #expect(read.output.hasPrefix("[{\"position\":2,\"agent\":\"triage-1\",\"sequence\":2,"))
            #expect(read.output.hasSuffix("\"kind\":3,\"lead\":\"6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c\",\"campaign\":null,\"body\":\"two\"}]\n"))
            let scanned = engram(port, ["scan-episodes", "--from", "2"])
            #expect(scanned.output.hasPrefix("#2 "))
            #expect(scanned.output.hasSuffix(" triage-1/2 kind 3 lead 6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c: two\n(next position 3)\n"))
            let followed = engram(port, ["follow", "--count", "2"])
            #expect(followed.status == 0)
            #expect(followed.output.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["#1", "#2"])
            #expect(engram(port, ["episodes", "bad agent"]).status == 2)
            #expect(engram(port, ["append", "a", "x", "--lead", "nope"]).status == 64)
            #expect(engram(port, ["episodes", "nobody"]) == Outcome(0, "(empty)\n"))
        }
    }

    @Test func recordsCommands() async throws {
        try await withServer { server in
            let port = server.port
            let lead = "6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c"
            let campaign = "00112233-4455-6677-8899-aabbccddeeff"
            let upserted = engram(port, ["lead-upsert", "--id", lead, "--email", "Ann@Example.com", "--score", "87", "--source", "web"])
            #expect(upserted.status == 0)
            #expect(upserted.output.hasPrefix("\(lead) Ann@Example.com score 87 new (version "))
            #expect(engram(port, ["lead-get", "--email", "ann@example.com", "--json"]).output.hasPrefix("{\"id\":\"\(lead)\",\"version\":"))
            #expect(engram(port, ["leads", "--score-min", "90"]) == Outcome(0, "(empty)\n"))
            #expect(engram(port, ["lead-upsert", "--email", "ann@example.com", "--score", "3"]).status == 2)
            #expect(engram(port, ["campaign-upsert", "--id", campaign, "--name", "Spring", "--status", "active", "--budget-cents", "125000"]).output.hasPrefix("\(campaign) Spring [email, active] budget 1250.00 (version "))
            #expect(engram(port, ["metric-append", campaign, "--sent", "100", "--opened", "40", "--clicked", "10", "--converted", "2", "--time", "3600000000"]).status == 0)
            #expect(engram(port, ["campaign-summary", campaign]).output.hasSuffix("\n  1 events: sent 100, opened 40 (40.0 %), clicked 10 (10.0 %), converted 2 (2.0 %)\n"))
            #expect(engram(port, ["hourly", campaign]) == Outcome(0, "1970-01-01T01:00:00.000000Z 1 events: sent 100, opened 40 (40.0 %), clicked 10 (10.0 %), converted 2 (2.0 %)\n"))
            #expect(engram(port, ["active-summaries", "--json"]).output.contains("\"sent\":100,\"opened\":40,\"clicked\":10,\"converted\":2,\"open_rate\":0.4,"))
            #expect(engram(port, ["campaigns", "--status", "paused"]) == Outcome(0, "(empty)\n"))
            #expect(engram(port, ["campaign-delete", campaign]) == Outcome(0, "OK (deleted)\n"))
            #expect(engram(port, ["campaign-get", campaign]) == Outcome(1, "(not found)\n"))
            #expect(engram(port, ["lead-delete", lead]) == Outcome(0, "OK (deleted)\n"))
            #expect(engram(port, ["campaigns", "--status", "bogus"]).status == 64)
        }
    }

    @Test func anUnreachableServerExitsWithThree() {
        #expect(engram(1, ["st-get", "k"]).status == 3)
    }
}
