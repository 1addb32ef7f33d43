import Foundation

extension LoadReport {
    /// The report as the terminal shows it: the run, the table against the targets, latency per
    /// journey and per operation.
    public var text: String {
        var lines: [String] = []
        lines.append("engram-load \(profile): seed \(seed), server \(server), \(connections) connections, \(campaignCount) campaigns, \(preloadLeadCount) leads preloaded")
        if !steps.isEmpty {
            lines.append("search steps (scheduled/s, completed/s, p99 ms, errors %, held):")
            for step in steps {
                lines.append("  \(pad(format(step.scheduledPerSecond, 0), 9)) \(pad(format(step.completedPerSecond, 0), 9)) \(pad(format(step.p99Milliseconds, 3), 9)) \(pad(format(step.errorRate * 100, 3), 8))  \(step.held ? "held" : "did not hold")")
            }
            lines.append("highest rate held: \(maxHeldPerSecond.map { format($0, 0) } ?? "none"); the figures below are that step's")
        }
        lines.append("\(transactions) transactions in \(format(durationSeconds, 1)) s: \(format(completedPerSecond, 1)) completed/s (scheduled \(format(scheduledPerSecond, 1))), \(requests) requests (\(format(requestsPerSecond, 0))/s), \(errors) errors (\(format(errorRate * 100, 3)) %); load average \(loadAverageStart) -> \(loadAverageEnd)")
        lines.append("")
        lines.append("| target | goal | figure | met |")
        lines.append("| --- | --- | --- | --- |")
        for target in targets { lines.append("| \(target.name) | \(target.goal) | \(target.figure) | \(target.met ? "yes" : "no") |") }
        lines.append("")
        lines.append(Self.header)
        lines.append(Self.rule)
        for latency in [overall] + journeys { lines.append(latency.row) }
        lines.append("")
        lines.append(Self.header.replacingOccurrences(of: "| journey ", with: "| operation "))
        lines.append(Self.rule)
        for latency in operations where latency.count > 0 || latency.errors > 0 { lines.append(latency.row) }
        if !errorMessages.isEmpty {
            lines.append("")
            lines.append("errors:")
            for error in errorMessages { lines.append("  \(error.count) x \(error.message)") }
        }
        return lines.joined(separator: "\n")
    }

    static let header = "| journey | count | errors | mean ms | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms |"
    static let rule = "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"

    /// The report as JSON (keys sorted, so two runs diff cleanly).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of numbers, strings and arrays cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(json: String) throws -> LoadReport {
        try JSONDecoder().decode(LoadReport.self, from: Data(json.utf8))
    }
}

extension LoadReport.Latency {
    var row: String {
        "| \(name) | \(count) | \(errors) | \(format(meanMilliseconds, 3)) | \(format(p50Milliseconds, 3)) | \(format(p95Milliseconds, 3)) | \(format(p99Milliseconds, 3)) | \(format(p999Milliseconds, 3)) | \(format(maxMilliseconds, 3)) |"
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}
