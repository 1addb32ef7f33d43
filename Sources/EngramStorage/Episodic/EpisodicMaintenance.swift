/// What a maintenance pass did.
public struct EpisodicMaintenanceOutcome: Sendable, Equatable {
    /// Segments removed (retention) or rewritten (recompression).
    public let segmentCount: Int
    /// Their bytes on disk before and after (0 after, for removed segments).
    public let bytesBefore: Int64
    public let bytesAfter: Int64
}

extension EngramStore {
    /// Removes whole sealed segments, oldest first, while the segments' bytes exceed
    /// `Limits.episodicRetentionBytes` or a segment's newest episode is older than
    /// `Limits.episodicRetentionSeconds` before `nowMicroseconds`. Reads on the caller's task,
    /// changes the store through durable write commands (docs/EPISODIC.md, "Maintenance"). Throws
    /// `.busy` while another maintenance pass runs. At most `segmentCountMax` segments go per call.
    public func enforceEpisodicRetention(nowMicroseconds: Int64? = nil, segmentCountMax: Int = .max) async throws(EngramError) -> EpisodicMaintenanceOutcome {
        let log = writer.episodicLog
        guard !log.maintenanceRunning.exchange(true, ordering: .acquiringAndReleasing) else {
            throw EngramError(.busy, "another episodic maintenance pass is running")
        }
        defer { log.maintenanceRunning.store(false, ordering: .releasing) }
        var removedBytes: Int64 = 0
        let candidates = try retentionCandidates(nowMicroseconds: nowMicroseconds, segmentCountMax: segmentCountMax)
        for candidate in candidates {
            for step in try retentionSteps(candidate) { try await write(step, durability: .durable) }
            removedBytes += Int64(candidate.row.endOffset)
        }
        return EpisodicMaintenanceOutcome(segmentCount: candidates.count, bytesBefore: removedBytes, bytesAfter: 0)
    }

    /// The sealed segments past retention, oldest first, at most `segmentCountMax`.
    func retentionCandidates(nowMicroseconds: Int64?, segmentCountMax: Int) throws(EngramError) -> [(number: UInt64, row: EpisodicSegmentRow)] {
        let log = writer.episodicLog
        let cutoff = (nowMicroseconds ?? wallClockMicroseconds()) - Int64(limits.episodicRetentionSeconds) * 1_000_000
        let table = log.table
        let found = try read { (transaction) throws(EngramError) in
            (rows: try EpisodicLog.segmentRows(transaction, table), active: try log.readState(transaction, table).activeSegment)
        }
        var total = found.rows.values.reduce(Int64(0)) { $0 + Int64($1.endOffset) }
        var candidates: [(number: UInt64, row: EpisodicSegmentRow)] = []
        for (number, row) in found.rows.sorted(by: { $0.key < $1.key }) where row.sealed && number != found.active {
            guard candidates.count < segmentCountMax, total > Int64(limits.episodicRetentionBytes) || row.maxTimestamp < cutoff else { break }
            candidates.append((number, row))
            total -= Int64(row.endOffset)
        }
        return candidates
    }

    /// The retention steps that remove one segment, each within half of `Limits.batchBytesMax`.
    func retentionSteps(_ candidate: (number: UInt64, row: EpisodicSegmentRow)) throws(EngramError) -> [EpisodicRetentionStep] {
        let log = writer.episodicLog
        let keys = try read { (transaction) throws(EngramError) -> [[UInt8]] in
            try EpisodicRetentionPlan.indexKeys(segment: candidate.number, row: candidate.row, log: log, transaction: transaction)
        }
        var steps: [[[UInt8]]] = [[]]
        var stepBytes = 0
        for key in keys {
            if stepBytes + key.count + 2 > limits.batchBytesMax / 2 {
                steps.append([])
                stepBytes = 0
            }
            steps[steps.count - 1].append(key)
            stepBytes += key.count + 2
        }
        return steps.enumerated().map { index, step in
            EpisodicRetentionStep(segment: candidate.number, generation: candidate.row.generation, indexKeys: step, isFinal: index == steps.count - 1)
        }
    }

    /// Rewrites sealed segments that still hold LZ4 blocks with every block compressed by zstd at
    /// `level` (a block keeps its old bytes when zstd does not make it smaller, or when it is
    /// damaged), at most `segmentCountMax` of them, oldest first. Block addresses stay, so indexes
    /// are untouched; the swap is one durable write command. Throws `.busy` while another
    /// maintenance pass runs.
    public func recompressEpisodicSegments(level: Int32 = 3, segmentCountMax: Int = .max) async throws(EngramError) -> EpisodicMaintenanceOutcome {
        let log = writer.episodicLog
        guard !log.maintenanceRunning.exchange(true, ordering: .acquiringAndReleasing) else {
            throw EngramError(.busy, "another episodic maintenance pass is running")
        }
        defer { log.maintenanceRunning.store(false, ordering: .releasing) }
        let table = log.table
        let found = try read { (transaction) throws(EngramError) in
            (rows: try EpisodicLog.segmentRows(transaction, table), active: try log.readState(transaction, table).activeSegment)
        }
        var outcome = (count: 0, before: Int64(0), after: Int64(0))
        for (number, row) in found.rows.sorted(by: { $0.key < $1.key }) where row.sealed && number != found.active {
            guard outcome.count < segmentCountMax else { break }
            let blocks = try read { (transaction) throws(EngramError) -> [(address: UInt64, row: EpisodicBlockRow)] in
                let next = try log.segmentRow(number + 1, transaction)
                return try EpisodicRetentionPlan.blockRows(from: row.firstPosition, below: next.firstPosition, log: log, transaction: transaction)
            }
            guard blocks.contains(where: { $0.row.codec == EpisodicFormat.Codec.lz4.rawValue }) else { continue }
            let swap = try EpisodicRecompression.rewrite(segment: number, row: row, blocks: blocks, level: level, log: log)
            do throws(EngramError) {
                try await write(EpisodicSegmentSwap(operation: swap), durability: .durable)
            } catch {
                try? log.fileSystem.remove(log.path(segment: number, generation: row.generation + 1))
                if error.code == .versionConflict { continue }
                throw error
            }
            outcome = (outcome.count + 1, outcome.before + Int64(row.endOffset), outcome.after + Int64(swap.endOffset))
        }
        return EpisodicMaintenanceOutcome(segmentCount: outcome.count, bytesBefore: outcome.before, bytesAfter: outcome.after)
    }
}

/// Reading what a retention step must delete.
enum EpisodicRetentionPlan {
    static func blockRows(from first: UInt64, below end: UInt64, log: EpisodicLog, transaction: StoreTransaction) throws(EngramError) -> [(address: UInt64, row: EpisodicBlockRow)] {
        let table = log.table
        return try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var rows: [(address: UInt64, row: EpisodicBlockRow)] = []
            var entry = try EpisodicKey.numbered(EpisodicKey.block, first).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.block, EpisodicKey.number(of: current.key) < end {
                rows.append((EpisodicKey.number(of: current.key), try EpisodicBlockRow.decode(current.value)))
                entry = try cursor.next()
            }
            return rows
        }
    }

    /// The index entries that point into the segment: for each block, the first record of each
    /// agent in it. A damaged block cannot say whose records it held; its entries are found by
    /// walking both indexes for its address instead.
    static func indexKeys(segment: UInt64, row: EpisodicSegmentRow, log: EpisodicLog, transaction: StoreTransaction) throws(EngramError) -> [[UInt8]] {
        let next = try log.segmentRow(segment + 1, transaction)
        var keys: [[UInt8]] = []
        var damaged = Set<UInt64>()
        var reader = EpisodicBlockReader(log: log, transaction: transaction)
        for block in try blockRows(from: row.firstPosition, below: next.firstPosition, log: log, transaction: transaction) {
            var seen = Set<[UInt8]>()
            var found: [[UInt8]] = []
            do throws(EngramError) {
                try reader.visitBlock(block.address) { record in
                    if seen.insert(Array(record.namespace) + [0] + Array(record.agent)).inserted {
                        found.append(EpisodicKey.sequenceIndex(namespace: record.namespace, agent: record.agent, sequence: record.sequence))
                        found.append(EpisodicKey.timeIndex(namespace: record.namespace, agent: record.agent, timestampMicroseconds: record.timestampMicroseconds, sequence: record.sequence))
                    }
                    return true
                }
                keys += found
            } catch {
                guard error.code == .corrupt else { throw error }
                damaged.insert(block.address)
            }
        }
        if !damaged.isEmpty { keys += try entries(pointingInto: damaged, log: log, transaction: transaction) }
        return keys
    }

    static func entries(pointingInto addresses: Set<UInt64>, log: EpisodicLog, transaction: StoreTransaction) throws(EngramError) -> [[UInt8]] {
        let table = log.table
        return try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var keys: [[UInt8]] = []
            var entry = try [EpisodicKey.sequenceIndex].withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key[0] == EpisodicKey.sequenceIndex || current.key[0] == EpisodicKey.timeIndex {
                if current.value.count == 8, addresses.contains(UInt64(littleEndian: current.value.loadUnaligned(as: UInt64.self))) {
                    keys.append(Array(current.key))
                }
                entry = try cursor.next()
            }
            return keys
        }
    }
}

/// Rewriting one sealed segment with zstd, into the next generation's file.
enum EpisodicRecompression {
    static func rewrite(segment: UInt64, row: EpisodicSegmentRow, blocks: [(address: UInt64, row: EpisodicBlockRow)], level: Int32, log: EpisodicLog) throws(EngramError) -> EpisodicSwapOperation {
        let source = try log.readHandle(segment: segment, generation: row.generation)
        let sourcePath = log.path(segment: segment, generation: row.generation)
        let target = try log.createSegmentFile(segment: segment, generation: row.generation + 1, firstPosition: row.firstPosition, byteCount: Int(row.endOffset))
        defer { target.close() }
        var offset = UInt64(EpisodicFormat.segmentHeaderBytes)
        var moved: [EpisodicSwapOperation.Block] = []
        var raw: [UInt8] = []
        var scratch: [UInt8] = []
        do throws(EngramError) {
            for block in blocks {
                // A block an erase emptied has no bytes; its row stays, pointing nowhere.
                if block.row.recordCount == 0 {
                    moved.append(.init(address: block.address, offset: offset, storedBytes: 0, codec: block.row.codec))
                    continue
                }
                let old = try source.handle.read(byteCount: EpisodicFormat.blockHeaderBytes + Int(block.row.storedBytes), at: Int64(block.row.offset))
                var bytes = old
                do throws(EngramError) {
                    let header = try old.withBytes { (stored) throws(EngramError) in
                        try EpisodicBlock.decode(stored, file: sourcePath, offset: Int64(block.row.offset), rawBytesMax: log.limits.episodicBlockBytes, raw: &raw)
                    }
                    let recompressed = raw.withUnsafeBytes { raw in
                        EpisodicBlock.encode(raw: raw, recordCount: header.recordCount, firstPosition: header.firstPosition, lastPosition: header.lastPosition, compression: .zstd(level: level), scratch: &scratch)
                    }
                    if recompressed.count < old.count { bytes = recompressed }
                } catch {
                    // A damaged block is copied as it is, so reads still report its damage.
                    guard error.code == .corrupt else { throw error }
                }
                try target.write(bytes, at: Int64(offset))
                moved.append(.init(address: block.address, offset: offset, storedBytes: UInt32(bytes.count - EpisodicFormat.blockHeaderBytes), codec: bytes[12]))
                offset += UInt64(bytes.count)
            }
            try target.truncate(to: Int64(offset))
            try target.sync()
        } catch {
            try? log.fileSystem.remove(log.path(segment: segment, generation: row.generation + 1))
            throw error
        }
        return EpisodicSwapOperation(segment: segment, generation: row.generation, endOffset: offset, blocks: moved)
    }
}
