/// Appends episodes to a namespace, in order, as one unit: all are applied or none.
///
/// The outcome lists, for each episode in the order given, the sequence, timestamp and position
/// the store gave it. docs/EPISODIC.md ("Appending") describes what happens on the writer thread.
public struct EpisodeAppend: WriteCommand {
    public let namespace: Namespace
    public let episodes: [NewEpisode]

    public init(namespace: Namespace, episodes: [NewEpisode]) {
        self.namespace = namespace
        self.episodes = episodes
    }

    /// The records' bytes plus the operation's framing: exactly what the log record carries.
    public var payloadByteCount: Int {
        episodes.reduce(EpisodeAppendOperation.framingBytes) { total, episode in
            total + EpisodeRecord.byteCount(namespaceBytes: namespace.bytes.count, agentBytes: episode.agent.utf8.count, hasLead: episode.lead != nil, hasCampaign: episode.campaign != nil, bodyBytes: episode.body.count)
        }
    }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard !episodes.isEmpty else { throw EngramError(.invalidArgument, "an episode append needs at least one episode") }
        guard episodes.count <= limits.episodeAppendCountMax else {
            throw EngramError(.valueTooLarge, "\(episodes.count) episodes in one append exceed episodeAppendCountMax \(limits.episodeAppendCountMax)")
        }
        for episode in episodes {
            _ = try EpisodicValidation.agentBytes(episode.agent, limits: limits)
            guard episode.body.count <= limits.episodeBodyBytesMax else {
                throw EngramError(.valueTooLarge, "episode body of \(episode.body.count) bytes exceeds episodeBodyBytesMax \(limits.episodeBodyBytesMax)")
            }
        }
        guard payloadByteCount <= limits.batchBytesMax else {
            throw EngramError(.valueTooLarge, "an append of \(payloadByteCount) bytes exceeds batchBytesMax \(limits.batchBytesMax)")
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> [EpisodeReceipt] {
        let log = context.episodicLog
        let state = try log.readState(context.transaction, context.tables.episodic)
        var agents: [[UInt8]: EpisodicAgentRow] = [:]
        var receipts: [EpisodeReceipt] = []
        receipts.reserveCapacity(episodes.count)
        var records = ByteWriter(capacity: payloadByteCount)
        for (index, episode) in episodes.enumerated() {
            let agent = Array(episode.agent.utf8)
            var row: EpisodicAgentRow
            if let known = agents[agent] {
                row = known
            } else {
                row = try log.readAgent(namespace: namespace.bytes, agent: agent, in: context.transaction, context.tables.episodic) ?? EpisodicAgentRow()
            }
            let receipt = EpisodeReceipt(
                sequence: row.lastSequence + 1,
                timestampMicroseconds: max(context.batchTimeMicroseconds, row.lastTimestamp),
                position: state.nextPosition + UInt64(index))
            EpisodeRecord.encode(
                position: receipt.position, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds,
                kind: episode.kind, namespace: namespace.bytes, agent: agent, lead: episode.lead,
                campaign: episode.campaign, body: episode.body, into: &records)
            row.lastSequence = receipt.sequence
            row.lastTimestamp = receipt.timestampMicroseconds
            agents[agent] = row
            receipts.append(receipt)
        }
        try context.apply(EpisodeAppendOperation(recordCount: episodes.count, records: records.bytes))
        return receipts
    }
}

/// Logged change: these records, fully numbered, join the log (docs/EPISODIC.md, "Appending").
///
/// `[u32 recordCount][u32 byteCount][records]`, the records exactly as they go into a block.
struct EpisodeAppendOperation: RedoOperation {
    static let opcode = RedoOpcode.episodeAppend
    static let framingBytes = 8
    let recordCount: Int
    let records: [UInt8]

    func encode(into writer: inout ByteWriter) {
        writer.write(UInt32(recordCount))
        writer.write(UInt32(records.count))
        writer.write(contentsOf: records)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodeAppendOperation {
        let count = Int(try reader.read(UInt32.self, "the record count"))
        let byteCount = Int(try reader.read(UInt32.self, "the records' byte count"))
        guard count > 0, count <= byteCount / EpisodicFormat.recordHeaderBytes else {
            throw reader.failure("\(count) episode records cannot fill \(byteCount) bytes")
        }
        return EpisodeAppendOperation(recordCount: count, records: try reader.readBytes(byteCount, "the episode records"))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        try records.withBytes { (bytes) throws(EngramError) in
            try context.episodicLog.append(bytes, recordCount: recordCount, in: &context)
        }
    }
}
