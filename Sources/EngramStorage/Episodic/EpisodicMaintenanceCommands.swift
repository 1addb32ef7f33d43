/// The write commands of the maintenance passes (docs/EPISODIC.md, "Maintenance"). Internal: the
/// passes build them from what they read, and the store submits them as `.durable`, so a file is
/// removed only after the change that stops naming it is in the synced log.

/// Retention, one step: deletes index entries that point into a sealed segment; the final step
/// also deletes its block rows and segment row, and removes its file after the commit. A segment
/// with many agents takes several steps, each within `Limits.batchBytesMax`.
struct EpisodicRetentionStep: WriteCommand {
    let segment: UInt64
    let generation: UInt32
    let indexKeys: [[UInt8]]
    let isFinal: Bool

    var payloadByteCount: Int { indexKeys.reduce(32) { $0 + $1.count + 2 } }

    func execute(in context: inout WriteContext) throws(EngramError) -> Void {
        let log = context.episodicLog
        let state = try log.readState(context.transaction, context.tables.episodic)
        guard let row = try context.transaction.episodicRow(context.tables.episodic, EpisodicKey.numbered(EpisodicKey.segment, segment), as: EpisodicSegmentRow.self),
              row.generation == generation, row.sealed, segment != state.activeSegment else {
            throw EngramError(.versionConflict, "episodic segment \(segment) generation \(generation) is no longer a sealed segment; retention skips it")
        }
        try context.apply(EpisodicRetentionOperation(segment: segment, generation: generation, indexKeys: indexKeys, isFinal: isFinal))
    }
}

/// Logged change: `[u64 segment][u32 generation][u8 final][u32 keyCount]{[u16 length][key]}`.
struct EpisodicRetentionOperation: RedoOperation {
    static let opcode = RedoOpcode.episodicRetention
    let segment: UInt64
    let generation: UInt32
    let indexKeys: [[UInt8]]
    let isFinal: Bool

    func encode(into writer: inout ByteWriter) {
        writer.write(segment)
        writer.write(generation)
        writer.write(UInt8(isFinal ? 1 : 0))
        writer.write(UInt32(indexKeys.count))
        for key in indexKeys {
            writer.write(UInt16(key.count))
            writer.write(contentsOf: key)
        }
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicRetentionOperation {
        let segment = try reader.read(UInt64.self, "the segment")
        let generation = try reader.read(UInt32.self, "the generation")
        let finalFlag = try reader.readUInt8("the final flag")
        guard finalFlag <= 1 else { throw reader.failure("a final flag of \(finalFlag); a retention step writes 0 or 1") }
        let isFinal = finalFlag == 1
        let count = Int(try reader.read(UInt32.self, "the key count"))
        guard count <= reader.remaining / 3 else { throw reader.failure("\(count) index keys cannot fit \(reader.remaining) bytes") }
        var keys: [[UInt8]] = []
        keys.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try reader.read(UInt16.self, "a key length"))
            keys.append(try reader.readBytes(length, "an index key"))
        }
        return EpisodicRetentionOperation(segment: segment, generation: generation, indexKeys: keys, isFinal: isFinal)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.episodic
        for key in indexKeys {
            guard let kind = key.first, kind == EpisodicKey.sequenceIndex || kind == EpisodicKey.timeIndex else {
                throw EngramError(.corrupt, "a retention step names a key of kind \(key.first ?? 0), not an index entry")
            }
            try key.withBytes { (key) throws(EngramError) in _ = try context.delete(table, key) }
        }
        guard isFinal else { return }
        let log = context.episodicLog
        let row = try log.segmentRow(segment, context.transaction)
        let next = try log.segmentRow(segment + 1, context.transaction)
        for kind in [EpisodicKey.block, EpisodicKey.piece] {
            try log.deleteNumbered(kind, from: row.firstPosition, below: next.firstPosition, context.transaction)
        }
        try EpisodicKey.numbered(EpisodicKey.segment, segment).withBytes { (key) throws(EngramError) in _ = try context.delete(table, key) }
        context.enlist(log)
        log.batch.removedFiles.append((segment, generation))
    }
}

/// Recompression: points a sealed segment's rows at its rewritten file (the next generation); the
/// old file is removed after the commit.
struct EpisodicSegmentSwap: WriteCommand {
    let operation: EpisodicSwapOperation

    var payloadByteCount: Int { 32 + operation.blocks.count * EpisodicSwapOperation.blockBytes }

    func execute(in context: inout WriteContext) throws(EngramError) -> Void {
        guard let row = try context.transaction.episodicRow(context.tables.episodic, EpisodicKey.numbered(EpisodicKey.segment, operation.segment), as: EpisodicSegmentRow.self),
              row.generation == operation.generation, row.sealed else {
            throw EngramError(.versionConflict, "episodic segment \(operation.segment) generation \(operation.generation) changed while it was rewritten")
        }
        try context.apply(operation)
    }
}

/// Logged change: `[u64 segment][u32 generation][u64 endOffset][u32 count]{[u64 address][u64 offset][u32 storedBytes][u8 codec]}`;
/// the segment moves to `generation + 1` and each block to its new place.
struct EpisodicSwapOperation: RedoOperation {
    static let opcode = RedoOpcode.episodicSegmentSwap
    static let blockBytes = 21

    struct Block: Equatable {
        let address: UInt64
        let offset: UInt64
        let storedBytes: UInt32
        let codec: UInt8
    }

    let segment: UInt64
    let generation: UInt32
    let endOffset: UInt64
    let blocks: [Block]

    func encode(into writer: inout ByteWriter) {
        writer.write(segment)
        writer.write(generation)
        writer.write(endOffset)
        writer.write(UInt32(blocks.count))
        for block in blocks {
            writer.write(block.address)
            writer.write(block.offset)
            writer.write(block.storedBytes)
            writer.write(block.codec)
        }
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicSwapOperation {
        let segment = try reader.read(UInt64.self, "the segment")
        let generation = try reader.read(UInt32.self, "the generation")
        let endOffset = try reader.read(UInt64.self, "the end offset")
        let count = Int(try reader.read(UInt32.self, "the block count"))
        guard count <= reader.remaining / blockBytes else { throw reader.failure("\(count) blocks cannot fit \(reader.remaining) bytes") }
        var blocks: [Block] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            blocks.append(Block(address: try reader.read(UInt64.self), offset: try reader.read(UInt64.self), storedBytes: try reader.read(UInt32.self), codec: try reader.readUInt8()))
        }
        return EpisodicSwapOperation(segment: segment, generation: generation, endOffset: endOffset, blocks: blocks)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let log = context.episodicLog
        let transaction = context.transaction
        var row = try log.segmentRow(segment, transaction)
        for block in blocks {
            let key = EpisodicKey.numbered(EpisodicKey.block, block.address)
            guard var blockRow = try transaction.episodicRow(log.table, key, as: EpisodicBlockRow.self), blockRow.segment == segment else {
                throw EngramError(.corrupt, "a segment swap names block \(block.address), which is not in segment \(segment)")
            }
            blockRow.offset = block.offset
            blockRow.storedBytes = block.storedBytes
            blockRow.codec = block.codec
            try log.put(key, blockRow.encoded(), transaction)
        }
        row.generation = generation + 1
        row.endOffset = endOffset
        try log.put(EpisodicKey.numbered(EpisodicKey.segment, segment), row.encoded(), transaction)
        context.enlist(log)
        log.batch.removedFiles.append((segment, generation))
    }
}

extension EpisodicLog {
    /// Deletes the `kind` rows with numbers in `first..<end`.
    func deleteNumbered(_ kind: UInt8, from first: UInt64, below end: UInt64, _ transaction: StoreTransaction) throws(EngramError) {
        let table = self.table
        try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var entry = try EpisodicKey.numbered(kind, first).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == kind, EpisodicKey.number(of: current.key) < end {
                let next = EpisodicKey.numbered(kind, EpisodicKey.number(of: current.key) + 1)
                try cursor.deleteCurrent()
                entry = try next.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            }
        }
    }
}
