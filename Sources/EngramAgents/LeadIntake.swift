import Synchronization

/// Hands new leads to the triage instances, each lead to exactly one of them, at a set rate.
///
/// The source is the built-in generator (a count of leads) or the leads of an intake file. With a
/// rate, lead `index` is not handed out before `start + index / rate`; with a deadline, no lead is
/// handed out after it. Thread-safe: instances call `next()` concurrently.
public final class LeadIntake: Sendable {
    public enum Source: Sendable {
        case generator(LeadGenerator, count: Int)
        case leads([IntakeLead])
    }

    let source: Source
    let leadsPerSecond: Double
    let deadline: ContinuousClock.Instant?
    private let nextIndex = Atomic<Int>(0)
    private let start = ContinuousClock.now

    /// `leadsPerSecond` 0 hands leads out as fast as triage takes them; `duration` nil runs until
    /// the source is exhausted.
    public init(_ source: Source, leadsPerSecond: Double = 0, duration: Duration? = nil) {
        precondition(leadsPerSecond >= 0, "a lead rate cannot be negative, got \(leadsPerSecond)")
        self.source = source
        self.leadsPerSecond = leadsPerSecond
        self.deadline = duration.map { ContinuousClock.now + $0 }
    }

    public var count: Int {
        switch source {
        case .generator(_, let count): count
        case .leads(let leads): leads.count
        }
    }

    /// The next lead and its index, or nil when the source is exhausted, the deadline passed, or
    /// the task was cancelled.
    public func next() async -> (index: Int, lead: IntakeLead)? {
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < count, !Task.isCancelled else { return nil }
        if leadsPerSecond > 0 {
            let due = start + .microseconds(Int64(Double(index) / leadsPerSecond * 1_000_000))
            if let deadline, due > deadline { return nil }
            try? await Task.sleep(until: due, clock: .continuous)
            if Task.isCancelled { return nil }
        } else if let deadline, ContinuousClock.now > deadline {
            return nil
        }
        switch source {
        case .generator(let generator, _): return (index, generator.lead(index))
        case .leads(let leads): return (index, leads[index])
        }
    }
}
