import EngramStorage

/// The engine's own check over a copy of a killed server's data directory: the copy is opened in
/// this process with `EngramStore.open` (which recovers it as `engramd` would) and
/// `checkRecordsConsistency()` holds every lead index, campaign index, summary and hourly bucket
/// to the records and events. The original is left for the next `engramd` to recover.
enum ConsistencyCheck {
    struct Outcome: Sendable {
        /// Why the copy did not open, if it did not.
        var openFailure: String?
        var problems: [String] = []
        var leadCount = 0
        var campaignCount = 0
        var recordsReplayed = 0
        var milliseconds = 0
    }

    /// Opens `directory` and checks it; blocking work, on a thread of its own.
    static func run(directory: String) async -> Outcome {
        await onOwnThread {
            let started = monotonicMilliseconds()
            var outcome = Outcome()
            var limits = Limits()
            // No background passes: the check reads the state recovery left, nothing else.
            limits.consolidationIntervalMilliseconds = 0
            var opened = false
            do throws(EngramError) {
                let store = try EngramStore.open(StoreConfiguration(directory: directory, limits: limits))
                defer { store.close() }
                opened = true
                outcome.recordsReplayed = store.recovery.recordsReplayed
                let report = try store.checkRecordsConsistency(problemCountMax: 20)
                outcome.problems = report.problems.map(\.description) + (report.problemsTruncated ? ["(more problems not listed)"] : [])
                outcome.leadCount = report.leadCount
                outcome.campaignCount = report.campaignCount
            } catch {
                if opened {
                    outcome.problems = ["the consistency check failed: \(error)"]
                } else {
                    outcome.openFailure = "\(error)"
                }
            }
            outcome.milliseconds = monotonicMilliseconds() - started
            return outcome
        }
    }
}
