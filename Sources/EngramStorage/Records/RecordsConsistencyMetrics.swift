import FoundationEssentials

/// Rules 4 to 6 of docs/RECORDS.md, "Consistency rules": campaigns and their status entries,
/// events, summaries and hourly buckets.
extension RecordsChecker {
    mutating func checkCampaigns() throws(EngramError) {
        let tables = tables
        try forEach(tables.campaigns) { (checker, key, value) throws(EngramError) in
            checker.report.campaignCount += 1
            guard let (namespace, prefixBytes) = checker.namespace(of: key, in: tables.campaigns) else { return }
            guard key.count == prefixBytes + 16 else { return checker.problem(tables.campaigns, key, "a campaign key must end in a 16-byte id") }
            let view: CampaignView
            do throws(EngramError) {
                view = try CampaignView(value, source: tables.campaigns.name)
            } catch {
                return checker.problem(tables.campaigns, key, "the record does not decode: \(error.message)")
            }
            if let problem = view.problem(checker.limits) { checker.problem(tables.campaigns, key, "the record \(problem)") }
            guard key.slice(prefixBytes..<key.count).elementsEqual(view.id) else {
                return checker.problem(tables.campaigns, key, "the key's id differs from the record's \(view.uuid.uuidString)")
            }
            if try checker.get(tables.campaignStatuses, CampaignReading.statusKey(namespace: namespace, view)) == nil {
                checker.problem(tables.campaigns, key, "no \(tables.campaignStatuses.name) entry for its status and type")
            }
        }
        try forEach(tables.campaignStatuses) { (checker, key, value) throws(EngramError) in
            guard let (namespace, prefixBytes) = checker.namespace(of: key, in: tables.campaignStatuses) else { return }
            guard key.count >= prefixBytes + 1 + 2 + 16, value.isEmpty else {
                return checker.problem(tables.campaignStatuses, key, "the entry does not have the index layout")
            }
            let id = key.slice((key.count - 16)..<key.count)
            let expected = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(id) }) { (campaignKey) throws(EngramError) -> [UInt8]?? in
                try checker.transaction.get(tables.campaigns, campaignKey).map { (bytes) -> [UInt8]? in
                    (try? CampaignView(bytes, source: tables.campaigns.name)).map { CampaignReading.statusKey(namespace: namespace, $0) }
                }
            }
            guard let expected else { return checker.problem(tables.campaignStatuses, key, "names campaign \(UUID(bytes: id).uuidString), which does not exist") }
            if let expected, !expected.elementsEqual(key) {
                checker.problem(tables.campaignStatuses, key, "is stale: campaign \(UUID(bytes: id).uuidString)'s fields give \(printable(expected))")
            }
        }
    }

    /// Walks the events once, campaign by campaign (they are in key order), summing each campaign's
    /// totals and hours; compares them with the summary and the hourly range of that campaign.
    /// Summaries and buckets of campaigns without events are found by walking those tables after.
    mutating func checkMetrics() throws(EngramError) {
        let tables = tables
        var campaignsWithEvents = Set<[UInt8]>()
        var group: MetricGroup?
        try forEach(tables.campaignEvents) { (checker, key, value) throws(EngramError) in
            checker.report.eventCount += 1
            guard let (namespace, prefixBytes) = checker.namespace(of: key, in: tables.campaignEvents) else { return }
            guard key.count == prefixBytes + 32 else { return checker.problem(tables.campaignEvents, key, "an event key must be the campaign id, time and sequence") }
            let campaignKey = Array(key.slice(0..<(prefixBytes + 16)))
            if group?.campaignKey != campaignKey {
                if let finished = group { try checker.compare(finished) }
                group = MetricGroup(campaignKey: campaignKey)
                campaignsWithEvents.insert(campaignKey)
                if try checker.get(tables.campaigns, campaignKey) == nil {
                    checker.problem(tables.campaignEvents, key, "belongs to campaign \(UUID(bytes: key.slice(prefixBytes..<(prefixBytes + 16))).uuidString), which does not exist")
                }
            }
            let event: CampaignMetricEvent
            do throws(EngramError) {
                event = try MetricEventLayout.decode(value, source: tables.campaignEvents.name)
            } catch {
                return checker.problem(tables.campaignEvents, key, "the event does not decode: \(error.message)")
            }
            let expectedKey = withUnsafeTemporaryAllocation(byteCount: RecordKeys.bufferBytes, alignment: 1) { buffer in
                var writer = KeyWriter(buffer)
                MetricKeys.appendEvent(&writer, namespace, event)
                return Array(writer.bytes)
            }
            guard expectedKey.elementsEqual(key) else { return checker.problem(tables.campaignEvents, key, "the key differs from the event's campaign, time and sequence") }
            if event.timeMicroseconds < 0 || event.timeMicroseconds > checker.limits.recordTimeMicrosecondsMax {
                checker.problem(tables.campaignEvents, key, "the event time \(event.timeMicroseconds) is out of range")
            }
            group!.add(event)
        }
        if let finished = group, !full { try compare(finished) }
        try forEach(tables.campaignSummaries) { (checker, key, _) throws(EngramError) in
            checker.report.summaryCount += 1
            if !campaignsWithEvents.contains(Array(key)) { checker.problem(tables.campaignSummaries, key, "a summary without events") }
        }
        try forEach(tables.campaignHourly) { (checker, key, _) throws(EngramError) in
            checker.report.hourlyBucketCount += 1
            guard key.count > 24, campaignsWithEvents.contains(Array(key.slice(0..<(key.count - 8)))) else {
                return checker.problem(tables.campaignHourly, key, "an hourly bucket without events")
            }
        }
    }

    /// Rule 6 for one campaign: its summary and each of its hourly buckets equal the sums.
    mutating func compare(_ group: MetricGroup) throws(EngramError) {
        let tables = tables
        try group.campaignKey.withBytes { (campaignKey) throws(EngramError) in
            if let stored = try transaction.get(tables.campaignSummaries, campaignKey) {
                let totals = try? TotalsLayout.decode(stored, source: tables.campaignSummaries.name)
                if totals != group.totals {
                    problem(tables.campaignSummaries, campaignKey, "the summary is \(totals.map { "\($0)" } ?? "undecodable"), its events sum to \(group.totals)")
                }
            } else {
                problem(tables.campaignSummaries, campaignKey, "no summary for a campaign with \(group.totals.eventCount) events")
            }
            let cursor = try transaction.cursor(tables.campaignHourly)
            defer { cursor.close() }
            var expected = group.hours[...]
            var entry = try cursor.seek(atOrAfter: campaignKey)
            while let current = entry, current.key.starts(with: campaignKey), !full {
                let hour = current.key.count == campaignKey.count + 8 ? Int64(bitPattern: current.key.bigEndianUInt64(at: campaignKey.count)) : -1
                while let next = expected.first, next.hourStart < hour {
                    problem(tables.campaignHourly, current.key, "no bucket for hour \(next.hourStart), whose events sum to \(next.totals)")
                    expected = expected.dropFirst()
                }
                if let next = expected.first, next.hourStart == hour {
                    let totals = try? TotalsLayout.decode(current.value, source: tables.campaignHourly.name)
                    if totals != next.totals {
                        problem(tables.campaignHourly, current.key, "the bucket is \(totals.map { "\($0)" } ?? "undecodable"), its events sum to \(next.totals)")
                    }
                    expected = expected.dropFirst()
                } else {
                    problem(tables.campaignHourly, current.key, "a bucket without events in its hour")
                }
                entry = try cursor.next()
            }
            for missing in expected {
                problem(tables.campaignHourly, campaignKey, "no bucket for hour \(missing.hourStart), whose events sum to \(missing.totals)")
            }
        }
    }
}

/// The sums of one campaign's events, overall and per hour (hours ascending, as events come).
struct MetricGroup {
    let campaignKey: [UInt8]
    var totals = CampaignTotals()
    var hours: [(hourStart: Int64, totals: CampaignTotals)] = []

    init(campaignKey: [UInt8]) { self.campaignKey = campaignKey }

    mutating func add(_ event: CampaignMetricEvent) {
        _ = totals.add(event)
        let hourStart = MetricEventLayout.hourStart(event.timeMicroseconds)
        if hours.last?.hourStart != hourStart { hours.append((hourStart, CampaignTotals())) }
        _ = hours[hours.count - 1].totals.add(event)
    }
}
