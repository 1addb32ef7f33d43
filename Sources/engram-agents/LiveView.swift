import EngramAgents
import EngramClient
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The live terminal view of a run: redrawn twice a second on a terminal; on a pipe, one progress
/// line every five seconds (nothing with `quiet`).
struct LiveView: Sendable {
    let system: AgentSystem
    let interactive: Bool
    let quiet: Bool

    func run() async {
        guard !quiet else { return }
        let interval: Duration = interactive ? .milliseconds(500) : .seconds(5)
        var drawnLineCount = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            let policy = try? await system.runtime.load(OptimizerPolicy.self, key: AgentKey.optimizerPolicy)?.value
            let lines = frame(policy: policy)
            if interactive {
                // Up over the previous frame, then clear to the end of the screen.
                let up = drawnLineCount > 0 ? "\u{1B}[\(drawnLineCount)A" : ""
                writeAll(up + "\u{1B}[J" + lines.joined(separator: "\n") + "\n", to: 1)
                drawnLineCount = lines.count
            } else {
                writeAll(lines[1] + " | " + lines[2] + "\n", to: 1)
            }
        }
    }

    func frame(policy: OptimizerPolicy?) -> [String] {
        let statistics = system.runtime.statistics
        let seconds = system.elapsedSeconds
        let triaged = statistics.leadsTriaged.value
        let sent = statistics.emailsSent.value
        let converted = statistics.conversions.value
        var lines = [
            "engram-agents  \(Format.fixed(seconds, 1)) s  namespace \(system.runtime.configuration.namespace)",
            "leads    triaged \(triaged) (\(Format.fixed(Double(triaged) / Swift.max(seconds, 0.001), 1))/s)  qualified \(statistics.leadsQualified.value)  rejected \(statistics.leadsRejected.value)",
            "emails   sent \(sent)  opened \(statistics.opens.value)  clicked \(statistics.clicks.value)  converted \(converted) (\(Format.percent(converted, of: sent)))",
            "learning policy decisions \(statistics.policyDecisions.value)  campaigns paused \(statistics.campaignsPaused.value)  weight adjustments \(statistics.weightAdjustments.value)",
            "campaign          share   sent",
        ]
        for (index, campaign) in CampaignCatalog.campaigns.enumerated() {
            let share = policy.map { Format.fixed($0.allocation[index], 2) } ?? "-"
            let state = policy.map { $0.active[index] ? "" : "  paused" } ?? ""
            lines.append(Format.padded(campaign.name, 18) + Format.padded(share, 8) + "\(statistics.sentByCampaign[index].value)" + state)
        }
        let latency = statistics.latency
        lines.append("requests \(latency.count)  latency mean \(Format.milliseconds(latency.meanMicroseconds))  p50 \(Format.milliseconds(latency.percentileMicroseconds(0.5)))  p99 \(Format.milliseconds(latency.percentileMicroseconds(0.99)))")
        return lines
    }
}

enum Format {
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        guard digits > 0 else { return "\(scaled)" }
        let whole = scaled / Int(scale)
        let fraction = String(abs(scaled % Int(scale)))
        return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        whole == 0 ? "-" : fixed(100 * Double(part) / Double(whole), 1) + "%"
    }

    static func milliseconds(_ microseconds: Double) -> String {
        fixed(microseconds / 1_000, 2) + " ms"
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The final summary, as text or JSON.
enum SummaryText {
    static func text(_ summary: AgentSystem.Summary, namespace: String, outbox: String) -> String {
        var lines = [
            "run of \(summary.leadsTriaged) leads in \(Format.fixed(summary.elapsedSeconds, 1)) s (\(Format.fixed(Double(summary.leadsTriaged) / Swift.max(summary.elapsedSeconds, 0.001), 1)) leads/s), namespace \(namespace), episodes \(summary.startPosition) to \(summary.endPosition)",
            "leads     qualified \(summary.leadsQualified)  rejected \(summary.leadsRejected)",
            "emails    sent \(summary.emailsSent) (outbox \(outbox))  opened \(summary.opens)  clicked \(summary.clicks)  converted \(summary.conversions) (\(Format.percent(summary.conversions, of: summary.emailsSent)))",
            "learning  policy decisions \(summary.policyDecisions)  campaigns paused \(summary.campaignsPaused)  weight adjustments \(summary.weightAdjustments)",
            "requests  \(summary.requestCount)  latency mean \(Format.milliseconds(summary.latencyMeanMicroseconds))  p50 \(Format.milliseconds(summary.latencyP50Microseconds))  p99 \(Format.milliseconds(summary.latencyP99Microseconds))",
            "campaign          status     share   sent  opened  clicked  converted  rate (all runs)",
        ]
        for campaignSummary in summary.summaries {
            let index = CampaignCatalog.index(of: campaignSummary.campaign.id)
            let share = index.map { Format.fixed(summary.policy.allocation[$0], 2) } ?? "-"
            let totals = campaignSummary.totals
            lines.append(Format.padded(campaignSummary.campaign.name, 18) + Format.padded(campaignSummary.campaign.status.description, 11) + Format.padded(share, 8)
                + Format.padded("\(totals.sent)", 6) + Format.padded("\(totals.opened)", 8) + Format.padded("\(totals.clicked)", 9) + Format.padded("\(totals.converted)", 11) + Format.percent(Int(totals.converted), of: Int(totals.sent)))
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: AgentSystem.Summary) -> String {
        let campaigns = summary.summaries.map { item in
            "{\"name\":\"\(item.campaign.name)\",\"status\":\"\(item.campaign.status)\",\"sent\":\(item.totals.sent),\"opened\":\(item.totals.opened),\"clicked\":\(item.totals.clicked),\"converted\":\(item.totals.converted)}"
        }
        let fields = [
            "\"elapsedSeconds\":\(Format.fixed(summary.elapsedSeconds, 3))", "\"leadsTriaged\":\(summary.leadsTriaged)", "\"leadsQualified\":\(summary.leadsQualified)",
            "\"leadsRejected\":\(summary.leadsRejected)", "\"emailsSent\":\(summary.emailsSent)", "\"opens\":\(summary.opens)", "\"clicks\":\(summary.clicks)",
            "\"conversions\":\(summary.conversions)", "\"policyDecisions\":\(summary.policyDecisions)", "\"campaignsPaused\":\(summary.campaignsPaused)",
            "\"weightAdjustments\":\(summary.weightAdjustments)", "\"requests\":\(summary.requestCount)",
            "\"latencyP50Microseconds\":\(Format.fixed(summary.latencyP50Microseconds, 1))", "\"latencyP99Microseconds\":\(Format.fixed(summary.latencyP99Microseconds, 1))",
            "\"allocation\":[\(summary.policy.allocation.map { Format.fixed($0, 4) }.joined(separator: ","))]", "\"campaigns\":[\(campaigns.joined(separator: ","))]",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }
}
