#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Testing

/// `engram-agents` as a program: a generated run and a CSV intake through a real server, the JSON
/// summary, and the exit codes.
@Suite(.serialized) struct AgentsCommandLineTests {
    /// Runs `engram-agents` with `arguments`; returns its exit status and standard output.
    func agents(_ arguments: [String]) -> (status: Int32, output: String) {
        let outcome = runProduct("engram-agents", arguments)
        return (outcome.status, outcome.output)
    }

    func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw TestFailure("cannot create \(path)") }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw TestFailure("cannot write \(path)") }
    }

    @Test func aGeneratedRunPrintsItsSummaryAsJSON() async throws {
        let directory = TemporaryDirectory("engram-agents-cli")
        defer { directory.remove() }
        try await withServer { server in
            let result = agents(["--port", "\(server.port)", "--leads", "300", "--seed", "5", "--quiet", "--json", "--outbox", directory.path + "/outbox.jsonl"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.hasPrefix("{\"elapsedSeconds\":"))
            #expect(result.output.contains("\"leadsTriaged\":300,"))
            #expect(result.output.contains("\"leadsRejected\":0,"))
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let summaries = try await client.activeCampaignSummaries(namespace: "marketing").summaries
            // Too few sends for a pause: every campaign is still active.
            #expect(summaries.count == 4)
            let sent = summaries.reduce(0) { $0 + $1.totals.sent }
            #expect(sent > 0)
            #expect(result.output.contains("\"emailsSent\":\(sent),"), "\(result.output)")
        }
    }

    @Test func aCSVIntakeIsTriagedAndTheSameEmailUpdatesItsLead() async throws {
        let directory = TemporaryDirectory("engram-agents-cli")
        defer { directory.remove() }
        let intake = directory.path + "/leads.csv"
        try write("""
            email,name,title,employees,source,pageViews,pricingPageViews,demoRequested
            ann@acme.example,Ann Lee,CMO,1500,referral,12,2,true
            ben@beta.example,"Ben, Jr.",Analyst,20,purchased-list,0,0,false
            ANN@acme.example,Ann Again,CMO,1500,referral,12,2,true

            """, to: intake)
        try await withServer { server in
            let result = agents(["--port", "\(server.port)", "--intake", intake, "-n", "csv", "--triage", "1", "--quiet", "--json", "--outbox", directory.path + "/outbox.jsonl"])
            #expect(result.status == 0, "\(result.output)")
            // One triage instance takes the rows in order. The third row has the first one's email in
            // other case: the same derived id, so it
            // replaces the first lead rather than clashing with it.
            #expect(result.output.contains("\"leadsTriaged\":3,"), "\(result.output)")
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let ann = try #require(try await client.leadGet(namespace: "csv", email: "ann@acme.example"))
            #expect(ann.name == "Ann Again")
            #expect(ann.status == "qualified")
            #expect(ann.category == "hot")
            let ben = try #require(try await client.leadGet(namespace: "csv", email: "ben@beta.example"))
            #expect(ben.status == "disqualified")
            #expect(ben.category == "cold")
        }
    }

    @Test func usageErrorsAndAnAbsentServerHaveTheirExitCodes() throws {
        let directory = TemporaryDirectory("engram-agents-cli")
        defer { directory.remove() }
        let intake = directory.path + "/bad.jsonl"
        try write("{\"email\":\"a@b.c\"}\n{\"name\":\"no email\"}\n", to: intake)
        #expect(agents(["--intake", intake, "--port", "1"]).status == 64)
        #expect(agents(["--intake", directory.path + "/missing.csv", "--port", "1"]).status == 64)
        #expect(agents(["--triage", "0", "--port", "1"]).status == 64)
        // Nothing listens on port 1.
        #expect(agents(["--port", "1", "--leads", "1", "--quiet", "--outbox", directory.path + "/outbox.jsonl"]).status == 3)
    }
}
