import EngramClient
import EngramProtocol

/// Leads (each owned by the connection that inserted it) and the scratch namespace (connection 0's).
extension LoadWriter {
    /// Inserts a lead while the connection has fewer than its maximum (at random), updates one of
    /// its leads otherwise, and erases one at `leadEraseAt`.
    mutating func leadOperation() async -> Outcome {
        let connection = self.connection
        let owned = ledger.withLock { ledger in
            ledger.leads.values.filter { $0.owner == connection }.map(\.lead).sorted { $0.id < $1.id }
        }
        if leadOperationCount == leadEraseAt, !owned.isEmpty {
            return await eraseLead(owned[random.below(owned.count)])
        }
        if owned.isEmpty || (owned.count < LoadShape.leadsPerConnectionMax && random.percent(LoadShape.newLeadPercent)) {
            return await insertLead()
        }
        return await updateLead(owned[random.below(owned.count)])
    }

    /// A unique tag for this operation: emails built from it are never used twice.
    var tag: String { "r\(round)-c\(connection)-n\(operationCount)" }

    mutating func insertLead() async -> Outcome {
        let id = WireUUID(bytes: (0..<2).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } })
        let lead = WireLead(id: id, email: "lead-\(tag)@crash.example", name: "Lead \(tag)", company: "Company \(random.below(50))", source: Self.sources[random.below(Self.sources.count)], score: UInt8(random.below(101)), status: Self.statuses[random.below(Self.statuses.count)], metadata: Array("{\"tag\":\"\(tag)\",\"n\":\(random.below(1_000))}".utf8))
        return await upsert(lead, isNew: true, replacing: nil)
    }

    mutating func updateLead(_ current: WireLead) async -> Outcome {
        var lead = current
        lead.version = 0
        lead.updatedAtMicroseconds = 0
        lead.createdAtMicroseconds = WireLead.createdAtUnset
        lead.score = UInt8(random.below(101))
        lead.status = Self.statuses[random.below(Self.statuses.count)]
        lead.metadata = Array("{\"tag\":\"\(tag)\",\"n\":\(random.below(1_000))}".utf8)
        if random.percent(LoadShape.emailChangePercent) { lead.email = "lead-\(tag)@crash.example" }
        return await upsert(lead, isNew: false, replacing: current)
    }

    private func upsert(_ lead: WireLead, isNew: Bool, replacing current: WireLead?) async -> Outcome {
        let connection = self.connection
        let round = self.round
        return await perform(.leadUpsert(lead, isNew: isNew)) { () async throws(EngramClientError) in
            try await client.leadUpsert(namespace: LoadShape.namespace, lead: lead, durability: .durable)
        } acknowledge: { stored, ledger in
            if !Self.isStored(lead, as: stored, after: current) {
                ledger.problems.append("round \(round), connection \(connection): lead \(lead.id) was stored as \(stored), sent \(lead)")
            }
            if let current, current.email != stored.email { ledger.retiredEmails.append(current.email) }
            ledger.leads[stored.id] = LeadEntry(owner: connection, lead: stored)
            if isNew { ledger.acknowledged.leadInserts += 1 } else { ledger.acknowledged.leadUpdates += 1 }
        }
    }

    /// Whether `stored` is `sent` as the server keeps it: every field the client gave, a version
    /// above the previous one, and the creation time of the first upsert.
    static func isStored(_ sent: WireLead, as stored: WireLead, after previous: WireLead?) -> Bool {
        guard stored.id == sent.id, stored.email == sent.email, stored.name == sent.name, stored.company == sent.company,
              stored.source == sent.source, stored.category == sent.category, stored.status == sent.status,
              stored.score == sent.score, stored.metadata == sent.metadata, stored.version > (previous?.version ?? 0) else { return false }
        if let previous { return stored.createdAtMicroseconds == previous.createdAtMicroseconds }
        return true
    }

    private func eraseLead(_ lead: WireLead) async -> Outcome {
        let connection = self.connection
        let round = self.round
        return await perform(.leadErase(lead.id)) { () async throws(EngramClientError) in
            try await client.eraseLead(namespace: LoadShape.namespace, id: lead.id)
        } acknowledge: { report, ledger in
            if report.deletedLeadRecordCount != 1 || !report.isComplete {
                ledger.problems.append("round \(round), connection \(connection): the erase of lead \(lead.id) answered \(report)")
            }
            ledger.leads[lead.id] = nil
            ledger.erasedLeads[lead.id] = lead.email
            ledger.acknowledged.leadErases += 1
        }
    }

    /// Connection 0's share of the scratch namespace: puts and appends, and an erase of the whole
    /// namespace at `scratchEraseAt`.
    mutating func scratchOperation() async -> Outcome {
        let round = self.round
        if scratchOperationCount == scratchEraseAt {
            return await perform(.scratchErase) { () async throws(EngramClientError) in
                try await client.eraseNamespace(LoadShape.scratchNamespace)
            } acknowledge: { report, ledger in
                if !report.isComplete { ledger.problems.append("round \(round): the scratch namespace's erase answered \(report)") }
                ledger.scratch = ScratchState()
                ledger.acknowledged.namespaceErases += 1
            }
        }
        if random.percent(50) {
            let key = "s/k\(random.below(LoadShape.scratchKeyCount))"
            let sequence = (ledger.withLock { $0.scratch.values[key]?.sequence } ?? 0) + 1
            let value = Array("\(key) seq \(sequence) ".utf8) + random.filler(random.within(8...400))
            return await perform(.scratchPut(key: key, value: value, sequence: sequence)) { () async throws(EngramClientError) in
                try await client.put(namespace: LoadShape.scratchNamespace, key: Array(key.utf8), value: value, durability: .durable)
            } acknowledge: { version, ledger in
                ledger.scratch.values[key] = LongTermEntry(version: version, value: value, sequence: sequence)
                ledger.acknowledged.scratchPuts += 1
            }
        }
        let body = Array("scratch r\(round) n\(operationCount) ".utf8) + random.filler(random.within(16...200))
        let episode = WireNewEpisode(agent: LoadShape.scratchAgent, kind: LoadShape.episodeKind, body: body)
        return await perform(.scratchAppend(body: body)) { () async throws(EngramClientError) in
            try await client.append(namespace: LoadShape.scratchNamespace, episode: episode, durability: .durable)
        } acknowledge: { receipt, ledger in
            // One writer: the sequences it is given follow each other.
            if receipt.sequence != UInt64(ledger.scratch.episodes.count + 1) {
                ledger.problems.append("round \(round): the scratch agent's append got sequence \(receipt.sequence) after \(ledger.scratch.episodes.count) episodes")
            }
            ledger.scratch.episodes.acknowledged[receipt.sequence] = WireEpisode(position: receipt.position, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, agent: LoadShape.scratchAgent, kind: LoadShape.episodeKind, body: body)
            ledger.acknowledged.scratchAppends += 1
        }
    }
}
