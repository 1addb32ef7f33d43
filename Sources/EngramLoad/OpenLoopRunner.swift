#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Synchronization

/// Runs journeys on a fixed schedule: transaction `i` is due at `start + i / rate`, whatever
/// happened to the ones before it. The scheduler never waits for an answer; each due journey is
/// its own task, and its latency counts from when it was due (open loop, no coordinated
/// omission). When the scheduler itself wakes late, every journey it owes is started at once and
/// the lateness is in their latencies.
struct OpenLoopRunner: Sendable {
    let journeys: Journeys
    let seed: UInt64
    /// Called about once a second with (elapsed seconds, transactions, errors, p99 µs, in flight).
    let progress: (@Sendable (Double, Int, Int, UInt64, Int) -> Void)?

    /// Runs `rate` journeys a second for `seconds`; transaction indexes start at `firstIndex` so
    /// the steps of a search draw fresh values.
    func run(rate: Double, seconds: Double, firstIndex: UInt64 = 0) async -> LoadRecorder {
        precondition(rate > 0 && seconds > 0, "rate \(rate) and seconds \(seconds) must be positive")
        let recorder = LoadRecorder()
        let total = Int((rate * seconds).rounded())
        let intervalNanoseconds = 1e9 / rate
        let inFlight = InFlightCounter()
        let start = MonotonicClock.nanoseconds()
        await withDiscardingTaskGroup { group in
            var index = 0
            var nextProgressNanoseconds = start + 1_000_000_000
            while index < total {
                let now = MonotonicClock.nanoseconds()
                let elapsed = Double(now &- start)
                let due = Swift.min(total, Int(elapsed / intervalNanoseconds) + 1)
                while index < due {
                    let scheduled = start + UInt64(Double(index) * intervalNanoseconds)
                    let transaction = firstIndex + UInt64(index)
                    var drawn = SplitMix64.derived(seed: seed, stream: 10, index: transaction)
                    let kind = JourneyKind.pick(drawn.next())
                    let random = drawn
                    index += 1
                    guard inFlight.count.wrappingAdd(1, ordering: .relaxed).newValue <= LoadLimits.transactionsInFlightMax else {
                        inFlight.count.wrappingSubtract(1, ordering: .relaxed)
                        var outcome = JourneyOutcome(kind: kind)
                        outcome.failure = "not sent: client in-flight limit (\(LoadLimits.transactionsInFlightMax)) reached"
                        outcome.completedSecond = Int((now &- start) / 1_000_000_000)
                        recorder.record(outcome)
                        continue
                    }
                    group.addTask {
                        var random = random
                        let outcome = await journeys.run(kind, random: &random, scheduledNanoseconds: scheduled, runStartNanoseconds: start)
                        recorder.record(outcome)
                        inFlight.count.wrappingSubtract(1, ordering: .relaxed)
                    }
                }
                if let progress, now >= nextProgressNanoseconds {
                    nextProgressNanoseconds += 1_000_000_000
                    let (transactions, errors, p99) = recorder.progress()
                    progress(Double(now &- start) / 1e9, transactions, errors, p99, inFlight.count.load(ordering: .relaxed))
                }
                guard index < total else { break }
                let nextDue = start + UInt64(Double(index) * intervalNanoseconds)
                let current = MonotonicClock.nanoseconds()
                if nextDue > current { try? await Task.sleep(nanoseconds: nextDue - current) }
            }
        }
        return recorder
    }
}

/// Journeys started and not yet answered; shared by the scheduler and every journey task.
final class InFlightCounter: Sendable {
    let count = Atomic<Int>(0)
}
