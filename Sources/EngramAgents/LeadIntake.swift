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

    /// Up to `countMax` leads for one triage step, in index order: waits for the next lead as
    /// `next()` does, then takes the leads after it that are already due (every one, without a
    /// rate), so a paced run still hands each lead out on time and a run ahead of triage hands
    /// them out in groups. Empty when `next()` would be nil.
    public func nextGroup(countMax: Int) async -> [(index: Int, lead: IntakeLead)] {
        precondition(countMax > 0, "a group of \(countMax) leads")
        guard let first = await next() else { return [] }
        var group = [first]
        while group.count < countMax, !Task.isCancelled {
            let index = nextIndex.load(ordering: .relaxed)
            guard index < count, isDue(index) else { break }
            guard nextIndex.compareExchange(expected: index, desired: index + 1, ordering: .relaxed).exchanged else { continue }
            group.append((index, lead(index)))
        }
        return group
    }

    /// Whether lead `index` may be handed out now.
    private func isDue(_ index: Int) -> Bool {
        let now = ContinuousClock.now
        if let deadline, now > deadline { return false }
        guard leadsPerSecond > 0 else { return true }
        return start + .microseconds(Int64(Double(index) / leadsPerSecond * 1_000_000)) <= now
    }

    private func lead(_ index: Int) -> IntakeLead {
        switch source {
        case .generator(let generator, _): generator.lead(index)
        case .leads(let leads): leads[index]
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
        return (index, lead(index))
    }
}
