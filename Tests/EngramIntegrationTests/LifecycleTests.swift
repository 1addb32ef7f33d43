#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Testing

/// Consolidation and erase end to end through the real `engramd` (docs/PROTOCOL.md, "Lifecycle"):
/// exact reports, exact engagement summaries, roles, nothing of an erased namespace or lead
/// readable over the wire, and the same after SIGKILL and a restart.
@Suite(.serialized) struct LifecycleTests {
    static let tokens = ["--token", "root:admin:*", "--token", "writer:write:*", "--token", "reader:read:*"]
    /// No background passes, and passes that do not meet their deadline on a loaded machine: the
    /// tests count what each pass does.
    static let quiet = tokens + ["--consolidation-interval-ms", "0", "--consolidation-pass-ms", "60000"]

    /// What one namespace holds in every tier, made through the client.
    struct Population {
        let namespace: String
        let leads: [WireLead]
        let campaign: WireCampaign
        let factID: FactID
        /// Appended episodes with their receipts.
        var episodes: [(episode: WireNewEpisode, receipt: WireEpisodeReceipt)] = []

        /// Kinds 3 (email sent), 4 (opened), 5 (clicked), 6 (page viewed), 8 (converted), 9 (a
        /// decision: not counted), each lead taking a whole cycle of six in turn.
        static let kinds: [UInt16] = [3, 4, 5, 6, 8, 9]

        static func make(_ client: EngramClient, _ namespace: String, leadCount: Int = 3, episodeCount: Int = 24) async throws -> Population {
            var leads: [WireLead] = []
            for index in 0..<leadCount {
                leads.append(try await client.leadUpsert(namespace: namespace, lead: WireLead(id: FactID.random(), email: "person\(index)@\(namespace).example", score: UInt8(60 + index), status: "new")))
            }
            let campaign = try await client.campaignUpsert(namespace: namespace, campaign: WireCampaign(id: FactID.random(), name: "Spring", type: "email", status: .active, budgetCents: 10_000))
            try await client.metricAppend(namespace: namespace, events: [WireMetricEvent(campaignID: campaign.id, timeMicroseconds: 3_600_000_000, sent: 10, opened: 4, clicked: 1, converted: 0)])
            let factID = FactID.random()
            try await client.semanticPut(namespace: namespace, id: factID, fact: WireFact(tags: ["lead"], body: Array("prefers email in \(namespace)".utf8)))
            try await client.put(namespace: namespace, key: Array("profile:\(namespace)".utf8), value: Array("enterprise".utf8))
            try await client.shortTermPut(namespace: namespace, key: Array("ctx:\(namespace)".utf8), value: Array("draft".utf8))
            var population = Population(namespace: namespace, leads: leads, campaign: campaign, factID: factID)
            for index in 0..<episodeCount {
                let episode = WireNewEpisode(agent: "engage-\(index % 2)", kind: kinds[index % kinds.count], lead: leads[(index / kinds.count) % leadCount].id, body: Array("event \(index) of \(namespace)".utf8))
                population.episodes.append((episode, try await client.append(namespace: namespace, episode: episode)))
            }
            return population
        }

        /// The summary the fold must give `lead` (docs/LIFECYCLE.md, "Event kinds"): a model.
        func expectedEngagement(_ lead: FactID) -> WireLeadEngagement? {
            var summary = WireLeadEngagement(touches: 0, opens: 0, clicks: 0, conversions: 0, lastContactMicroseconds: 0, lastChannel: 0, lastPosition: 0)
            var counted = false
            for (episode, receipt) in episodes where episode.lead == lead {
                let kind = episode.kind
                guard [3, 4, 5, 6, 7, 8].contains(kind) else { continue }
                counted = true
                summary.lastPosition = receipt.position
                if kind == 8 {
                    summary.conversions += 1
                    continue
                }
                summary.touches += 1
                if kind == 4 { summary.opens += 1 }
                if kind == 5 { summary.clicks += 1 }
                if receipt.timestampMicroseconds >= summary.lastContactMicroseconds {
                    summary.lastContactMicroseconds = receipt.timestampMicroseconds
                    summary.lastChannel = kind <= 5 ? 1 : 2
                }
            }
            return counted ? summary : nil
        }

        var countedEventCount: Int { episodes.filter { [3, 4, 5, 6, 7, 8].contains($0.episode.kind) }.count }
    }

    /// Asserts that nothing of `population`'s namespace can be read over the wire.
    static func expectNamespaceGone(_ client: EngramClient, _ population: Population, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let namespace = population.namespace
        #expect(try await client.get(namespace: namespace, key: Array("profile:\(namespace)".utf8)) == nil, sourceLocation: sourceLocation)
        #expect(try await client.scan(namespace: namespace).entries.isEmpty, sourceLocation: sourceLocation)
        #expect(try await client.semanticGet(namespace: namespace, id: population.factID) == nil, sourceLocation: sourceLocation)
        #expect(try await client.semanticScan(namespace: namespace).facts.isEmpty, sourceLocation: sourceLocation)
        #expect(try await client.shortTermGet(namespace: namespace, key: Array("ctx:\(namespace)".utf8)) == nil, sourceLocation: sourceLocation)
        #expect(try await client.scanEpisodes(namespace: namespace).episodes.isEmpty, sourceLocation: sourceLocation)
        for agent in ["engage-0", "engage-1"] {
            #expect(try await client.episodes(namespace: namespace, agent: agent).episodes.isEmpty, sourceLocation: sourceLocation)
        }
        for (index, lead) in population.leads.enumerated() {
            #expect(try await client.leadGet(namespace: namespace, id: lead.id) == nil, sourceLocation: sourceLocation)
            #expect(try await client.leadGet(namespace: namespace, email: "person\(index)@\(namespace).example") == nil, sourceLocation: sourceLocation)
            #expect(try await client.leadEngagement(namespace: namespace, id: lead.id) == nil, sourceLocation: sourceLocation)
        }
        #expect(try await client.leadQuery(namespace: namespace, WireLeadQuery(limit: 100)).leads.isEmpty, sourceLocation: sourceLocation)
        #expect(try await client.campaignGet(namespace: namespace, id: population.campaign.id) == nil, sourceLocation: sourceLocation)
        #expect(try await client.campaignSummary(namespace: namespace, id: population.campaign.id) == nil, sourceLocation: sourceLocation)
        #expect(try await client.campaignQuery(namespace: namespace).campaigns.isEmpty, sourceLocation: sourceLocation)
        #expect(try await client.campaignHourly(namespace: namespace, id: population.campaign.id).buckets.isEmpty, sourceLocation: sourceLocation)
    }

    /// Asserts that `population`'s namespace reads as it was written (minus `erasedLeads`).
    static func expectIntact(_ client: EngramClient, _ population: Population, erasedLeads: Set<FactID> = [], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let namespace = population.namespace
        #expect(try await client.get(namespace: namespace, key: Array("profile:\(namespace)".utf8))?.value == Array("enterprise".utf8), sourceLocation: sourceLocation)
        #expect(try await client.semanticGet(namespace: namespace, id: population.factID) != nil, sourceLocation: sourceLocation)
        let kept = population.episodes.filter { !erasedLeads.contains($0.episode.lead!) }
        #expect(try await client.scanEpisodes(namespace: namespace).episodes.map(\.position) == kept.map(\.receipt.position), sourceLocation: sourceLocation)
        for lead in population.leads {
            let erased = erasedLeads.contains(lead.id)
            #expect(try await client.leadGet(namespace: namespace, id: lead.id) == (erased ? nil : lead), sourceLocation: sourceLocation)
            #expect(try await client.leadEngagement(namespace: namespace, id: lead.id) == (erased ? nil : population.expectedEngagement(lead.id)), sourceLocation: sourceLocation)
        }
        #expect(try await client.campaignSummary(namespace: namespace, id: population.campaign.id)?.totals.sent == 10, sourceLocation: sourceLocation)
    }

    static func statistic(_ client: EngramClient, _ name: String) async throws -> UInt64? {
        try await client.stats().first { $0.name == name }?.value
    }

    @Test func aNamespaceEraseLeavesNothingReadableAndStaysGoneAfterAKill() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let root = EngramClient(server.clientConfiguration(token: "root", connections: 1))
        let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
        let doomed = try await Population.make(writer, "doomed")
        let kept = try await Population.make(writer, "kept")

        // A pass folds every counted event of both namespaces, exactly once.
        let pass = try await root.consolidate()
        #expect(pass.foldedEventCount == UInt64(doomed.countedEventCount + kept.countedEventCount))
        #expect(pass.updatedLeadCount == 6)
        #expect(pass.erasure == nil)
        #expect(pass.moreWorkRemains == false)
        #expect(try await root.consolidate().foldedEventCount == 0)
        try await Self.expectIntact(writer, doomed)
        try await Self.expectIntact(writer, kept)

        // Only admin may erase a namespace or run a pass.
        #expect(await clientError { try await writer.eraseNamespace("doomed") }?.message == "the token has write on namespace doomed; erase_namespace needs admin")
        #expect(await clientError { _ = try await writer.consolidate() }?.code == .forbidden)

        let report = try await root.eraseNamespace("doomed")
        #expect(report.isComplete)
        #expect(report.finishedNamespaceCount == 1)
        #expect(report.finishedLeadCount == 0)
        #expect(report.droppedEpisodeCount == 24)
        #expect(report.deletedLeadRecordCount == 0)
        #expect(report.droppedDamagedBlockCount == 0)
        #expect(report.rewrittenSegmentCount >= 1)
        // 1 long-term key, 1 fact, 3 leads with 3 index entries each, a campaign with its status
        // entry, 1 metric event, its summary and hourly bucket, 3 engagement summaries, 2 agents,
        // their index entries, the fold cursor: at least these.
        #expect(report.deletedKeyCount >= 1 + 1 + 12 + 2 + 3 + 3 + 2 + 1)
        try await Self.expectNamespaceGone(writer, doomed)
        try await Self.expectIntact(writer, kept)
        #expect(try await Self.statistic(root, "lifecycle.erased_namespaces") == 1)
        #expect(try await Self.statistic(root, "lifecycle.erasure_dropped_episodes") == 24)
        #expect(try await Self.statistic(root, "lifecycle.passes") == 2)
        #expect(try await Self.statistic(root, "lifecycle.folded_events") == pass.foldedEventCount)
        await root.close()
        await writer.close()

        // SIGKILL: nothing was pending; after the restart the namespace stays gone.
        server.stop(signal: SIGKILL)
        let restarted = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let reader = EngramClient(restarted.clientConfiguration(token: "reader", connections: 1))
        try await Self.expectNamespaceGone(reader, doomed)
        try await Self.expectIntact(reader, kept)
        let after = EngramClient(restarted.clientConfiguration(token: "root", connections: 1))
        let nextPass = try await after.consolidate()
        #expect(nextPass.erasure == nil)
        #expect(nextPass.foldedEventCount == 0)
        await reader.close()
        await after.close()
        expectCleanExit(restarted.stop())
    }

    @Test func aLeadEraseRemovesTheLeadItsSummaryAndItsEpisodesOnly() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let root = EngramClient(server.clientConfiguration(token: "root", connections: 1))
        let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
        let reader = EngramClient(server.clientConfiguration(token: "reader", connections: 1))
        let crm = try await Population.make(writer, "crm", leadCount: 4, episodeCount: 40)
        _ = try await root.consolidate()
        let victim = crm.leads[1]
        let expected = try #require(crm.expectedEngagement(victim.id))
        // The summary's exact fields, as the fold's table gives them.
        #expect(try await reader.leadEngagement(namespace: "crm", id: victim.id) == expected)
        #expect(expected.touches == 8)
        #expect(expected.opens == 2)
        #expect(expected.clicks == 2)
        #expect(expected.conversions == 2)
        #expect(expected.lastChannel == 2)

        // A read grant may not erase; a write grant may.
        #expect(await clientError { try await reader.eraseLead(namespace: "crm", id: victim.id) }?.message == "the token has read on namespace crm; erase_lead needs write")
        let report = try await writer.eraseLead(namespace: "crm", id: victim.id)
        let victimEpisodes = crm.episodes.filter { $0.episode.lead == victim.id }.count
        #expect(victimEpisodes == 12)
        #expect(report.isComplete)
        #expect(report.deletedLeadRecordCount == 1)
        #expect(report.droppedEpisodeCount == UInt64(victimEpisodes))
        #expect(report.finishedLeadCount == 1)
        #expect(report.finishedNamespaceCount == 0)
        #expect(report.deletedKeyCount == 0)
        try await Self.expectIntact(reader, crm, erasedLeads: [victim.id])
        #expect(try await reader.leadGet(namespace: "crm", email: "person1@crm.example") == nil)
        #expect(try await reader.leadQuery(namespace: "crm", WireLeadQuery(limit: 100)).leads.map(\.id).contains(victim.id) == false)
        for agent in ["engage-0", "engage-1"] {
            #expect(try await reader.episodes(namespace: "crm", agent: agent).episodes.contains { $0.lead == victim.id } == false)
        }

        // An unknown lead is not an error: there is no record to delete and no episode to drop.
        let stranger = try await writer.eraseLead(namespace: "crm", id: FactID.random())
        #expect(stranger.isComplete)
        #expect(stranger.deletedLeadRecordCount == 0)
        #expect(stranger.droppedEpisodeCount == 0)
        #expect(stranger.rewrittenSegmentCount == 0)
        #expect(stranger.finishedLeadCount == 1)
        // Erasing the same lead again finds nothing left.
        let again = try await writer.eraseLead(namespace: "crm", id: victim.id)
        #expect(again.deletedLeadRecordCount == 0)
        #expect(again.droppedEpisodeCount == 0)
        #expect(try await Self.statistic(root, "lifecycle.erased_leads") == 3)
        #expect(try await Self.statistic(root, "lifecycle.erasure_deleted_lead_records") == 1)
        await root.close()
        await writer.close()
        await reader.close()

        server.stop(signal: SIGKILL)
        let restarted = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let after = EngramClient(restarted.clientConfiguration(token: "reader", connections: 1))
        try await Self.expectIntact(after, crm, erasedLeads: [victim.id])
        await after.close()
        expectCleanExit(restarted.stop())
    }

    /// `--consolidation-interval-ms`: engramd folds on its own schedule, and counts the passes.
    @Test func engramdConsolidatesOnItsSchedule() async throws {
        try await withServer(arguments: Self.tokens + ["--consolidation-interval-ms", "100"]) { server in
            let root = EngramClient(server.clientConfiguration(token: "root", connections: 1))
            defer { Task { await root.close() } }
            let crm = try await Population.make(root, "crm", leadCount: 2, episodeCount: 12)
            // A pass counts its events once it has ended, after its summaries are readable: wait
            // for the count.
            for _ in 0..<400 {
                if try await Self.statistic(root, "lifecycle.folded_events") == UInt64(crm.countedEventCount) { break }
                usleep(50_000)
            }
            #expect(try await Self.statistic(root, "lifecycle.folded_events") == UInt64(crm.countedEventCount))
            for lead in crm.leads {
                #expect(try await root.leadEngagement(namespace: "crm", id: lead.id) == crm.expectedEngagement(lead.id))
            }
            #expect(try await Self.statistic(root, "lifecycle.passes") ?? 0 >= 1)
            #expect(try await Self.statistic(root, "lifecycle.pass_failures") == 0)
        }
    }

    /// SIGKILL while an erase runs: whenever the kill lands, the namespace after the restart is
    /// either whole (the erase had not begun) or unreadable (its marker is durable), never part of
    /// it; the erase sent again carries on and finishes.
    @Test func aNamespaceEraseCutByAKillIsNeverHalfVisibleAndFinishesAfterRestart() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
        let doomed = try await Population.make(writer, "doomed", leadCount: 3, episodeCount: 240)
        let kept = try await Population.make(writer, "kept")
        await writer.close()
        let root = EngramClient(server.clientConfiguration(token: "root", connections: 1))
        _ = try await root.consolidate()
        let eraser = Task { try? await root.eraseNamespace("doomed") }
        usleep(15_000)
        server.stop(signal: SIGKILL)
        _ = await eraser.value
        await root.close()

        let restarted = try ServerProcess.start(dataDirectory: directory.dataDirectory, arguments: Self.quiet)
        let reader = EngramClient(restarted.clientConfiguration(token: "reader", connections: 1))
        if try await reader.leadGet(namespace: "doomed", id: doomed.leads[0].id) != nil {
            try await Self.expectIntact(reader, doomed)
        } else {
            try await Self.expectNamespaceGone(reader, doomed)
        }
        try await Self.expectIntact(reader, kept)
        let again = EngramClient(restarted.clientConfiguration(token: "root", connections: 1))
        let report = try await again.eraseNamespace("doomed")
        #expect(report.isComplete)
        #expect(report.finishedNamespaceCount == 1)
        try await Self.expectNamespaceGone(reader, doomed)
        try await Self.expectIntact(reader, kept)
        #expect(try await again.consolidate().erasure == nil)
        await reader.close()
        await again.close()
        expectCleanExit(restarted.stop())
    }

    /// Past `lifecycleRequestCountMax` (8) waiting or running erase requests, the answer is `busy`
    /// at once, and the connection goes on. 32 pipelined erasures of leads, each with two
    /// checkpoints (an fdatasync each) on the one lifecycle thread, outrun it.
    @Test func tooManyWaitingErasuresAreAnsweredBusy() async throws {
        try await withServer(arguments: Self.quiet) { server in
            let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            defer { Task { await writer.close() } }
            let outcomes = await withTaskGroup(of: EngramClientError?.self) { group in
                for _ in 0..<32 {
                    group.addTask { await clientError { try await writer.eraseLead(namespace: "crm", id: FactID.random()) } }
                }
                var outcomes: [EngramClientError?] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let refused = outcomes.compactMap { $0 }
            #expect(refused.isEmpty == false)
            #expect(refused.allSatisfy { $0.code == .busy })
            #expect(refused.first?.message == "8 consolidate and erase requests are waiting or running; retry later")
            #expect(outcomes.count - refused.count >= 8)
            let afterwards = try await writer.eraseLead(namespace: "crm", id: FactID.random())
            #expect(afterwards.isComplete)
        }
    }
}
