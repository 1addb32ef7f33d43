import EngramStorage
import FoundationEssentials

/// 100 active campaigns with a day of metric events (one an hour-minute each: 1,440 per
/// campaign, 144,000 in all), for the live summaries and hourly series: the optimization agent's
/// reads. Durable metric appends then go into the same store.
final class CampaignSummaryFixture: @unchecked Sendable {
    static let campaignCount = 100
    static let eventsPerCampaign = 1_440
    var directory = ""
    var store: EngramStore?
    let namespace = try! Namespace("bench")
    var campaignIDs: [UUID] = []
    let now = wallClockMicroseconds()
    var next = 0

    func open() async throws {
        if store != nil { return }
        directory = makeTemporaryDirectory("engram-summaries")
        let store = try EngramStore.open(StoreConfiguration(directory: directory))
        self.store = store
        var random = SplitMix64(seed: 42)
        for index in 0..<Self.campaignCount {
            let id = UUID()
            campaignIDs.append(id)
            _ = try await store.write(CampaignUpsert(namespace: namespace, id: id, name: "Campaign \(index)", type: ["email", "webinar", "retargeting"][index % 3], status: .active, budgetCents: 500_000))
        }
        for id in campaignIDs {
            let events = (0..<Self.eventsPerCampaign).map { minute in
                CampaignMetricEvent(campaignID: id, timeMicroseconds: now - day + Int64(minute) * 60_000_000, sent: 10, opened: UInt32(random.next() % 6), clicked: UInt32(random.next() % 3), converted: UInt32(random.next() % 2))
            }
            // In appends of at most the limit's events each (1,440 is over it).
            let countMax = Limits.default.campaignMetricAppendCountMax
            for first in stride(from: 0, to: events.count, by: countMax) {
                let chunk = Array(events[first..<min(first + countMax, events.count)])
                _ = try await store.write(CampaignMetricAppend(namespace: namespace, events: chunk), durability: .applied)
            }
        }
    }

    func close() {
        store?.close()
        store = nil
        removeDirectory(directory)
    }

    /// `count` durable appends of one event each, spread over `writers` tasks that each wait for
    /// their acknowledgement: the engagement agent's "email sent" and "opened".
    func durableAppends(count: Int, writers: Int) async {
        guard let store else { fatalError("fixture not open") }
        let start = next
        next += count
        let namespace = namespace, ids = campaignIDs, now = now
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for number in stride(from: start + writer, to: start + count, by: writers) {
                        let event = CampaignMetricEvent(campaignID: ids[number % ids.count], timeMicroseconds: now, sent: 1, opened: 0, clicked: 0, converted: 0)
                        do {
                            _ = try await store.write(CampaignMetricAppend(namespace: namespace, event: event))
                        } catch {
                            fatalError("durable metric append failed: \(error)")
                        }
                    }
                }
            }
        }
    }
}
