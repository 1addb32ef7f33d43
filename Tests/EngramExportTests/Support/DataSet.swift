import Dispatch
import EngramStorage
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A deterministic generator (SplitMix64), so a failure replays.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    mutating func uuid() -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 { bytes[index] = UInt8(truncatingIfNeeded: next()) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}

/// The generated data of the export tests: leads over the last 90 days, campaigns with metric
/// events, long-term values, semantic facts and episodes. Texts and JSON include what COPY must
/// escape (backslashes, tabs and newlines between JSON tokens, quotes, non-ASCII), and empty
/// optional texts (exported as NULL).
struct DataSet {
    static let hour: Int64 = 3_600_000_000
    static let day: Int64 = 24 * hour
    /// JSON texts the leads carry; some have whitespace COPY escapes, one has none at all.
    static let metadata: [[UInt8]] = [
        Array("{\"utm_source\": \"google\", \"pages\": 3}".utf8),
        Array("{\n\t\"path\": \"C:\\\\temp\\\\new\",\r\n\t\"tags\": [\"a\", \"b\"]\n}".utf8),
        Array("{\"name\": \"Zoë \\\"Z\\\" Ågren\", \"score\": 9.5e1}".utf8),
        [],
        Array("[1, 2, {\"deep\": [null, true, false]}]".utf8),
    ]
    static let statuses = ["new", "contacted", "qualified", "converted", "lost"]
    static let sources = ["web", "ads", "referral", "event", ""]

    let namespace: Namespace
    let now: Int64
    var random: SplitMix64
    var leadIDs: [UUID] = []
    var campaignIDs: [UUID] = []
    var longTermKeys: [[UInt8]] = []
    var factIDs: [UUID] = []
    var nextLeadNumber = 0

    init(namespace: Namespace, now: Int64, seed: UInt64 = 42) {
        self.namespace = namespace
        self.now = now
        self.random = SplitMix64(seed: seed)
    }

    /// A created-at in the 90 days before `now`, never within ten minutes of `now - 24 h`, so
    /// "created in the last 24 hours" has the same answer a few seconds later.
    mutating func createdAt() -> Int64 {
        while true {
            let created = now - Int64(random.next() % UInt64(90 * Self.day))
            if abs(created - (now - Self.day)) > 10 * 60_000_000 { return created }
        }
    }

    mutating func lead(id: UUID? = nil, createdAt: Int64? = nil) -> LeadUpsert {
        let number = nextLeadNumber
        nextLeadNumber += 1
        let name = number % 7 == 0 ? "" : "Lead \\ \(number) \"quoted\""
        return LeadUpsert(namespace: namespace, id: id ?? random.uuid(), email: "Lead\(number)@Example.com", name: name,
                          company: number % 5 == 0 ? "" : "Société \(number % 100)", source: Self.sources[Int(random.next() % 5)],
                          category: ["b2b", "b2c", ""][Int(random.next() % 3)], score: Int(random.next() % 101),
                          status: Self.statuses[Int(random.next() % 5)], metadata: Self.metadata[number % Self.metadata.count],
                          createdAtMicroseconds: createdAt ?? self.createdAt())
    }

    /// Writes `leadCount` leads, `campaignCount` campaigns with `eventsPerCampaign` metric events
    /// each, long-term values, semantic facts and episodes.
    mutating func write(to store: EngramStore, leadCount: Int, campaignCount: Int = 100, eventsPerCampaign: Int = 20, memoryCount: Int = 300, episodeCount: Int = 3_000) async throws {
        var leads: [LeadUpsert] = []
        for _ in 0..<leadCount { leads.append(lead()) }
        leadIDs += leads.map(\.id)
        try await Self.writeAll(leads, to: store)
        var campaigns: [CampaignUpsert] = []
        for number in 0..<campaignCount {
            campaigns.append(CampaignUpsert(namespace: namespace, id: random.uuid(), name: "Campaign \(number) 'spring'", type: ["email", "social", "ads"][number % 3],
                                            status: CampaignStatus.allCases[number % 4], budgetCents: Int64(random.next() % 10_000_000),
                                            createdAtMicroseconds: now - Int64(number) * Self.hour))
        }
        campaignIDs += campaigns.map(\.id)
        try await Self.writeAll(campaigns, to: store)
        var appends: [CampaignMetricAppend] = []
        for (index, id) in campaigns.map(\.id).enumerated() where index % 10 != 9 {  // some campaigns have no events
            let events = (0..<eventsPerCampaign).map { event in
                let sent = UInt32(random.next() % 10_000)
                return CampaignMetricEvent(campaignID: id, timeMicroseconds: now - Int64(event) * Self.hour - Int64(random.next() % UInt64(Self.hour)),
                                           sent: sent, opened: sent / 3, clicked: sent / 11, converted: sent / 97)
            }
            appends.append(CampaignMetricAppend(namespace: namespace, events: events))
        }
        try await Self.writeAll(appends, to: store)
        try await writeMemories(to: store, count: memoryCount)
        try await writeEpisodes(to: store, count: episodeCount)
    }

    mutating func writeMemories(to store: EngramStore, count: Int) async throws {
        var puts: [LongTermPut] = []
        for number in 0..<count {
            let key = number % 10 == 0 ? [0xFF, 0x00, UInt8(number % 256)] : Array("profile:\(number)".utf8)
            let value = number % 3 == 0 ? (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ number) } : Array("likes \\ tabs\there \(number)".utf8)
            puts.append(LongTermPut(namespace: namespace, key: key, value: value))
            longTermKeys.append(key)
        }
        try await Self.writeAll(puts, to: store)
        var facts: [SemanticPut] = []
        for number in 0..<count {
            let id = random.uuid()
            let vector: [Float]? = number % 4 == 0 ? nil : [0.5, -1, Float(number) / 3, 1e-7]
            facts.append(SemanticPut(namespace: namespace, fact: SemanticFact(id: id, tags: number % 5 == 0 ? [] : ["lead", "tag \"\(number % 3)\"", "back\\slash"],
                                                                              body: Array("fact \(number)\nline two".utf8), vector: vector)))
            factIDs.append(id)
        }
        try await Self.writeAll(facts, to: store)
    }

    mutating func writeEpisodes(to store: EngramStore, count: Int) async throws {
        var batch: [NewEpisode] = []
        for number in 0..<count {
            let lead = leadIDs.isEmpty ? nil : leadIDs[Int(random.next() % UInt64(leadIDs.count))]
            let campaign = number % 3 == 0 || campaignIDs.isEmpty ? nil : campaignIDs[number % campaignIDs.count]
            batch.append(NewEpisode(agent: "agent-\(number % 7)", kind: UInt16(number % 12), lead: lead, campaign: campaign, body: Array("{\"n\":\(number)}\t\\".utf8)))
            if batch.count == 500 {
                _ = try await store.write(EpisodeAppend(namespace: namespace, episodes: batch), durability: .applied)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { _ = try await store.write(EpisodeAppend(namespace: namespace, episodes: batch), durability: .applied) }
    }

    /// Applies `commands` in order, keeping up to `window` of them queued on the writer at once so
    /// it commits full batches: one submit and one completion a command, no task or continuation
    /// each (100,000 leads in a debug build took several times longer through `write`).
    static func writeAll<Command: WriteCommand>(_ commands: [Command], to store: EngramStore, window: Int = 2_048) async throws {
        let inFlight = DispatchSemaphore(value: window)
        let done = DispatchGroup()
        let firstFailure = Mutex<EngramError?>(nil)
        let completion: @Sendable (Result<Command.Outcome, EngramError>) -> Void = { result in
            if case .failure(let error) = result { firstFailure.withLock { $0 = $0 ?? error } }
            inFlight.signal()
            done.leave()
        }
        for command in commands {
            inFlight.wait()
            done.enter()
            while let rejection = submit(command, store, completion) {
                guard rejection.code == .busy else { throw rejection }
                usleep(1_000)
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            done.notify(queue: .global()) { continuation.resume() }
        }
        if let failure = firstFailure.withLock({ $0 }) { throw failure }
    }

    /// Submits one command; returns the error that refused it, if any.
    private static func submit<Command: WriteCommand>(_ command: Command, _ store: EngramStore, _ completion: @escaping @Sendable (Result<Command.Outcome, EngramError>) -> Void) -> EngramError? {
        do {
            try store.submit(command, durability: .applied, completion: completion)
            return nil
        } catch {
            return error
        }
    }
}
