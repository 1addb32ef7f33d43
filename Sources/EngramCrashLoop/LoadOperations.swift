import EngramClient
import EngramProtocol

/// The kinds of write, each with what its value encodes so a check can tell one write from another.
extension LoadWriter {
    static let statuses = ["new", "contacted", "qualified", "won", "lost"]
    static let sources = ["web", "ads", "referral", "event"]

    /// A long-term put of one of the connection's keys; the value names the key and its per-key
    /// sequence number, then filler of a random length.
    mutating func put() async -> Outcome {
        let key = LoadShape.key(connection: connection, index: random.below(LoadShape.keysPerConnection))
        let sequence = (ledger.withLock { $0.values[key]?.sequence } ?? 0) + 1
        let value = Array("\(key) seq \(sequence) ".utf8) + random.filler(random.within(8...1_000))
        return await perform(.put(key: key, value: value, sequence: sequence)) { () async throws(EngramClientError) in
            try await client.put(namespace: LoadShape.namespace, key: Array(key.utf8), value: value, durability: .durable)
        } acknowledge: { version, ledger in
            ledger.values[key] = LongTermEntry(version: version, value: value, sequence: sequence)
            ledger.acknowledged.puts += 1
        }
    }

    /// Reads a shared counter, then sets it one higher by compare-and-set on the version read.
    /// A conflict (another connection got there first) is a refusal and counts nothing.
    mutating func increment() async -> Outcome {
        let counter = LoadShape.counter(random.below(LoadShape.counterCount))
        let client = self.client
        guard let current = await read({ () async throws(EngramClientError) in
            try await client.get(namespace: LoadShape.namespace, key: Array(counter.utf8))
        }) else { return .stopped }
        let count: Int
        if let current {
            guard let parsed = Self.count(of: current.value, counter: counter) else {
                problem("\(counter) holds \"\(String(decoding: current.value, as: UTF8.self))\"")
                return .stopped
            }
            count = parsed
        } else {
            count = 0
        }
        let value = Self.counterValue(counter, count + 1)
        return await perform(.increment(counter: counter, count: count + 1), conflictIsRefusal: true) { () async throws(EngramClientError) in
            try await client.compareAndSet(namespace: LoadShape.namespace, key: Array(counter.utf8), expectedVersion: current?.version ?? 0, value: value, durability: .durable)
        } acknowledge: { version, ledger in
            let previous = ledger.counters[counter] ?? CounterEntry(acknowledged: 0, version: 0)
            ledger.counters[counter] = CounterEntry(acknowledged: previous.acknowledged + 1, version: max(previous.version, version))
            ledger.acknowledged.counterIncrements += 1
        }
    }

    static func counterValue(_ counter: String, _ count: Int) -> [UInt8] {
        Array("\(counter) count \(count)".utf8)
    }

    /// The count a counter's value encodes; nil if it is not one of this counter's values.
    static func count(of value: [UInt8], counter: String) -> Int? {
        let text = String(decoding: value, as: UTF8.self)
        let prefix = "\(counter) count "
        guard text.hasPrefix(prefix), let count = Int(text.dropFirst(prefix.count)), count > 0 else { return nil }
        return count
    }

    /// An episode for the connection's agent; several connections share each agent.
    mutating func append() async -> Outcome {
        let agent = LoadShape.agent(connection % LoadShape.agentCount)
        let body = Array("\(agent) c\(connection) r\(round) n\(operationCount) ".utf8) + random.filler(random.within(16...240))
        let episode = WireNewEpisode(agent: agent, kind: LoadShape.episodeKind, body: body)
        return await perform(.append(agent: agent, body: body)) { () async throws(EngramClientError) in
            try await client.append(namespace: LoadShape.namespace, episode: episode, durability: .durable)
        } acknowledge: { receipt, ledger in
            let known = ledger.episodes[agent, default: AgentEpisodes()]
            if receipt.sequence <= UInt64(known.verified.count) || known.acknowledged[receipt.sequence] != nil {
                ledger.problems.append("round \(round): \(agent) sequence \(receipt.sequence) was acknowledged twice")
            }
            ledger.episodes[agent, default: AgentEpisodes()].acknowledged[receipt.sequence] = WireEpisode(position: receipt.position, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, agent: agent, kind: LoadShape.episodeKind, body: body)
            ledger.acknowledged.episodeAppends += 1
        }
    }

    /// A metric append of 1 to 4 events on the connection's campaign.
    mutating func metricAppend() async -> Outcome {
        let campaign = self.campaign
        let events = (0..<random.within(1...LoadShape.eventsPerAppendMax)).map { _ in
            let sent = random.within(10...1_000)
            let opened = random.within(0...sent / 2)
            let clicked = random.within(0...opened)
            let converted = random.within(0...clicked)
            let time = LoadShape.eventTimeBaseMicroseconds + Int64(random.below(LoadShape.eventHours)) * WireMetricEvent.hourMicroseconds + Int64(random.below(3_600_000_000))
            return WireMetricEvent(campaignID: campaign, timeMicroseconds: time, sent: UInt32(sent), opened: UInt32(opened), clicked: UInt32(clicked), converted: UInt32(converted))
        }
        return await perform(.metrics(campaign: campaign, events: events)) { () async throws(EngramClientError) in
            try await client.metricAppend(namespace: LoadShape.namespace, events: events, durability: .durable)
        } acknowledge: { _, ledger in
            ledger.campaigns[campaign]?.add(events)
            ledger.acknowledged.metricAppends += 1
            ledger.acknowledged.metricEvents += events.count
        }
    }
}
