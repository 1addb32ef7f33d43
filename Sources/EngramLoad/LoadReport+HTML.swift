import Foundation

/// The self-contained HTML report: the tables, the latency percentile curve and throughput over
/// time as inline SVG, and the whole report as JSON in a `<script type="application/json">`
/// element, so a script (or a test) reads the figures back from the same file. No external file,
/// font or script.
extension LoadReport {
    public static let jsonElementID = "engram-load-report"

    public var html: String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>engram-load \(escape(profile))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
        td:first-child, th:first-child { text-align: left; } .met { color: #070; } .missed { color: #b00; }
        svg { border: 1px solid #ddd; margin: 1em 0; } svg text { font: 11px sans-serif; }
        </style></head><body>
        <h1>engram-load: \(escape(profile))</h1>
        <p>Seed \(seed), server \(escape(server)), \(connections) connections, \(campaignCount) campaigns, \(preloadLeadCount) leads preloaded.
        \(transactions) transactions in \(format(durationSeconds, 1)) s: \(format(completedPerSecond, 1)) completed a second (scheduled \(format(scheduledPerSecond, 1))),
        \(requests) requests, \(errors) errors. Load average \(escape(loadAverageStart)) at the start, \(escape(loadAverageEnd)) at the end.
        Latency counts from each journey's scheduled start (open loop).</p>

        """
        page += "<h2>Targets</h2>\n<table><tr><th>target</th><th>goal</th><th>figure</th><th>met</th></tr>\n"
        for target in targets {
            page += "<tr><td>\(escape(target.name))</td><td>\(escape(target.goal))</td><td>\(escape(target.figure))</td><td class=\"\(target.met ? "met" : "missed")\">\(target.met ? "yes" : "no")</td></tr>\n"
        }
        page += "</table>\n"
        if !steps.isEmpty {
            page += "<h2>Search steps</h2>\n<table><tr><th>scheduled/s</th><th>completed/s</th><th>p99 ms</th><th>errors %</th><th>held</th></tr>\n"
            for step in steps {
                page += "<tr><td>\(format(step.scheduledPerSecond, 0))</td><td>\(format(step.completedPerSecond, 0))</td><td>\(format(step.p99Milliseconds, 3))</td><td>\(format(step.errorRate * 100, 3))</td><td>\(step.held ? "yes" : "no")</td></tr>\n"
            }
            page += "</table>\n"
        }
        page += "<h2>Latency</h2>\n" + latencyTable([overall] + journeys, first: "journey") + latencyTable(operations.filter { $0.count > 0 || $0.errors > 0 }, first: "operation")
        page += "<h2>Latency percentile curve</h2>\n" + percentileCurveSVG
        page += "<h2>Throughput over time</h2>\n" + throughputSVG
        if !errorMessages.isEmpty {
            page += "<h2>Errors</h2>\n<ul>\n" + errorMessages.map { "<li>\($0.count) x \(escape($0.message))</li>\n" }.joined() + "</ul>\n"
        }
        // JSONEncoder writes "/" as "\/", so the JSON cannot close the script element early.
        page += "<script type=\"application/json\" id=\"\(Self.jsonElementID)\">\(json())</script>\n</body></html>\n"
        return page
    }

    /// The report embedded in `html`.
    public static func decode(html: String) throws -> LoadReport {
        let open = "<script type=\"application/json\" id=\"\(jsonElementID)\">"
        guard let start = html.range(of: open), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex) else {
            throw ReportFormatError(description: "no \(jsonElementID) element in the HTML")
        }
        return try decode(json: String(html[start.upperBound..<end.lowerBound]))
    }

    private func latencyTable(_ rows: [Latency], first: String) -> String {
        var table = "<table><tr><th>\(first)</th><th>count</th><th>errors</th><th>mean ms</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>\n"
        for row in rows {
            let cells = [format(row.meanMilliseconds, 3), format(row.p50Milliseconds, 3), format(row.p95Milliseconds, 3), format(row.p99Milliseconds, 3), format(row.p999Milliseconds, 3), format(row.maxMilliseconds, 3)]
            table += "<tr><td>\(escape(row.name))</td><td>\(row.count)</td><td>\(row.errors)</td>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return table + "</table>\n"
    }

    private static let colors = ["#222", "#1f77b4", "#2ca02c", "#d62728", "#9467bd"]

    /// Latency against percentile with the percentile axis stretched as 1 / (1 - p), as
    /// HdrHistogram's plots do, so the tail (99 %, 99.9 %, 99.99 %) gets as much room as the body.
    var percentileCurveSVG: String {
        let chart = SVGChart(width: 820, height: 320)
        let xOf = { (percentile: Double) in Swift.min(5, -log10(Swift.max(1e-5, 1 - Swift.min(percentile, 99.999) / 100))) }
        let yMax = Swift.max(0.001, curves.flatMap { $0.points.map(\.milliseconds) }.max() ?? 0.001)
        var svg = chart.open(title: "latency (ms) by percentile")
        for (label, x) in [("0 %", 0.0), ("90 %", 1), ("99 %", 2), ("99.9 %", 3), ("99.99 %", 4), ("99.999 %", 5)] {
            svg += chart.xTick(label, fraction: x / 5)
        }
        svg += chart.yTicks(maximum: yMax, unit: "ms")
        for (index, curve) in curves.enumerated() where !curve.points.isEmpty {
            let points = curve.points.map { (xOf($0.percentile) / 5, $0.milliseconds / yMax) }
            svg += chart.polyline(points, color: Self.colors[index % Self.colors.count])
            svg += chart.legend(curve.name, index: index, color: Self.colors[index % Self.colors.count])
        }
        return svg + "</svg>\n"
    }

    /// Completed transactions and errors per second, with the schedule's rate as a dashed line.
    var throughputSVG: String {
        let chart = SVGChart(width: 820, height: 260)
        let seconds = Swift.max(1, throughput.count - 1)
        let yMax = Swift.max(1, Double(throughput.map(\.completed).max() ?? 0), scheduledPerSecond) * 1.1
        var svg = chart.open(title: "transactions a second over time (s)")
        for tick in 0...4 { svg += chart.xTick("\(seconds * tick / 4)", fraction: Double(tick) / 4) }
        svg += chart.yTicks(maximum: yMax, unit: "/s")
        svg += chart.polyline([(0, scheduledPerSecond / yMax), (1, scheduledPerSecond / yMax)], color: "#999", dashed: true)
        svg += chart.legend("scheduled", index: 0, color: "#999")
        svg += chart.polyline(throughput.map { (Double($0.second) / Double(seconds), Double($0.completed) / yMax) }, color: "#1f77b4")
        svg += chart.legend("completed", index: 1, color: "#1f77b4")
        svg += chart.polyline(throughput.map { (Double($0.second) / Double(seconds), Double($0.errors) / yMax) }, color: "#d62728")
        svg += chart.legend("errors", index: 2, color: "#d62728")
        return svg + "</svg>\n"
    }
}

public struct ReportFormatError: Error, CustomStringConvertible {
    public let description: String
}

func escape(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        default: escaped.append(character)
        }
    }
    return escaped
}
