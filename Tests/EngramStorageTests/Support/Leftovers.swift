@testable import EngramStorage
import FoundationEssentials

/// Looks for bytes an erase must have removed, everywhere the store keeps data
/// (docs/LIFECYCLE.md, "What erase guarantees"). Each finding names where it is.
enum Leftovers {
    /// Every LMDB table the store has, with its name.
    static func tables(_ store: EngramStore) -> [LMDBDatabase] {
        let tables = store.tables
        return [tables.meta, tables.longTerm, tables.semantic, tables.episodic, tables.lifecycle.markers, tables.lifecycle.engagement] + tables.records.all
    }

    /// Keys and values of every table that contain `needle`.
    static func inLMDB(_ store: EngramStore, _ needle: [UInt8]) throws -> [String] {
        var found: [String] = []
        for table in tables(store) {
            try store.read { (transaction) throws(EngramError) in
                try transaction.withCursor(table) { (cursor) throws(EngramError) in
                    var entry = try cursor.first()
                    while let current = entry {
                        if contains(Array(current.key), needle) { found.append("\(table.name) key \(hex(Array(current.key)))") }
                        if contains(Array(current.value), needle) { found.append("\(table.name) value at key \(hex(Array(current.key)))") }
                        entry = try cursor.next()
                    }
                }
            }
        }
        return found
    }

    /// Episodic segment files holding `needle`: in any block's decompressed records (found through
    /// the block rows) or anywhere in the file's raw bytes.
    static func inSegments(_ store: EngramStore, _ directory: TemporaryDirectory, _ needle: [UInt8]) throws -> [String] {
        var found: [String] = []
        for name in try SegmentFiles.names(directory) {
            let file = try SegmentFiles.read(SegmentFiles.path(directory, name))
            if contains(file, needle) { found.append("\(name) raw bytes") }
        }
        let log = store.writer.episodicLog
        let rows = try store.read { (transaction) throws(EngramError) -> [(UInt64, EpisodicBlockRow, UInt32)] in
            let segments = try EpisodicLog.segmentRows(transaction, log.table)
            return try EpisodicRetentionPlan.blockRows(from: 0, below: .max, log: log, transaction: transaction).compactMap { block in
                guard !block.row.isOpen, block.row.recordCount > 0, let segment = segments[block.row.segment] else { return nil }
                return (block.address, block.row, segment.generation)
            }
        }
        var raw: [UInt8] = []
        for (address, row, generation) in rows {
            let path = log.path(segment: row.segment, generation: generation)
            let file = try SegmentFiles.read(path)
            let stored = Array(file[Int(row.offset)..<(Int(row.offset) + 32 + Int(row.storedBytes))])
            _ = try stored.withBytes { (bytes) throws(EngramError) in
                try EpisodicBlock.decode(bytes, file: path, offset: Int64(row.offset), rawBytesMax: store.limits.episodicBlockBytes, raw: &raw)
            }
            if contains(raw, needle) { found.append("block \(address) of segment \(row.segment)") }
        }
        return found
    }

    /// Files of the commit log's directory (segments and spares) holding `needle` in their raw
    /// bytes.
    static func inCommitLog(_ directory: TemporaryDirectory, _ needle: [UInt8]) throws -> [String] {
        try PosixFileSystem().contentsOfDirectory(directory.appending("log")).sorted().filter { name in
            contains(try SegmentFiles.read(directory.appending("log/" + name)), needle)
        }
    }

    /// The commit-log segments (spares, which hold no record, are not segments).
    static func commitLogNames(_ directory: TemporaryDirectory) throws -> [String] {
        try PosixFileSystem().contentsOfDirectory(directory.appending("log")).filter { CommitLogFormat.firstLSN(ofSegmentNamed: $0) != nil }.sorted()
    }

    /// Whether every spare of the commit log holds zeros only: after an erase, the spares made
    /// from segments are gone and new ones are written afresh.
    static func sparesAreZeros(_ directory: TemporaryDirectory) throws -> Bool {
        try PosixFileSystem().contentsOfDirectory(directory.appending("log")).filter { CommitLogFormat.spareNumber(ofFileNamed: $0) != nil }.allSatisfy { name in
            try SegmentFiles.read(directory.appending("log/" + name)).allSatisfy { $0 == 0 }
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBufferPointer { haystack in
            let first = needle[0]
            var index = 0
            while index <= haystack.count - needle.count {
                if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
                index += 1
            }
            return false
        }
    }
}

/// A model of the engagement fold: what `LeadEngagement.fold` must give, computed apart from the
/// store (docs/LIFECYCLE.md, "Event kinds").
struct EngagementModel {
    var summaries: [UUID: LeadEngagement] = [:]

    mutating func fold(_ episode: Episode) {
        guard let lead = episode.lead else { return }
        let kind = episode.kind
        guard (3...8).contains(kind) else { return }
        var summary = summaries[lead] ?? LeadEngagement()
        let isTouch = kind != 8
        if isTouch {
            summary.touches += 1
            if summary.lastChannel == .none || episode.timestampMicroseconds >= summary.lastContactMicroseconds {
                summary.lastContactMicroseconds = episode.timestampMicroseconds
                summary.lastChannel = kind <= 5 ? .email : .web
            }
        }
        if kind == 4 { summary.opens += 1 }
        if kind == 5 { summary.clicks += 1 }
        if kind == 8 { summary.conversions += 1 }
        summary.lastPosition = episode.position
        summaries[lead] = summary
    }

    /// The store's summaries of `namespace`, read a page at a time.
    static func stored(_ store: EngramStore, _ namespace: Namespace) throws -> [UUID: LeadEngagement] {
        var found: [UUID: LeadEngagement] = [:]
        var after: UUID? = nil
        repeat {
            let page = try store.leadEngagements(namespace: namespace, after: after, limit: 7)
            for entry in page.entries { found[entry.lead] = entry.engagement }
            after = page.resumeAfter
        } while after != nil
        return found
    }
}
