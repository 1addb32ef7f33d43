import EngramClient
import EngramProtocol
import Testing

/// Leads, campaigns and campaign metrics end to end through the real `engramd`.
@Suite(.serialized) struct RecordsTests {
    let crm = "crm"

    @Test func leadsEndToEnd() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let ann = WireLead(id: FactID.random(), email: "Ann@Example.com", name: "Ann", company: "ACME", source: "web", score: 87, status: "new", metadata: Array("{\"a\":1}".utf8))
            let stored = try await client.leadUpsert(namespace: crm, lead: ann)
            #expect(stored.version > 0)
            #expect(stored.createdAtMicroseconds == stored.updatedAtMicroseconds)
            #expect(stored.email == "Ann@Example.com" && stored.metadata == ann.metadata)
            #expect(try await client.leadGet(namespace: crm, id: ann.id) == stored)
            #expect(try await client.leadGet(namespace: crm, email: "ann@example.COM") == stored)
            #expect(try await client.leadGet(namespace: crm, id: FactID.random()) == nil)

            // An upsert keeps created_at; another lead may not take the email.
            var changed = ann
            changed.score = 91
            let second = try await client.leadUpsert(namespace: crm, lead: changed)
            #expect(second.createdAtMicroseconds == stored.createdAtMicroseconds)
            #expect(second.version > stored.version)
            let taken = await clientError { try await client.leadUpsert(namespace: crm, lead: WireLead(id: FactID.random(), email: "ANN@example.com", score: 1, status: "new")) }
            #expect(taken?.code == .alreadyExists)
            let badScore = await clientError { try await client.leadUpsert(namespace: crm, lead: WireLead(id: FactID.random(), email: "b@x", score: 101, status: "new")) }
            #expect(badScore?.code == .serverInvalidArgument)
            var versioned = ann
            versioned.version = 3
            #expect(await clientError { try await client.leadUpsert(namespace: crm, lead: versioned) }?.message == "a lead upsert request must carry version 0 and updated_at 0 (the store assigns them)")

            // Query: best first, paged by cursor, with filters.
            for index in 0..<25 {
                try await client.leadUpsert(namespace: crm, lead: WireLead(id: FactID.random(), email: "lead\(index)@x.com", source: index % 2 == 0 ? "web" : "ads", score: UInt8(50 + index), status: index % 3 == 0 ? "qualified" : "new", createdAtMicroseconds: 1_000_000 + Int64(index)))
            }
            var scores: [UInt8] = []
            var cursor: [UInt8]? = nil
            var pages = 0
            repeat {
                let page = try await client.leadQuery(namespace: crm, WireLeadQuery(scoreMin: 60, limit: 4, cursor: cursor))
                scores += page.leads.map(\.score)
                cursor = page.cursor
                pages += 1
            } while cursor != nil
            #expect(scores == [91] + (60...74).reversed().map { UInt8($0) })
            #expect(pages == 4)
            let qualified = try await client.leadQuery(namespace: crm, WireLeadQuery(status: "qualified", source: "web", order: .newest, limit: 100))
            #expect(qualified.leads.map(\.score) == [74, 68, 62, 56, 50])
            #expect(qualified.cursor == nil)
            let badCursor = await clientError { _ = try await client.leadQuery(namespace: crm, WireLeadQuery(limit: 1, cursor: [9, 9])) }
            #expect(badCursor?.code == .serverInvalidArgument)

            #expect(try await client.leadDelete(namespace: crm, id: ann.id))
            #expect(try await client.leadDelete(namespace: crm, id: ann.id) == false)
            #expect(try await client.leadGet(namespace: crm, email: "ann@example.com") == nil)
        }
    }

    @Test func campaignsAndMetricsEndToEnd() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let spring = try await client.campaignUpsert(namespace: crm, campaign: WireCampaign(id: FactID.random(), name: "Spring", type: "email", status: .active, budgetCents: 125_000))
            let summer = try await client.campaignUpsert(namespace: crm, campaign: WireCampaign(id: FactID.random(), name: "Summer", type: "ads", status: .draft, budgetCents: 0, createdAtMicroseconds: 5_000_000))
            #expect(summer.createdAtMicroseconds == 5_000_000)
            #expect(try await client.campaignGet(namespace: crm, id: spring.id) == spring)
            #expect(try await client.campaignQuery(namespace: crm).campaigns.map(\.name) == ["Summer", "Spring"])
            #expect(try await client.campaignQuery(namespace: crm, status: .active).campaigns == [spring])
            #expect(try await client.campaignQuery(namespace: crm, type: "ads").campaigns.map(\.name) == ["Summer"])
            let firstPage = try await client.campaignQuery(namespace: crm, limit: 1)
            #expect(firstPage.campaigns.map(\.name) == ["Summer"])
            #expect(try await client.campaignQuery(namespace: crm, after: firstPage.next, limit: 1).campaigns.map(\.name) == ["Spring"])

            let hour: Int64 = 3_600_000_000
            let sequences = try await client.metricAppend(namespace: crm, events: [
                WireMetricEvent(campaignID: spring.id, timeMicroseconds: hour + 5, sent: 100, opened: 40, clicked: 10, converted: 2),
                WireMetricEvent(campaignID: spring.id, timeMicroseconds: 3 * hour, sent: 50, opened: 5, clicked: 0, converted: 0),
            ])
            #expect(sequences.count == 2 && sequences[0] < sequences[1])
            let summary = try #require(try await client.campaignSummary(namespace: crm, id: spring.id))
            #expect(summary.totals == WireTotals(eventCount: 2, sent: 150, opened: 45, clicked: 10, converted: 2))
            #expect(summary.totals.openRate == 0.3)
            #expect(try await client.campaignSummary(namespace: crm, id: summer.id)?.totals == WireTotals())
            #expect(try await client.activeCampaignSummaries(namespace: crm).summaries == [summary])
            let series = try await client.campaignHourly(namespace: crm, id: spring.id)
            #expect(series.buckets.map(\.hourStartMicroseconds) == [hour, 3 * hour])
            #expect(series.buckets[0].totals.sent == 100)
            let firstHour = try await client.campaignHourly(namespace: crm, id: spring.id, limit: 1)
            #expect(firstHour.buckets.count == 1)
            #expect(try await client.campaignHourly(namespace: crm, id: spring.id, fromMicroseconds: try #require(firstHour.resumeFromMicroseconds)).buckets.map(\.hourStartMicroseconds) == [3 * hour])

            let missing = await clientError { try await client.metricAppend(namespace: crm, events: [WireMetricEvent(campaignID: FactID.random(), timeMicroseconds: 0, sent: 1, opened: 0, clicked: 0, converted: 0)]) }
            #expect(missing?.code == .notFound)
            var badStatus = spring.record
            badStatus[1] = 9
            let refused = await clientError { _ = try await EngramConnection.connect(server.clientConfiguration()).send(.campaignUpsert(namespace: crm, record: badStatus)) }
            #expect(refused?.code == .serverInvalidArgument)

            #expect(try await client.campaignDelete(namespace: crm, id: spring.id))
            #expect(try await client.campaignSummary(namespace: crm, id: spring.id) == nil)
            #expect(try await client.campaignHourly(namespace: crm, id: spring.id).buckets.isEmpty)
            #expect(try await client.campaignDelete(namespace: crm, id: spring.id) == false)
        }
    }

    @Test func eachRecordsOpcodeNeedsItsRole() async throws {
        try await withServer(arguments: ["--token", "reader:read:crm", "--token", "writer:write:crm"]) { server in
            let reader = EngramClient(server.clientConfiguration(token: "reader", connections: 1))
            let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            defer { Task { await reader.close(); await writer.close() } }
            let lead = WireLead(id: FactID.random(), email: "a@b.c", score: 50, status: "new")
            try await writer.leadUpsert(namespace: crm, lead: lead)
            let campaign = try await writer.campaignUpsert(namespace: crm, campaign: WireCampaign(id: FactID.random(), name: "C", type: "email", status: .active, budgetCents: 1))
            try await writer.metricAppend(namespace: crm, events: [WireMetricEvent(campaignID: campaign.id, timeMicroseconds: 0, sent: 1, opened: 1, clicked: 0, converted: 0)])
            #expect(try await reader.leadGet(namespace: crm, id: lead.id) != nil)
            #expect(try await reader.leadQuery(namespace: crm, WireLeadQuery(limit: 10)).leads.count == 1)
            #expect(try await reader.campaignSummary(namespace: crm, id: campaign.id)?.totals.sent == 1)
            #expect(try await reader.activeCampaignSummaries(namespace: crm).summaries.count == 1)
            #expect(try await reader.campaignHourly(namespace: crm, id: campaign.id).buckets.count == 1)
            #expect(await clientError { try await reader.leadUpsert(namespace: crm, lead: lead) }?.message == "the token has read on namespace crm; lead_upsert needs write")
            #expect(await clientError { try await reader.leadDelete(namespace: crm, id: lead.id) }?.code == .forbidden)
            #expect(await clientError { try await reader.campaignUpsert(namespace: crm, campaign: campaign) }?.code == .forbidden)
            #expect(await clientError { try await reader.campaignDelete(namespace: crm, id: campaign.id) }?.code == .forbidden)
            #expect(await clientError { try await reader.metricAppend(namespace: crm, events: [WireMetricEvent(campaignID: campaign.id, timeMicroseconds: 0, sent: 1, opened: 0, clicked: 0, converted: 0)]) }?.code == .forbidden)
            #expect(await clientError { _ = try await writer.campaignQuery(namespace: "billing") }?.code == .forbidden)
        }
    }
}
