/// Position-order scans of a namespace (the export, consolidation, followers) and the verify pass.
extension EpisodicBlockReader {
    /// Records of `namespace` at or after `start` that `keep` accepts, in position order: at most
    /// `countMax`, examining about `examinedBytesMax` raw bytes before it returns a page so a
    /// sparse filter cannot make one call unbounded.
    mutating func scan(namespace: [UInt8], from start: UInt64, countMax: Int, examinedBytesMax: Int, keep: (EpisodeRecordView) -> Bool) throws(EngramError) -> EpisodeScanPage {
        let state = try log.readState(transaction, log.table)
        let end = state.nextPosition
        guard start < end else { return EpisodeScanPage(episodes: [], nextPosition: max(start, 1), isAtEnd: true) }
        let table = log.table
        return try transaction.withCursor(table) { (cursor) throws(EngramError) -> EpisodeScanPage in
            let startKey = EpisodicKey.numbered(EpisodicKey.block, start)
            var entry = try startKey.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            if entry.map({ !$0.key.elementsEqual(startKey) }) ?? true {
                let before = entry == nil ? try cursor.last() : try cursor.previous()
                if let before, before.key.count == 9, before.key[0] == EpisodicKey.block {
                    entry = before
                } else if entry != nil {
                    entry = try cursor.next()
                }
            }
            var episodes: [Episode] = []
            var examined = 0
            var nextPosition = start
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.block {
                var full = false
                try visitBlock(EpisodicKey.number(of: current.key)) { (record) throws(EngramError) -> Bool in
                    guard record.position >= start else { return true }
                    if record.namespace.elementsEqual(namespace) && keep(record) {
                        if episodes.count == countMax {
                            full = true
                            return false
                        }
                        episodes.append(Episode(record))
                    }
                    examined += record.record.count
                    nextPosition = record.position + 1
                    return true
                }
                if full { return EpisodeScanPage(episodes: episodes, nextPosition: nextPosition, isAtEnd: false) }
                if examined >= examinedBytesMax && nextPosition < end {
                    return EpisodeScanPage(episodes: episodes, nextPosition: nextPosition, isAtEnd: false)
                }
                entry = try cursor.next()
            }
            return EpisodeScanPage(episodes: episodes, nextPosition: end, isAtEnd: true)
        }
    }

    /// Reads every block from its file or pieces; returns one error per damaged block.
    mutating func verifyAll() throws(EngramError) -> [EngramError] {
        var damage: [EngramError] = []
        let table = log.table
        var addresses: [UInt64] = []
        try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var entry = try EpisodicKey.numbered(EpisodicKey.block, 0).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.block {
                addresses.append(EpisodicKey.number(of: current.key))
                entry = try cursor.next()
            }
        }
        for address in addresses {
            do throws(EngramError) {
                try visitBlock(address) { _ in true }
            } catch {
                if error.code != .corrupt { throw error }
                damage.append(error)
            }
        }
        return damage
    }
}

extension EngramStore {
    /// The episodes of `namespace` from `position` on, in position order, at most `limit` (capped by
    /// `Limits.episodeReadCountMax`). Pass the page's `nextPosition` to continue; `isAtEnd` says
    /// the page reached the newest committed episode. For the export and consolidation.
    public func scanEpisodes(namespace: Namespace, from position: UInt64 = 1, limit: Int) throws(EngramError) -> EpisodeScanPage {
        try scanEpisodes(namespace: namespace, from: position, limit: limit) { _ in true }
    }

    func scanEpisodes(namespace: Namespace, from position: UInt64, limit: Int, keep: (EpisodeRecordView) -> Bool) throws(EngramError) -> EpisodeScanPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a scan limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.episodeReadCountMax)
        let examinedBytesMax = limits.scanBytesMax
        let log = writer.episodicLog
        return try read { (transaction) throws(EngramError) -> EpisodeScanPage in
            var reader = EpisodicBlockReader(log: log, transaction: transaction)
            switch try episodeVisibility(namespace, in: transaction) {
            case .all: break
            case .hiding(let hidden): reader.hiddenLeads = hidden
            case .none:
                // Being erased: nothing to show, and nothing to wait for before the log's end.
                let end = try log.readState(transaction, log.table).nextPosition
                return EpisodeScanPage(episodes: [], nextPosition: max(position, end), isAtEnd: true)
            }
            return try reader.scan(namespace: namespace.bytes, from: position, countMax: countMax, examinedBytesMax: examinedBytesMax, keep: keep)
        }
    }

    /// The position the next appended episode will get: every episode below it has committed.
    public var episodicNextPosition: UInt64 { writer.episodicLog.committedNextPosition }

    /// Reads every episodic block and returns one `.corrupt` error (file, offset, reason) per
    /// damaged block; an empty list means every block checks out. Reads on the caller's thread.
    public func verifyEpisodes() throws(EngramError) -> [EngramError] {
        let log = writer.episodicLog
        return try read { (transaction) throws(EngramError) -> [EngramError] in
            var reader = EpisodicBlockReader(log: log, transaction: transaction)
            return try reader.verifyAll()
        }
    }
}
