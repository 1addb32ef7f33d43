import EngramClient
import EngramProtocol

/// The checks after a restart: everything the ledger holds is read back through the server and
/// compared, exactly. A write that was in flight at the kill and is found applied is adopted;
/// one not found is dropped (recovery settled it for good). What nothing explains is a problem:
/// `lost` when an acknowledged write is missing or older, `unexpected` when the server holds
/// something no write, acknowledged or in flight, could have left.
///
/// Owned by the driver for one verification; `settled` is the ledger to carry on with.
struct Verifier {
    struct Problem: Sendable, CustomStringConvertible {
        enum Kind: Sendable { case lost, unexpected }
        let kind: Kind
        let message: String
        var description: String { "\(kind == .lost ? "LOST" : "UNEXPECTED"): \(message)" }
    }

    let client: EngramClient
    var state: CrashLedger
    /// Read every episode from sequence 1 (else from just below the first unverified one).
    let fullEpisodeRead: Bool
    var problems: [Problem] = []
    /// Writes in flight at the kill that were found applied.
    var appliedInFlightCount = 0
    /// Erases found begun but perhaps not finished (their request was in flight): the checks
    /// finish them, as an operator would, so the next round's writes are not refused.
    var leadErasesToFinish: [WireUUID] = []
    var scratchEraseToFinish = false

    init(client: EngramClient, ledger: CrashLedger, fullEpisodeRead: Bool) {
        self.client = client
        self.state = ledger
        self.fullEpisodeRead = fullEpisodeRead
    }

    /// Runs every check; a request that fails is thrown (the round fails: the server should be
    /// serving).
    mutating func run() async throws(EngramClientError) {
        try await verifyValues()
        try await verifyCounters()
        try await verifyEpisodes()
        try await verifyLeads()
        try await verifyCampaigns()
        try await verifyScratch()
        for id in leadErasesToFinish { try await client.eraseLead(namespace: LoadShape.namespace, id: id) }
        if scratchEraseToFinish { try await client.eraseNamespace(LoadShape.scratchNamespace) }
    }

    /// The ledger once every write in flight is settled.
    var settled: CrashLedger {
        var ledger = state
        ledger.uncertain = [:]
        ledger.erasedLeads = [:]
        ledger.retiredEmails = []
        return ledger
    }

    var uncertainCount: Int { state.uncertain.count }

    mutating func lost(_ message: String) { problems.append(Problem(kind: .lost, message: message)) }
    mutating func unexpected(_ message: String) { problems.append(Problem(kind: .unexpected, message: message)) }

    /// The connection whose write in flight `matches`, if one does.
    func inFlight(where matches: (InFlight) -> Bool) -> Int? {
        state.uncertain.sorted { $0.key < $1.key }.first { matches($0.value) }?.key
    }

    /// Every entry of `namespace` under `prefix`, by key.
    func scanAll(namespace: String, prefix: String) async throws(EngramClientError) -> [String: VersionedValue] {
        var present: [String: VersionedValue] = [:]
        var after: [UInt8]? = nil
        repeat {
            let page = try await client.scan(namespace: namespace, prefix: Array(prefix.utf8), after: after, limit: 1_000)
            for entry in page.entries {
                present[String(decoding: entry.key, as: UTF8.self)] = VersionedValue(version: entry.version, value: entry.value)
            }
            after = page.resumeAfter
        } while after != nil
        return present
    }

    static func show(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(48), as: UTF8.self)
        return bytes.count > 48 ? "\"\(text)...\" (\(bytes.count) bytes)" : "\"\(text)\""
    }

    static func show(_ value: VersionedValue?) -> String {
        value.map { "version \($0.version) \(show($0.value))" } ?? "nothing"
    }

    static func show(_ entry: LongTermEntry?) -> String {
        entry.map { "version \($0.version) \(show($0.value))" } ?? "nothing"
    }
}

// MARK: Long-term values and counters

extension Verifier {
    /// Each connection's keys: the acknowledged value and version exactly, or the put in flight.
    mutating func verifyValues() async throws(EngramClientError) {
        let present = try await scanAll(namespace: LoadShape.namespace, prefix: "lt/")
        state.values = checkKeys(present: present, acknowledged: state.values, what: "key") { key, found in
            { inFlight in if case .put(key, found.value, _) = inFlight { true } else { false } }
        }
    }

    /// The scratch namespace's keys (unless an erase was in flight: `verifyScratch`).
    mutating func checkScratchKeys(_ present: [String: VersionedValue]) {
        state.scratch.values = checkKeys(present: present, acknowledged: state.scratch.values, what: "scratch key") { key, found in
            { inFlight in if case .scratchPut(key, found.value, _) = inFlight { true } else { false } }
        }
    }

    /// Holds `present` to `acknowledged`; returns the settled entries.
    private mutating func checkKeys(present: [String: VersionedValue], acknowledged: [String: LongTermEntry], what: String, isInFlightPut: (String, VersionedValue) -> (InFlight) -> Bool) -> [String: LongTermEntry] {
        var settled = acknowledged
        for key in Set(present.keys).union(acknowledged.keys).sorted() {
            let found = present[key]
            let expected = acknowledged[key]
            if let found, let expected, found.version == expected.version, found.value == expected.value { continue }
            if let found, let connection = inFlight(where: isInFlightPut(key, found)), found.version > (expected?.version ?? 0),
               let sequence = state.uncertain[connection]?.putSequence {
                settled[key] = LongTermEntry(version: found.version, value: found.value, sequence: sequence)
                appliedInFlightCount += 1
                continue
            }
            if expected == nil {
                unexpected("\(what) \(key) holds \(Self.show(found)); no write acknowledged or in flight explains it")
            } else {
                lost("\(what) \(key) holds \(Self.show(found)); acknowledged: \(Self.show(expected))")
            }
        }
        return settled
    }

    /// Each counter: at least its acknowledged increments, at most those plus the increments in
    /// flight; at exactly the acknowledged count, the version of the newest acknowledged one.
    mutating func verifyCounters() async throws(EngramClientError) {
        let present = try await scanAll(namespace: LoadShape.namespace, prefix: "counter/")
        for index in 0..<LoadShape.counterCount {
            let counter = LoadShape.counter(index)
            let acknowledged = state.counters[counter] ?? CounterEntry(acknowledged: 0, version: 0)
            let inFlightCount = state.uncertain.values.filter { if case .increment(counter, _) = $0 { true } else { false } }.count
            guard let found = present[counter] else {
                if acknowledged.acknowledged > 0 { lost("\(counter) is gone; \(acknowledged.acknowledged) increments were acknowledged") }
                continue
            }
            guard let count = LoadWriter.count(of: found.value, counter: counter) else {
                unexpected("\(counter) holds \(Self.show(found))")
                continue
            }
            if count < acknowledged.acknowledged {
                lost("\(counter) counts \(count) (version \(found.version)); \(acknowledged.acknowledged) increments were acknowledged")
            } else if count > acknowledged.acknowledged + inFlightCount {
                unexpected("\(counter) counts \(count); \(acknowledged.acknowledged) increments were acknowledged and \(inFlightCount) in flight")
            } else if count == acknowledged.acknowledged && found.version != acknowledged.version {
                lost("\(counter) counts \(count) at version \(found.version); its newest acknowledged increment made version \(acknowledged.version)")
            } else if found.version < acknowledged.version {
                lost("\(counter) has version \(found.version), below its acknowledged \(acknowledged.version)")
            } else {
                appliedInFlightCount += count - acknowledged.acknowledged
                state.counters[counter] = CounterEntry(acknowledged: count, version: found.version)
            }
        }
        for counter in Set(present.keys).subtracting((0..<LoadShape.counterCount).map(LoadShape.counter)).sorted() {
            unexpected("\(counter) exists; the load has no such counter")
        }
    }
}
