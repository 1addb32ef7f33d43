import EngramClient
import EngramProtocol
import Testing

/// `engram consolidate`, `erase-namespace`, `erase-lead` and `engagement`: their output and exit
/// codes.
extension CommandLineTests {
    @Test func lifecycleCommands() async throws {
        try await withServer(arguments: ["--token", "root:admin:*", "--token", "reader:read:*", "--consolidation-interval-ms", "0", "--consolidation-pass-ms", "60000"]) { server in
            let port = server.port
            let client = EngramClient(server.clientConfiguration(token: "root", connections: 1))
            defer { Task { await client.close() } }
            let lead = try await client.leadUpsert(namespace: "crm", lead: WireLead(id: FactID.random(), email: "ann@example.com", score: 80, status: "new"))
            for kind: UInt16 in [3, 4, 8] {
                try await client.append(namespace: "crm", episode: WireNewEpisode(agent: "engage-1", kind: kind, lead: lead.id, body: []))
            }
            let id = lead.id.description
            let root = ["--token", "root", "-n", "crm"]

            let pass = engram(port, ["consolidate", "--json"] + root)
            #expect(pass.status == 0)
            #expect(pass.output.hasPrefix("{\"expired_items\":0,\"folded_events\":3,\"updated_leads\":1,\"trimmed_segments\":0,\"commands\":1,"))
            let engagement = engram(port, ["engagement", id] + root)
            #expect(engagement.status == 0)
            #expect(engagement.output.hasPrefix("touches: 2\nopens: 1\nclicks: 0\nconversions: 1\nlast_contact_us: "))
            #expect(engagement.output.hasSuffix("last_channel: \"email\"\nlast_position: 3\n"))

            // A read grant may not run a pass (exit 2: refused); erase-namespace wants --yes (64).
            #expect(engram(port, ["consolidate", "--token", "reader"]).status == 2)
            #expect(engram(port, ["erase-namespace"] + root).status == 64)

            let erased = engram(port, ["erase-lead", id, "--json"] + root)
            #expect(erased.status == 0)
            #expect(erased.output.hasPrefix("{\"deleted_keys\":0,\"deleted_lead_records\":1,"))
            #expect(erased.output.contains("\"dropped_episodes\":3,"))
            #expect(erased.output.hasSuffix("\"complete\":true}\n"))
            #expect(engram(port, ["engagement", id] + root) == Outcome(1, "(not found)\n"))
            #expect(engram(port, ["erase-lead", "not-a-uuid"] + root).status == 64)

            let gone = engram(port, ["erase-namespace", "--yes", "--json"] + root)
            #expect(gone.status == 0)
            #expect(gone.output.contains("\"finished_namespaces\":1,"))
        }
    }
}
