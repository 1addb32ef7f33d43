/// Range reads for one agent (docs/EPISODIC.md, "Reading"): walk the agent's sparse index entries,
/// visit only the blocks they name, keep the agent's records in range.
extension EpisodicBlockReader {
    mutating func agentRange(namespace: [UInt8], agent: [UInt8], range: EpisodeRange, order: EpisodeOrder, countMax: Int, bytesMax: Int) throws(EngramError) -> EpisodePage {
        let useTime = range.usesTimeIndex
        let prefix = namespace.withUnsafeBytes { name in
            agent.withUnsafeBytes { agent in EpisodicKey.agentPrefix(useTime ? EpisodicKey.timeIndex : EpisodicKey.sequenceIndex, namespace: name, agent: agent).bytes }
        }
        func key(sequence: UInt64, time: Int64) -> [UInt8] {
            var writer = ByteWriter(capacity: prefix.count + 16)
            writer.write(contentsOf: prefix)
            if useTime { writer.writeBigEndian(EpisodicKey.orderedBits(time)) }
            writer.writeBigEndian(sequence)
            return writer.bytes
        }
        let table = log.table
        return try transaction.withCursor(table) { (cursor) throws(EngramError) -> EpisodePage in
            switch order {
            case .oldestFirst:
                let start = key(sequence: useTime ? 0 : range.sequences.lowerBound, time: range.time.lowerBound)
                let entry = try Self.entryAtOrBefore(start, prefix: prefix, cursor: cursor, exactOnly: false)
                return try oldestFirst(from: entry, prefix: prefix, useTime: useTime, namespace: namespace, agent: agent, range: range, cursor: cursor, countMax: countMax, bytesMax: bytesMax)
            case .newestFirst:
                let start = key(sequence: range.sequences.upperBound, time: range.time.upperBound)
                let entry = try Self.entryAtOrBefore(start, prefix: prefix, cursor: cursor, exactOnly: true)
                return try newestFirst(from: entry, prefix: prefix, useTime: useTime, namespace: namespace, agent: agent, range: range, cursor: cursor, countMax: countMax, bytesMax: bytesMax)
            }
        }
    }

    /// The index entry whose block may hold `key`'s record: the entry at `key`, else the one
    /// before it if it has the agent's prefix. For the oldest-first walk, when no entry comes
    /// before, the first entry after `key` is the start (`exactOnly` false).
    private static func entryAtOrBefore(_ key: [UInt8], prefix: [UInt8], cursor: StoreCursor, exactOnly: Bool) throws(EngramError) -> StoreCursor.Entry? {
        let found = try key.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
        if let found, found.key.elementsEqual(key) { return found }
        let before = found == nil ? try cursor.last() : try cursor.previous()
        if let before, before.key.starts(with: prefix) { return before }
        if exactOnly { return nil }
        if found == nil { return nil }
        let after = before == nil ? try cursor.first() : try cursor.next()
        if let after, after.key.starts(with: prefix) { return after }
        return nil
    }

    /// The first sequence (and, in the time index, timestamp) an index entry's key names.
    private static func entryStart(_ key: UnsafeRawBufferPointer, prefixBytes: Int, useTime: Bool) -> (sequence: UInt64, time: Int64) {
        if useTime {
            let time = EpisodicKey.timestamp(fromOrderedBits: UInt64(bigEndian: key.loadUnaligned(fromByteOffset: prefixBytes, as: UInt64.self)))
            return (UInt64(bigEndian: key.loadUnaligned(fromByteOffset: prefixBytes + 8, as: UInt64.self)), time)
        }
        return (UInt64(bigEndian: key.loadUnaligned(fromByteOffset: prefixBytes, as: UInt64.self)), .min)
    }

    private static func address(_ value: UnsafeRawBufferPointer) throws(EngramError) -> UInt64 {
        guard value.count == 8 else { throw EngramError(.corrupt, "an episodic index entry of \(value.count) bytes, expected 8") }
        return UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))
    }

    private mutating func oldestFirst(from first: StoreCursor.Entry?, prefix: [UInt8], useTime: Bool, namespace: [UInt8], agent: [UInt8], range: EpisodeRange, cursor: StoreCursor, countMax: Int, bytesMax: Int) throws(EngramError) -> EpisodePage {
        var episodes: [Episode] = []
        var bytes = 0
        var more = false
        var entry = first
        while let current = entry, current.key.starts(with: prefix), !more {
            let start = Self.entryStart(current.key, prefixBytes: prefix.count, useTime: useTime)
            if start.sequence > range.sequences.upperBound || start.time > range.time.upperBound { break }
            var past = false
            try visitBlock(try Self.address(current.value)) { (record) throws(EngramError) -> Bool in
                guard record.belongs(namespace: namespace, agent: agent) else { return true }
                if record.sequence > range.sequences.upperBound || record.timestampMicroseconds > range.time.upperBound {
                    past = true
                    return false
                }
                guard range.contains(sequence: record.sequence, timestampMicroseconds: record.timestampMicroseconds) else { return true }
                if episodes.count == countMax || (!episodes.isEmpty && bytes + record.pageBytes > bytesMax) {
                    more = true
                    return false
                }
                episodes.append(Episode(record))
                bytes += record.pageBytes
                return true
            }
            if past { break }
            entry = try cursor.next()
        }
        guard more, let last = episodes.last, last.sequence < range.sequences.upperBound else {
            return EpisodePage(episodes: episodes, next: nil)
        }
        return EpisodePage(episodes: episodes, next: EpisodeRange(sequences: (last.sequence + 1)...range.sequences.upperBound, time: range.time))
    }

    private mutating func newestFirst(from first: StoreCursor.Entry?, prefix: [UInt8], useTime: Bool, namespace: [UInt8], agent: [UInt8], range: EpisodeRange, cursor: StoreCursor, countMax: Int, bytesMax: Int) throws(EngramError) -> EpisodePage {
        var episodes: [Episode] = []
        var bytes = 0
        var more = false
        var entry = first
        var inBlock: [Episode] = []
        while let current = entry, current.key.starts(with: prefix), !more {
            let start = Self.entryStart(current.key, prefixBytes: prefix.count, useTime: useTime)
            inBlock.removeAll(keepingCapacity: true)
            try visitBlock(try Self.address(current.value)) { (record) throws(EngramError) -> Bool in
                guard record.belongs(namespace: namespace, agent: agent) else { return true }
                if record.sequence > range.sequences.upperBound || record.timestampMicroseconds > range.time.upperBound { return false }
                if range.contains(sequence: record.sequence, timestampMicroseconds: record.timestampMicroseconds) {
                    inBlock.append(Episode(record))
                }
                return true
            }
            for episode in inBlock.reversed() {
                let episodeBytes = EpisodicFormat.recordHeaderBytes + namespace.count + agent.count + episode.body.count
                if episodes.count == countMax || (!episodes.isEmpty && bytes + episodeBytes > bytesMax) {
                    more = true
                    break
                }
                episodes.append(episode)
                bytes += episodeBytes
            }
            // Earlier blocks hold only earlier sequences and times no later than this one's start.
            if start.sequence <= range.sequences.lowerBound || (useTime && start.time < range.time.lowerBound) { break }
            entry = try cursor.previous()
        }
        guard more, let last = episodes.last, last.sequence > range.sequences.lowerBound else {
            return EpisodePage(episodes: episodes, next: nil)
        }
        return EpisodePage(episodes: episodes, next: EpisodeRange(sequences: range.sequences.lowerBound...(last.sequence - 1), time: range.time))
    }
}

extension EngramStore {
    /// The episodes of `agent` in `namespace` within `range`, oldest or newest first: at most
    /// `limit` (capped by `Limits.episodeReadCountMax`) and about `Limits.scanBytesMax` bytes.
    /// Reads only the blocks that hold the agent's episodes. Runs on the caller's thread in one
    /// LMDB read transaction; never waits for the writer. Throws `.corrupt` naming the segment file
    /// and block offset if a block it needs is damaged.
    public func episodes(namespace: Namespace, agent: String, range: EpisodeRange = .all, order: EpisodeOrder = .oldestFirst, limit: Int) throws(EngramError) -> EpisodePage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let agentBytes = try EpisodicValidation.agentBytes(agent, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a read limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.episodeReadCountMax)
        let bytesMax = limits.scanBytesMax
        let log = writer.episodicLog
        return try read { (transaction) throws(EngramError) -> EpisodePage in
            var reader = EpisodicBlockReader(log: log, transaction: transaction)
            switch try episodeVisibility(namespace, in: transaction) {
            case .all: break
            case .hiding(let hidden): reader.hiddenLeads = hidden
            case .none: return EpisodePage(episodes: [], next: nil)
            }
            return try reader.agentRange(namespace: namespace.bytes, agent: agentBytes, range: range, order: order, countMax: countMax, bytesMax: bytesMax)
        }
    }
}
