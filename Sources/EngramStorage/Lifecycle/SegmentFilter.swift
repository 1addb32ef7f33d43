/// The filtered rewrite of one sealed episodic segment (docs/LIFECYCLE.md, "The filtered rewrite
/// of a sealed segment"): the next generation's file, and the operations that swap it in.
/// Runs on the purging thread, reading the segment's file and a snapshot's block rows; changes
/// nothing in LMDB itself.
enum SegmentFilter {
    /// A rewrite, ready to be swapped in.
    struct Result {
        let swap: EpisodicSegmentFilterOperation
        /// Index entries to move before the swap, in commands of bounded size.
        let rekeys: [EpisodicIndexRekeyOperation]
        let droppedRecordCount: Int
        let droppedDamagedBlockCount: Int
        /// More blocks of the segment hold dropped records than one swap could take: rewrite the
        /// new generation again.
        let isPartial: Bool
    }

    /// One block's filtered form.
    struct FilteredBlock {
        let address: UInt64
        let oldRow: EpisodicBlockRow
        /// The new block's bytes; nil when it keeps no record.
        let bytes: [UInt8]?
        let rawBytes: Int
        let recordCount: Int
        let lastPosition: UInt64
        let minTimestamp: Int64
        let maxTimestamp: Int64
        let droppedCount: Int
        let isDamaged: Bool
        var rekeyDeletes: [[UInt8]] = []
        var rekeyPuts: [(key: [UInt8], block: UInt64)] = []
    }

    /// Rewrites `segment` (generation `row.generation`) without the records `erasure` drops, into
    /// generation `row.generation + 1`, synced. Returns nil, writing nothing, when no block changes.
    /// `entriesPointingInto` finds the index entries that name damaged blocks, which cannot say
    /// whose records they held (docs/EPISODIC.md, "Maintenance").
    static func rewrite(segment: UInt64, row: EpisodicSegmentRow, blocks: [(address: UInt64, row: EpisodicBlockRow)], erasure: ErasureSet, log: EpisodicLog, blocksPerSwapMax: Int? = nil, entriesPointingInto: (Set<UInt64>) throws(EngramError) -> [[UInt8]]) throws(EngramError) -> Result? {
        let source = try log.readHandle(segment: segment, generation: row.generation)
        let sourcePath = log.path(segment: segment, generation: row.generation)
        let blocksPerSwapMax = blocksPerSwapMax ?? max(1, (log.limits.batchBytesMax / 2 - EpisodicSegmentFilterOperation.fixedBytes - 16) / EpisodicSegmentFilterOperation.blockBytes)
        var changed: [FilteredBlock] = []
        var isPartial = false
        var raw: [UInt8] = []
        var scratch: [UInt8] = []
        for block in blocks where block.row.recordCount > 0 {
            let stored = try source.handle.read(byteCount: EpisodicFormat.blockHeaderBytes + Int(block.row.storedBytes), at: Int64(block.row.offset))
            guard let filtered = try filter(stored, address: block.address, row: block.row, erasure: erasure, path: sourcePath, limits: log.limits, raw: &raw, scratch: &scratch) else { continue }
            if changed.count == blocksPerSwapMax {
                isPartial = true
                break
            }
            changed.append(filtered)
        }
        guard !changed.isEmpty else { return nil }
        let damaged = Set(changed.filter(\.isDamaged).map(\.address))
        if !damaged.isEmpty, let index = changed.firstIndex(where: \.isDamaged) {
            changed[index].rekeyDeletes += try entriesPointingInto(damaged)
        }
        let (placed, endOffset) = try writeFile(segment: segment, row: row, changed: changed, source: source.handle, log: log)
        var minTimestamp = Int64.max
        var maxTimestamp = Int64.min
        let changedRows = Dictionary(uniqueKeysWithValues: placed.map { ($0.address, $0) })
        for block in blocks {
            let recordCount = changedRows[block.address].map { Int($0.recordCount) } ?? Int(block.row.recordCount)
            guard recordCount > 0 else { continue }
            minTimestamp = min(minTimestamp, changedRows[block.address]?.minTimestamp ?? block.row.minTimestamp)
            maxTimestamp = max(maxTimestamp, changedRows[block.address]?.maxTimestamp ?? block.row.maxTimestamp)
        }
        let swap = EpisodicSegmentFilterOperation(segment: segment, generation: row.generation, endOffset: endOffset, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, blocks: placed)
        return Result(
            swap: swap,
            rekeys: chunkRekeys(changed, limits: log.limits),
            droppedRecordCount: changed.reduce(0) { $0 + $1.droppedCount },
            droppedDamagedBlockCount: changed.reduce(0) { $0 + ($1.isDamaged ? 1 : 0) },
            isPartial: isPartial)
    }

    /// The block without the dropped records, or nil when it drops none. A damaged block is
    /// dropped whole: its bytes cannot be filtered.
    static func filter(_ stored: [UInt8], address: UInt64, row: EpisodicBlockRow, erasure: ErasureSet, path: String, limits: Limits, raw: inout [UInt8], scratch: inout [UInt8]) throws(EngramError) -> FilteredBlock? {
        var kept = ByteWriter(capacity: Int(row.rawBytes))
        var keptCount = 0
        var dropped = 0
        var lastPosition: UInt64 = 0
        var minTimestamp = Int64.max
        var maxTimestamp = Int64.min
        var agents = AgentFirsts()
        do throws(EngramError) {
            let header = try stored.withBytes { (bytes) throws(EngramError) in
                try EpisodicBlock.decode(bytes, file: path, offset: Int64(row.offset), rawBytesMax: limits.episodicBlockBytes, raw: &raw)
            }
            try raw.withBytes { (records) throws(EngramError) in
                try EpisodicBlock.forEachRecord(records, header: header, file: path, offset: Int64(row.offset)) { record in
                    let drop = erasure.drops(record)
                    if !erasure.isErasing(namespace: record.namespace) { agents.note(record, kept: !drop) }
                    if drop {
                        dropped += 1
                        return true
                    }
                    kept.write(contentsOf: record.record)
                    keptCount += 1
                    lastPosition = record.position
                    minTimestamp = min(minTimestamp, record.timestampMicroseconds)
                    maxTimestamp = max(maxTimestamp, record.timestampMicroseconds)
                    return true
                }
            }
        } catch {
            guard error.code == .corrupt else { throw error }
            return FilteredBlock(address: address, oldRow: row, bytes: nil, rawBytes: 0, recordCount: 0, lastPosition: row.lastPosition, minTimestamp: 0, maxTimestamp: 0, droppedCount: 0, isDamaged: true)
        }
        guard dropped > 0 else { return nil }
        var bytes: [UInt8]? = nil
        if keptCount > 0 {
            let compression: EpisodicBlock.Compression = row.codec == EpisodicFormat.Codec.zstd.rawValue ? .zstd(level: 3) : .lz4
            bytes = kept.bytes.withUnsafeBytes { keptRaw in
                EpisodicBlock.encode(raw: keptRaw, recordCount: keptCount, firstPosition: address, lastPosition: lastPosition, compression: compression, scratch: &scratch)
            }
        }
        var filtered = FilteredBlock(
            address: address, oldRow: row, bytes: bytes, rawBytes: kept.count, recordCount: keptCount,
            lastPosition: keptCount > 0 ? lastPosition : row.lastPosition,
            minTimestamp: keptCount > 0 ? minTimestamp : 0, maxTimestamp: keptCount > 0 ? maxTimestamp : 0,
            droppedCount: dropped, isDamaged: false)
        agents.rekeys(block: address, into: &filtered)
        return filtered
    }

    /// Writes the next generation's file: the old file's bytes, each changed block's extent
    /// zeroed and its new bytes written at its old offset, or at the end when they do not fit
    /// there. Synced, with its directory. Returns the changed blocks' new rows and the file's end.
    static func writeFile(segment: UInt64, row: EpisodicSegmentRow, changed: [FilteredBlock], source: any FileHandle, log: EpisodicLog) throws(EngramError) -> ([EpisodicSegmentFilterOperation.Block], UInt64) {
        let target = try log.createSegmentFile(segment: segment, generation: row.generation + 1, firstPosition: row.firstPosition, byteCount: Int(row.endOffset))
        defer { target.close() }
        do throws(EngramError) {
            let chunkBytes = 1 << 20
            var offset = Int64(EpisodicFormat.segmentHeaderBytes)
            while offset < Int64(row.endOffset) {
                let bytes = try source.read(byteCount: Int(min(Int64(chunkBytes), Int64(row.endOffset) - offset)), at: offset)
                guard !bytes.isEmpty else {
                    throw EngramError.corrupt("the segment file ends at \(offset), before its recorded end \(row.endOffset)", file: log.path(segment: segment, generation: row.generation), offset: offset)
                }
                try target.write(bytes, at: offset)
                offset += Int64(bytes.count)
            }
            var end = row.endOffset
            var placed: [EpisodicSegmentFilterOperation.Block] = []
            for block in changed {
                let extent = EpisodicFormat.blockHeaderBytes + Int(block.oldRow.storedBytes)
                try target.write([UInt8](repeating: 0, count: extent), at: Int64(block.oldRow.offset))
                var blockOffset = block.oldRow.offset
                if let bytes = block.bytes {
                    if bytes.count > extent {
                        blockOffset = end
                        end += UInt64(bytes.count)
                    }
                    try target.write(bytes, at: Int64(blockOffset))
                }
                let storedBytes = block.bytes.map { UInt32($0.count - EpisodicFormat.blockHeaderBytes) } ?? 0
                let codec = block.bytes.map { $0[12] } ?? EpisodicFormat.Codec.stored.rawValue
                placed.append(.init(address: block.address, offset: blockOffset, storedBytes: storedBytes, rawBytes: UInt32(block.rawBytes), codec: codec, recordCount: UInt32(block.recordCount), lastPosition: block.lastPosition, minTimestamp: block.minTimestamp, maxTimestamp: block.maxTimestamp))
            }
            try target.truncate(to: Int64(end))
            try target.sync()
            try log.fileSystem.syncDirectory(log.directory)
            return (placed, end)
        } catch {
            try? log.fileSystem.remove(log.path(segment: segment, generation: row.generation + 1))
            throw error
        }
    }

    /// The blocks' index changes, in operations of at most `maintenanceCommandItemCountMax`
    /// entries and half of `batchBytesMax`.
    static func chunkRekeys(_ blocks: [FilteredBlock], limits: Limits) -> [EpisodicIndexRekeyOperation] {
        var operations: [EpisodicIndexRekeyOperation] = []
        var deletes: [[UInt8]] = []
        var puts: [(key: [UInt8], block: UInt64)] = []
        var bytes = 8
        func flush() {
            if !deletes.isEmpty || !puts.isEmpty { operations.append(EpisodicIndexRekeyOperation(deletes: deletes, puts: puts)) }
            deletes = []
            puts = []
            bytes = 8
        }
        func makeRoom(_ entryBytes: Int) {
            if deletes.count + puts.count >= limits.maintenanceCommandItemCountMax || bytes + entryBytes > limits.batchBytesMax / 2 { flush() }
            bytes += entryBytes
        }
        for block in blocks {
            for key in block.rekeyDeletes {
                makeRoom(EpisodicIndexRekeyOperation.deleteBytes(key))
                deletes.append(key)
            }
            for put in block.rekeyPuts {
                makeRoom(EpisodicIndexRekeyOperation.putBytes(put.key))
                puts.append(put)
            }
        }
        flush()
        return operations
    }
}

/// Each agent's first record in a block, of all and of those kept: where its index entries point
/// before and after the filter.
struct AgentFirsts {
    struct Firsts {
        let namespace: [UInt8]
        let agent: [UInt8]
        let first: (sequence: UInt64, timestamp: Int64)
        var firstKept: (sequence: UInt64, timestamp: Int64)?
    }

    private var agents: [[UInt8]: Firsts] = [:]
    private var order: [[UInt8]] = []

    mutating func note(_ record: EpisodeRecordView, kept: Bool) {
        let key = [UInt8(record.namespace.count)] + Array(record.namespace) + [UInt8(record.agent.count)] + Array(record.agent)
        if var known = agents[key] {
            if kept && known.firstKept == nil {
                known.firstKept = (record.sequence, record.timestampMicroseconds)
                agents[key] = known
            }
            return
        }
        let first = (record.sequence, record.timestampMicroseconds)
        agents[key] = Firsts(namespace: Array(record.namespace), agent: Array(record.agent), first: first, firstKept: kept ? first : nil)
        order.append(key)
    }

    /// The index entries of agents whose first record in the block was dropped: deleted, and put
    /// again at the first kept record when there is one.
    func rekeys(block: UInt64, into filtered: inout SegmentFilter.FilteredBlock) {
        for key in order {
            guard let agent = agents[key] else { continue }
            if let kept = agent.firstKept, kept.sequence == agent.first.sequence { continue }
            agent.namespace.withUnsafeBytes { namespace in
                agent.agent.withUnsafeBytes { name in
                    filtered.rekeyDeletes.append(EpisodicKey.sequenceIndex(namespace: namespace, agent: name, sequence: agent.first.sequence))
                    filtered.rekeyDeletes.append(EpisodicKey.timeIndex(namespace: namespace, agent: name, timestampMicroseconds: agent.first.timestamp, sequence: agent.first.sequence))
                    if let kept = agent.firstKept {
                        filtered.rekeyPuts.append((EpisodicKey.sequenceIndex(namespace: namespace, agent: name, sequence: kept.sequence), block))
                        filtered.rekeyPuts.append((EpisodicKey.timeIndex(namespace: namespace, agent: name, timestampMicroseconds: kept.timestamp, sequence: kept.sequence), block))
                    }
                }
            }
        }
    }
}
