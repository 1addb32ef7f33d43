/// Opening the episodic log on LMDB's last checkpoint (docs/EPISODIC.md, "Recovery"): report and
/// cut what lies past the checkpointed end, so the log replay re-appends it; after replay, remove
/// files no row names and check the ones that are named.
extension EpisodicLog {
    /// What `open` found past the checkpointed end, and damage found before it.
    struct OpenReport {
        var tailCuts: [TailCut] = []
        var damage: [EngramError] = []
    }

    static func open(dataDirectory: String, fileSystem: any FileSystem, limits: Limits, environment: LMDBEnvironment, tables: Tables) throws(EngramError) -> (log: EpisodicLog, report: OpenReport) {
        let directory = Path.join(dataDirectory, EpisodicFormat.directory)
        try fileSystem.createDirectory(directory)
        let table = tables.episodic
        let found = try environment.readCheckpointed { (transaction) throws(EngramError) -> (state: EpisodicState, active: EpisodicSegmentRow?) in
            let state = try transaction.episodicRow(table, EpisodicKey.stateKey, as: EpisodicState.self) ?? EpisodicState()
            let active = state.activeSegment == 0 ? nil : try transaction.episodicRow(table, EpisodicKey.numbered(EpisodicKey.segment, state.activeSegment), as: EpisodicSegmentRow.self)
            return (state, active)
        }
        let log = EpisodicLog(directory: directory, fileSystem: fileSystem, limits: limits, table: table, environment: environment, committedNextPosition: found.state.nextPosition)
        var report = OpenReport()
        if found.state.activeSegment != 0 {
            guard let active = found.active else {
                throw EngramError(.corrupt, "the episodic state names segment \(found.state.activeSegment), which has no row")
            }
            try log.reopenActive(number: found.state.activeSegment, row: active, report: &report)
        }
        // Segments numbered past the active one were started after the checkpoint; replay makes
        // them again from the log. A later generation is a rewrite (recompression), synced before
        // the swap that names it was logged: replay needs it, and the cleanup after replay
        // removes it if no swap names it.
        for name in try fileSystem.contentsOfDirectory(directory) {
            guard let parsed = EpisodicFormat.parseSegmentName(name), parsed.number > found.state.activeSegment, parsed.generation == 0 else { continue }
            let path = Path.join(directory, name)
            let handle = try fileSystem.open(path, create: false)
            let size = try handle.size()
            if let cut = try scanTail(handle, path: path, from: 0, fileBytes: size, blockRawBytesMax: limits.episodicBlockBytes) {
                report.tailCuts.append(cut)
            }
            handle.close()
            try fileSystem.remove(path)
        }
        try fileSystem.syncDirectory(directory)
        return (log, report)
    }

    /// Scans the active segment past its checkpointed end, then cuts it there and preallocates it
    /// again. A file shorter than that end, or missing, has lost synced blocks: reported as damage;
    /// the missing bytes read as zeros and fail their checksums.
    private func reopenActive(number: UInt64, row: EpisodicSegmentRow, report: inout OpenReport) throws(EngramError) {
        let path = path(segment: number, generation: row.generation)
        let end = Int64(row.endOffset)
        let handle: any FileHandle
        if fileSystem.exists(path) {
            handle = try fileSystem.open(path, create: false)
            let size = try handle.size()
            if size < end {
                report.damage.append(.corrupt("the active episodic segment is \(size) bytes, shorter than its checkpointed end \(end); the blocks past \(size) are lost", file: path, offset: size))
            } else if let cut = try Self.scanTail(handle, path: path, from: end, fileBytes: size, blockRawBytesMax: limits.episodicBlockBytes) {
                report.tailCuts.append(cut)
            }
            let header = try handle.read(byteCount: EpisodicFormat.segmentHeaderBytes, at: 0)
            do throws(EngramError) {
                _ = try EpisodicSegmentHeader.decode(header, file: path)
            } catch {
                if EpisodicSegmentHeader.versionIsUnknown(header) {
                    handle.close()
                    throw error
                }
                report.damage.append(error)
            }
        } else {
            report.damage.append(.corrupt("the active episodic segment is missing; its \(row.blockCount) checkpointed blocks are lost", file: path, offset: 0))
            handle = try fileSystem.open(path, create: true)
            try handle.write(EpisodicSegmentHeader(number: number, generation: row.generation, firstPosition: row.firstPosition).encoded(), at: 0)
        }
        try handle.truncate(to: end)
        try handle.allocate(byteCount: Int64(limits.episodicSegmentBytes))
        try handle.sync()
        writeHandles[number] = handle
        activeSegment = number
    }

    /// Walks blocks from `start` (0: the segment header first; otherwise a block boundary); returns
    /// the cut at the first block that is not whole and valid, or nil when the written part ends
    /// cleanly (a zero header, or the end of the file). Reads only through `handle`, so the fuzz
    /// target runs it on bytes in memory.
    static func scanTail(_ handle: any FileHandle, path: String, from start: Int64, fileBytes: Int64, blockRawBytesMax: Int) throws(EngramError) -> TailCut? {
        var offset = start
        if offset == 0 {
            let header = try handle.read(byteCount: EpisodicFormat.segmentHeaderBytes, at: 0)
            if header.allSatisfy({ $0 == 0 }) { return nil }
            do throws(EngramError) {
                _ = try EpisodicSegmentHeader.decode(header, file: path)
            } catch {
                return try cut(handle, path: path, at: 0, fileBytes: fileBytes, reason: error.message)
            }
            offset = Int64(EpisodicFormat.segmentHeaderBytes)
        }
        var raw: [UInt8] = []
        let blockBytesMax = EpisodicFormat.blockBytesMax(rawBytes: blockRawBytesMax)
        while true {
            let headerBytes = Int(min(Int64(EpisodicFormat.blockHeaderBytes), fileBytes - offset))
            if headerBytes <= 0 { return nil }
            let header = try handle.read(byteCount: headerBytes, at: offset)
            if header.allSatisfy({ $0 == 0 }) { return nil }
            if headerBytes < EpisodicFormat.blockHeaderBytes {
                return try cut(handle, path: path, at: offset, fileBytes: fileBytes, reason: "a partial block header of \(headerBytes) bytes")
            }
            let stored = header.withUnsafeBytes { EpisodicBlockHeader($0).storedBytes }
            let blockBytes = EpisodicFormat.blockHeaderBytes + stored
            guard blockBytes <= blockBytesMax, offset + Int64(blockBytes) <= fileBytes else {
                return try cut(handle, path: path, at: offset, fileBytes: fileBytes, reason: "a block of \(blockBytes) bytes that runs past the end of the file or the block limit")
            }
            let block = try handle.read(byteCount: blockBytes, at: offset)
            do throws(EngramError) {
                try block.withBytes { (bytes) throws(EngramError) in
                    let decoded = try EpisodicBlock.decode(bytes, file: path, offset: offset, rawBytesMax: blockRawBytesMax, raw: &raw)
                    try raw.withBytes { (records) throws(EngramError) in
                        try EpisodicBlock.forEachRecord(records, header: decoded, file: path, offset: offset) { _ in true }
                    }
                }
            } catch {
                return try cut(handle, path: path, at: offset, fileBytes: fileBytes, reason: error.message)
            }
            offset += Int64(blockBytes)
        }
    }

    /// The cut at `offset`: its bytes run to the last non-zero byte before the first 64 KiB of
    /// zeros (the rest of a preallocated file is zeros, not damage).
    private static func cut(_ handle: any FileHandle, path: String, at offset: Int64, fileBytes: Int64, reason: String) throws(EngramError) -> TailCut {
        let chunkBytes = 64 << 10
        var end = offset
        var cursor = offset
        while cursor < fileBytes {
            let chunk = try handle.read(byteCount: Int(min(Int64(chunkBytes), fileBytes - cursor)), at: cursor)
            guard let last = chunk.lastIndex(where: { $0 != 0 }) else { break }
            end = cursor + Int64(last) + 1
            cursor += Int64(chunk.count)
        }
        return TailCut(file: path, offset: offset, byteCount: end - offset, reason: reason)
    }

    /// After replay and its checkpoint (so LMDB holds every row): removes files that no segment row
    /// names (rewrites a crash interrupted, files a removal left), and checks every named file.
    /// Returns damage to report; throws for a file of an unknown format version.
    func finishRecovery() throws(EngramError) -> [EngramError] {
        let table = self.table
        let rows = try environment.readCheckpointed { (transaction) throws(EngramError) -> [UInt64: EpisodicSegmentRow] in
            try Self.segmentRows(transaction, table)
        }
        for name in try fileSystem.contentsOfDirectory(directory) {
            if let parsed = EpisodicFormat.parseSegmentName(name), rows[parsed.number]?.generation == parsed.generation { continue }
            try fileSystem.remove(Path.join(directory, name))
        }
        try fileSystem.syncDirectory(directory)
        var damage: [EngramError] = []
        for (number, row) in rows.sorted(by: { $0.key < $1.key }) {
            let path = path(segment: number, generation: row.generation)
            guard fileSystem.exists(path) else {
                damage.append(.corrupt("episodic segment \(number) is missing; reads of its \(row.blockCount) blocks fail", file: path, offset: 0))
                continue
            }
            let handle = try fileSystem.open(path, create: false)
            defer { handle.close() }
            let headerBytes = try handle.read(byteCount: EpisodicFormat.segmentHeaderBytes, at: 0)
            do throws(EngramError) {
                let header = try EpisodicSegmentHeader.decode(headerBytes, file: path)
                guard header.number == number, header.generation == row.generation, header.firstPosition == row.firstPosition else {
                    throw EngramError.corrupt("the segment header names segment \(header.number) generation \(header.generation) from position \(header.firstPosition); its row says \(number), \(row.generation), \(row.firstPosition)", file: path, offset: 16)
                }
            } catch {
                if EpisodicSegmentHeader.versionIsUnknown(headerBytes) { throw error }
                damage.append(error)
            }
        }
        return damage
    }

    static func segmentRows(_ transaction: StoreTransaction, _ table: LMDBDatabase) throws(EngramError) -> [UInt64: EpisodicSegmentRow] {
        try transaction.withCursor(table) { (cursor) throws(EngramError) -> [UInt64: EpisodicSegmentRow] in
            var rows: [UInt64: EpisodicSegmentRow] = [:]
            var entry = try EpisodicKey.numbered(EpisodicKey.segment, 0).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.segment {
                rows[EpisodicKey.number(of: current.key)] = try EpisodicSegmentRow.decode(current.value)
                entry = try cursor.next()
            }
            return rows
        }
    }
}
