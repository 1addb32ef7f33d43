/// The episodic operations an erase adds (docs/LIFECYCLE.md, "Redo operations", 8 to 10): seal
/// the active segment, rekey index entries, and swap a segment for its filtered rewrite.

/// Logged change (8): `segment:u64`. Seals the open block and the active segment and starts the
/// next segment at the next position.
struct EpisodicSealOperation: RedoOperation {
    static let opcode = RedoOpcode.episodicSeal
    let segment: UInt64

    func encode(into writer: inout ByteWriter) { writer.write(segment) }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicSealOperation {
        EpisodicSealOperation(segment: try reader.read(UInt64.self, "the segment"))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        try context.episodicLog.sealActiveSegment(segment, in: &context)
    }

    /// Seals the active segment when it holds any record: the step every erase begins with.
    /// Returns whether it did.
    @discardableResult
    static func sealIfNeeded(in context: inout WriteContext) throws(EngramError) -> Bool {
        let log = context.episodicLog
        let state = try log.readState(context.transaction, context.tables.episodic)
        guard state.activeSegment != 0 else { return false }
        let row = try log.segmentRow(state.activeSegment, context.transaction)
        guard state.openBlock != 0 || row.blockCount > 0 else { return false }
        try context.apply(EpisodicSealOperation(segment: state.activeSegment))
        return true
    }
}

/// Logged change (9): `delete_count:u32 (key:u16-prefixed)* put_count:u32 (key:u16-prefixed block:u64)*`.
/// Index entries move to an agent's first kept record in a block, or go when it keeps none.
struct EpisodicIndexRekeyOperation: RedoOperation {
    static let opcode = RedoOpcode.episodicIndexRekey
    let deletes: [[UInt8]]
    let puts: [(key: [UInt8], block: UInt64)]

    /// The bytes an entry adds to the operation: its length prefix and key, and for a put the block.
    static func deleteBytes(_ key: [UInt8]) -> Int { 2 + key.count }
    static func putBytes(_ key: [UInt8]) -> Int { 2 + key.count + 8 }

    func encode(into writer: inout ByteWriter) {
        writer.write(UInt32(deletes.count))
        for key in deletes {
            writer.write(UInt16(key.count))
            writer.write(contentsOf: key)
        }
        writer.write(UInt32(puts.count))
        for put in puts {
            writer.write(UInt16(put.key.count))
            writer.write(contentsOf: put.key)
            writer.write(put.block)
        }
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicIndexRekeyOperation {
        let deleteCount = Int(try reader.read(UInt32.self, "the delete count"))
        guard deleteCount <= reader.remaining / 2 else { throw reader.failure("\(deleteCount) index keys cannot fit \(reader.remaining) bytes") }
        var deletes: [[UInt8]] = []
        for _ in 0..<deleteCount {
            deletes.append(try reader.readBytes(Int(try reader.read(UInt16.self, "a key length")), "an index key"))
        }
        let putCount = Int(try reader.read(UInt32.self, "the put count"))
        guard putCount <= reader.remaining / 10 else { throw reader.failure("\(putCount) index entries cannot fit \(reader.remaining) bytes") }
        var puts: [(key: [UInt8], block: UInt64)] = []
        for _ in 0..<putCount {
            let key = try reader.readBytes(Int(try reader.read(UInt16.self, "a key length")), "an index key")
            puts.append((key, try reader.read(UInt64.self, "the block")))
        }
        return EpisodicIndexRekeyOperation(deletes: deletes, puts: puts)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.episodic
        for key in deletes + puts.map(\.key) {
            guard let kind = key.first, kind == EpisodicKey.sequenceIndex || kind == EpisodicKey.timeIndex else {
                throw EngramError(.corrupt, "an index rekey names a key of kind \(key.first ?? 0), not an index entry")
            }
        }
        // A missing entry is no error: a rekey repeated after a crash finds it gone already.
        for key in deletes { try key.withBytes { (key) throws(EngramError) in _ = try context.delete(table, key) } }
        for put in puts {
            try put.key.withBytes { (key) throws(EngramError) in
                try withBytes(of: put.block.littleEndian) { (value) throws(EngramError) in try context.put(table, key, value) }
            }
        }
    }
}

/// Logged change (10): `segment:u64 generation:u32 end:u64 min_ts:i64 max_ts:i64 count:u32 block*`.
/// The segment moves to its next generation (the filtered rewrite), each listed block to its new
/// place and contents; the segment's pieces go, and its old file after the commit.
struct EpisodicSegmentFilterOperation: RedoOperation {
    static let opcode = RedoOpcode.episodicSegmentFilter
    static let blockBytes = 53
    static let fixedBytes = 8 + 4 + 8 + 8 + 8 + 4

    struct Block: Equatable {
        let address: UInt64
        let offset: UInt64
        let storedBytes: UInt32
        let rawBytes: UInt32
        let codec: UInt8
        let recordCount: UInt32
        let lastPosition: UInt64
        let minTimestamp: Int64
        let maxTimestamp: Int64
    }

    let segment: UInt64
    let generation: UInt32
    let endOffset: UInt64
    let minTimestamp: Int64
    let maxTimestamp: Int64
    let blocks: [Block]

    func encode(into writer: inout ByteWriter) {
        writer.write(segment)
        writer.write(generation)
        writer.write(endOffset)
        writer.write(minTimestamp)
        writer.write(maxTimestamp)
        writer.write(UInt32(blocks.count))
        for block in blocks {
            writer.write(block.address)
            writer.write(block.offset)
            writer.write(block.storedBytes)
            writer.write(block.rawBytes)
            writer.write(block.codec)
            writer.write(block.recordCount)
            writer.write(block.lastPosition)
            writer.write(block.minTimestamp)
            writer.write(block.maxTimestamp)
        }
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicSegmentFilterOperation {
        let segment = try reader.read(UInt64.self, "the segment")
        let generation = try reader.read(UInt32.self, "the generation")
        let endOffset = try reader.read(UInt64.self, "the end offset")
        let minTimestamp = try reader.read(Int64.self, "the minimum timestamp")
        let maxTimestamp = try reader.read(Int64.self, "the maximum timestamp")
        let count = Int(try reader.read(UInt32.self, "the block count"))
        guard count <= reader.remaining / blockBytes else { throw reader.failure("\(count) blocks cannot fit \(reader.remaining) bytes") }
        var blocks: [Block] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            blocks.append(Block(
                address: try reader.read(UInt64.self), offset: try reader.read(UInt64.self),
                storedBytes: try reader.read(UInt32.self), rawBytes: try reader.read(UInt32.self),
                codec: try reader.readUInt8(), recordCount: try reader.read(UInt32.self),
                lastPosition: try reader.read(UInt64.self), minTimestamp: try reader.read(Int64.self),
                maxTimestamp: try reader.read(Int64.self)))
        }
        return EpisodicSegmentFilterOperation(segment: segment, generation: generation, endOffset: endOffset, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, blocks: blocks)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let log = context.episodicLog
        let transaction = context.transaction
        var row = try log.segmentRow(segment, transaction)
        guard row.generation == generation, row.sealed else {
            throw EngramError(.corrupt, "a segment filter names segment \(segment) generation \(generation); its row is generation \(row.generation), sealed \(row.sealed)")
        }
        for block in blocks {
            let key = EpisodicKey.numbered(EpisodicKey.block, block.address)
            guard var blockRow = try transaction.episodicRow(log.table, key, as: EpisodicBlockRow.self), blockRow.segment == segment else {
                throw EngramError(.corrupt, "a segment filter names block \(block.address), which is not in segment \(segment)")
            }
            blockRow.offset = block.offset
            blockRow.storedBytes = block.storedBytes
            blockRow.rawBytes = block.rawBytes
            blockRow.codec = block.codec
            blockRow.recordCount = block.recordCount
            blockRow.lastPosition = block.lastPosition
            blockRow.minTimestamp = block.minTimestamp
            blockRow.maxTimestamp = block.maxTimestamp
            try log.put(key, blockRow.encoded(), transaction)
        }
        row.generation = generation + 1
        row.endOffset = endOffset
        row.minTimestamp = minTimestamp
        row.maxTimestamp = maxTimestamp
        try log.put(EpisodicKey.numbered(EpisodicKey.segment, segment), row.encoded(), transaction)
        // The pieces of the segment's last blocks still hold their raw records; the file has them.
        let next = try log.segmentRow(segment + 1, transaction)
        try log.deleteNumbered(EpisodicKey.piece, from: row.firstPosition, below: next.firstPosition, transaction)
        context.enlist(log)
        log.batch.removedFiles.append((segment, generation))
    }
}

/// Applies a rekey: at most `Limits.maintenanceCommandItemCountMax` entries, within half a batch.
struct EpisodicIndexRekey: WriteCommand {
    let operation: EpisodicIndexRekeyOperation

    var payloadByteCount: Int {
        operation.deletes.reduce(8) { $0 + EpisodicIndexRekeyOperation.deleteBytes($1) } + operation.puts.reduce(0) { $0 + EpisodicIndexRekeyOperation.putBytes($1.key) }
    }

    func execute(in context: inout WriteContext) throws(EngramError) {
        try context.apply(operation)
    }
}

/// Swaps a sealed segment for its filtered rewrite, if it is still the generation that was read.
struct EpisodicSegmentFilter: WriteCommand {
    let operation: EpisodicSegmentFilterOperation

    var payloadByteCount: Int { EpisodicSegmentFilterOperation.fixedBytes + operation.blocks.count * EpisodicSegmentFilterOperation.blockBytes }

    func execute(in context: inout WriteContext) throws(EngramError) {
        guard let row = try context.transaction.episodicRow(context.tables.episodic, EpisodicKey.numbered(EpisodicKey.segment, operation.segment), as: EpisodicSegmentRow.self),
              row.generation == operation.generation, row.sealed else {
            throw EngramError(.versionConflict, "episodic segment \(operation.segment) generation \(operation.generation) changed while it was filtered")
        }
        try context.apply(operation)
    }
}
