@testable import EngramStorage
import FoundationEssentials

/// The model campaign summaries and hourly series are checked against: every event kept, sums
/// computed from scratch.
struct MetricsModel {
    var campaigns: [UUID: Campaign] = [:]
    var events: [UUID: [CampaignMetricEvent]] = [:]

    func totals(_ id: UUID) -> CampaignTotals {
        var totals = CampaignTotals()
        for event in events[id] ?? [] { _ = totals.add(event) }
        return totals
    }

    func hours(_ id: UUID) -> [CampaignHourlyBucket] {
        var byHour: [Int64: CampaignTotals] = [:]
        for event in events[id] ?? [] { _ = byHour[MetricEventLayout.hourStart(event.timeMicroseconds), default: CampaignTotals()].add(event) }
        return byHour.keys.sorted().map { CampaignHourlyBucket(hourStartMicroseconds: $0, totals: byHour[$0]!) }
    }

    /// Events in store order: time, then sequence.
    func orderedEvents(_ id: UUID) -> [CampaignMetricEvent] {
        (events[id] ?? []).sorted { ($0.timeMicroseconds, $0.sequence) < ($1.timeMicroseconds, $1.sequence) }
    }

    /// Removes what `CampaignMetricsDelete` removes: the `count` oldest before `before`.
    mutating func deleteOldest(_ id: UUID, before: Int64, countMax: Int) -> Int {
        let doomed = orderedEvents(id).filter { $0.timeMicroseconds < before }.prefix(countMax).map(\.sequence)
        events[id]?.removeAll { doomed.contains($0.sequence) }
        return doomed.count
    }
}

extension EngramStore {
    /// Every page of a campaign's hourly series and events, for comparison with the model.
    func allHours(_ namespace: Namespace, _ id: UUID) throws -> [CampaignHourlyBucket] {
        var buckets: [CampaignHourlyBucket] = []
        var from: Int64 = 0
        while true {
            let page = try campaignHourlySeries(namespace: namespace, campaignID: id, fromMicroseconds: from, limit: 7)
            buckets += page.buckets
            guard let next = page.resumeFromMicroseconds else { return buckets }
            from = next
        }
    }

    func allEvents(_ namespace: Namespace, _ id: UUID) throws -> [CampaignMetricEvent] {
        var events: [CampaignMetricEvent] = []
        var after: CampaignMetricEventPosition?
        repeat {
            let page = try campaignMetricEvents(namespace: namespace, campaignID: id, after: after, limit: 13)
            events += page.events
            after = page.next
        } while after != nil
        return events
    }

    /// Checks every campaign of `model` against the store; returns the mismatches described.
    func metricsMismatches(_ model: MetricsModel, namespace: Namespace) throws -> [String] {
        var mismatches: [String] = []
        for (id, campaign) in model.campaigns {
            let performance = try campaignPerformance(namespace: namespace, id: id)
            if performance != CampaignPerformance(campaign: campaign, totals: model.totals(id)) {
                mismatches.append("campaign \(id): summary \(String(describing: performance?.totals)), model \(model.totals(id))")
            }
            if try allHours(namespace, id) != model.hours(id) { mismatches.append("campaign \(id): hourly series differs") }
            if try allEvents(namespace, id) != model.orderedEvents(id) { mismatches.append("campaign \(id): events differ") }
        }
        return mismatches
    }
}
