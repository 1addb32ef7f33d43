import Histogram
import Synchronization

/// What one journey did: its outcome and each request's latency, recorded in one lock hold.
struct JourneyOutcome: Sendable {
    var kind: JourneyKind
    /// From the scheduled start to the last answer, microseconds.
    var latencyMicroseconds: UInt64 = 0
    var operations: [(LoadOperation, UInt64)] = []
    /// The first failure's message; nil when every request succeeded.
    var failure: String?
    var failedOperation: LoadOperation?
    /// Seconds from the run's start to the answer, for the throughput series.
    var completedSecond: Int = 0
}

/// Collects latencies into HdrHistograms (microseconds, three significant digits) per journey and
/// per operation, completions and errors per second, and the distinct error messages.
///
/// Shared by every journey task of a run; one mutex, held once per journey (a few histogram
/// increments), so it is not the bottleneck at the rates one client process reaches.
public final class LoadRecorder: Sendable {
    struct State {
        var journeys: [JourneyKind: Histogram<UInt64>]
        var operations: [LoadOperation: Histogram<UInt64>]
        var all: Histogram<UInt64>
        var journeyErrors: [JourneyKind: Int] = [:]
        var operationErrors: [LoadOperation: Int] = [:]
        var completedPerSecond: [Int] = []
        var errorsPerSecond: [Int] = []
        var errorMessages: [String: Int] = [:]
        var transactions = 0
        var errors = 0
        var requests = 0
    }

    private let state: Mutex<State>

    public init() {
        func histogram() -> Histogram<UInt64> {
            Histogram(lowestDiscernibleValue: 1, highestTrackableValue: LoadLimits.latencyMicrosecondsMax, numberOfSignificantValueDigits: .three)
        }
        var journeys: [JourneyKind: Histogram<UInt64>] = [:]
        for kind in JourneyKind.allCases { journeys[kind] = histogram() }
        var operations: [LoadOperation: Histogram<UInt64>] = [:]
        for operation in LoadOperation.allCases { operations[operation] = histogram() }
        state = Mutex(State(journeys: journeys, operations: operations, all: histogram()))
    }

    func record(_ outcome: JourneyOutcome) {
        let clamp = { (value: UInt64) in Swift.min(Swift.max(value, 1), LoadLimits.latencyMicrosecondsMax) }
        state.withLock { state in
            state.transactions += 1
            state.requests += outcome.operations.count
            for (operation, latency) in outcome.operations {
                _ = state.operations[operation]!.record(clamp(latency))
            }
            let second = Swift.min(Swift.max(outcome.completedSecond, 0), LoadLimits.throughputSecondsMax - 1)
            while state.completedPerSecond.count <= second {
                state.completedPerSecond.append(0)
                state.errorsPerSecond.append(0)
            }
            if let failure = outcome.failure {
                state.errors += 1
                state.journeyErrors[outcome.kind, default: 0] += 1
                if let operation = outcome.failedOperation { state.operationErrors[operation, default: 0] += 1 }
                state.errorsPerSecond[second] += 1
                let key = state.errorMessages[failure] != nil || state.errorMessages.count < LoadLimits.errorMessageCountMax ? failure : "other"
                state.errorMessages[key, default: 0] += 1
            } else {
                // Failed journeys stay out of the latency histograms: a fast error is not a fast answer.
                _ = state.journeys[outcome.kind]!.record(clamp(outcome.latencyMicroseconds))
                _ = state.all.record(clamp(outcome.latencyMicroseconds))
                state.completedPerSecond[second] += 1
            }
        }
    }

    /// Transactions, errors and the p99 of every journey so far, for the progress line.
    func progress() -> (transactions: Int, errors: Int, p99Microseconds: UInt64) {
        state.withLock { ($0.transactions, $0.errors, $0.all.totalCount == 0 ? 0 : $0.all.valueAtPercentile(99)) }
    }

    func snapshot() -> State {
        state.withLock { $0 }
    }
}
