import EngramClient

/// Turns a recorder's state into a `LoadReport`, with the table against the targets: the plan's
/// (under 300 ms average, 500 transactions a second, under 0.1 % errors) and the profile's own
/// goal on this machine (docs/PERFORMANCE.md).
struct ReportBuilder {
    let configuration: LoadConfiguration
    let loadAverageStart: String
    var steps: [LoadReport.Step] = []
    var maxHeld: Double?

    init(configuration: LoadConfiguration, loadAverageStart: String) {
        self.configuration = configuration
        self.loadAverageStart = loadAverageStart
    }

    /// The plan's error budget: under 0.1 % of transactions.
    static let errorRateMax = 0.001

    /// Records one `max` step and says whether it held: p99 at or under the profile's bound, errors
    /// under the budget, and (an open loop's own check) at least 95 % of the schedule completed in
    /// its time, so a server that falls behind does not pass by answering late.
    mutating func step(_ state: LoadRecorder.State, rate: Double, elapsedSeconds: Double) -> LoadReport.Step {
        let p99 = state.all.totalCount == 0 ? 0 : Double(state.all.valueAtPercentile(99)) / 1_000
        let errorRate = state.transactions == 0 ? 1 : Double(state.errors) / Double(state.transactions)
        let completed = Double(state.transactions - state.errors) / elapsedSeconds
        let held = p99 * 1_000 <= Double(configuration.profile.stepLatencyP99MicrosecondsMax) && errorRate < Self.errorRateMax && completed >= rate * 0.95
        let step = LoadReport.Step(scheduledPerSecond: rate, completedPerSecond: completed, p99Milliseconds: p99, errorRate: errorRate, held: held)
        steps.append(step)
        return step
    }

    func build(_ state: LoadRecorder.State, rate: Double, elapsedSeconds: Double, loadAverageEnd: String) -> LoadReport {
        let profile = configuration.profile
        let journeys = JourneyKind.allCases.map { LoadReport.Latency(name: $0.rawValue, histogram: state.journeys[$0]!, errors: state.journeyErrors[$0] ?? 0) }
        let operations = LoadOperation.allCases.map { LoadReport.Latency(name: $0.rawValue, histogram: state.operations[$0]!, errors: state.operationErrors[$0] ?? 0) }
        let overall = LoadReport.Latency(name: "every journey", histogram: state.all, errors: state.errors)
        let curves = [LoadReport.Curve(name: "every journey", histogram: state.all)] + JourneyKind.allCases.map { LoadReport.Curve(name: $0.rawValue, histogram: state.journeys[$0]!) }
        let throughput = state.completedPerSecond.indices.map { LoadReport.Second(second: $0, completed: state.completedPerSecond[$0], errors: state.errorsPerSecond[$0]) }
        let errorRate = state.transactions == 0 ? 0 : Double(state.errors) / Double(state.transactions)
        let completedPerSecond = Double(state.transactions - state.errors) / elapsedSeconds
        var report = LoadReport(
            profile: profile.name, seed: configuration.seed, server: "\(configuration.client.host):\(configuration.client.port)",
            connections: profile.connectionCount, scheduledPerSecond: rate, durationSeconds: elapsedSeconds,
            preloadLeadCount: profile.preloadLeadCount, campaignCount: profile.campaignCount,
            transactions: state.transactions, errors: state.errors, errorRate: errorRate, completedPerSecond: completedPerSecond,
            requests: state.requests, requestsPerSecond: Double(state.requests) / elapsedSeconds,
            overall: overall, journeys: journeys, operations: operations, curves: curves, throughput: throughput,
            targets: [], steps: steps, maxHeldPerSecond: maxHeld,
            errorMessages: state.errorMessages.sorted { $0.value > $1.value }.map { LoadReport.ErrorCount(message: $0.key, count: $0.value) },
            loadAverageStart: loadAverageStart, loadAverageEnd: loadAverageEnd)
        report.targets = targets(report)
        return report
    }

    private func targets(_ report: LoadReport) -> [LoadReport.Target] {
        var targets = [
            LoadReport.Target(name: "average response (plan)", goal: "under 300 ms", figure: "\(format(report.overall.meanMilliseconds, 3)) ms", met: report.overall.meanMilliseconds < 300),
            LoadReport.Target(name: "transactions a second (plan)", goal: "500", figure: "\(format(report.completedPerSecond, 1)) (scheduled \(format(report.scheduledPerSecond, 0)))", met: report.completedPerSecond >= 500),
            LoadReport.Target(name: "errors (plan)", goal: "under 0.1 %", figure: "\(format(report.errorRate * 100, 3)) % (\(report.errors) of \(report.transactions))", met: report.errorRate < Self.errorRateMax),
        ]
        switch report.profile {
        case LoadProfile.seed10x.name:
            targets.append(LoadReport.Target(name: "p99 at 10x (this machine)", goal: "at or under 1 ms, no errors", figure: "\(format(report.overall.p99Milliseconds, 3)) ms, \(report.errors) errors", met: report.overall.p99Milliseconds <= 1 && report.errors == 0))
        case LoadProfile.max.name:
            let held = report.maxHeldPerSecond ?? 0
            targets.append(LoadReport.Target(name: "highest rate held (this machine)", goal: "50,000 a second with p99 at or under 10 ms", figure: "\(format(held, 0)) a second, p99 \(format(report.overall.p99Milliseconds, 3)) ms", met: held >= 50_000))
        default:
            break
        }
        return targets
    }
}
