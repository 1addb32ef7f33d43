import EngramClient
import EngramProtocol
import EngramStorage
import NIOCore

/// Moving a snapshot's streams into COPY data. The stream reader keeps a few chunk reads in
/// flight, so engramd builds the next chunks while this task encodes one and PostgreSQL parses
/// the data before it: the three run side by side.
extension ExportContext {
    /// Rows per row stream (1 to 5), for the progress line.
    func rowCounts(_ snapshot: RemoteSnapshot) async throws(ExportError) -> [SnapshotStream: Int64] {
        var counts: [SnapshotStream: Int64] = [:]
        try await readAll(snapshot, .rowCounts) { (row) throws(ExportError) in
            guard row.count == 9, let stream = SnapshotStream(rawValue: row[0]) else { throw ExportError(.engram, "a row-counts row of \(row.count) bytes") }
            counts[stream] = Int64(UInt64(littleEndian: row.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
        }
        return counts
    }

    /// The months in which leads were created: one partition each.
    func leadMonths(_ snapshot: RemoteSnapshot) async throws(ExportError) -> Set<Int64> {
        var months: Set<Int64> = []
        try await readAll(snapshot, .leadMonths) { (row) throws(ExportError) in
            guard row.count == 8 else { throw ExportError(.engram, "a lead-months row of \(row.count) bytes") }
            months.insert(Int64(littleEndian: row.loadUnaligned(as: Int64.self)))
        }
        return months
    }

    private func readAll(_ snapshot: RemoteSnapshot, _ stream: SnapshotStream, _ body: (UnsafeRawBufferPointer) throws(ExportError) -> Void) async throws(ExportError) {
        var reader = snapshot.stream(stream, prefetchCount: configuration.prefetchCount)
        while let chunk = try await nextChunk(&reader) {
            try chunk.forEachRow(body)
        }
    }

    private func nextChunk(_ reader: inout SnapshotStreamReader) async throws(ExportError) -> SnapshotChunk? {
        do {
            return try await reader.next()
        } catch {
            throw ExportError(.engram, "reading stream \(reader.stream) of the snapshot: \(error)")
        }
    }

    /// COPYs the rows of `table`'s row stream changed after `since` into `target`; returns how
    /// many. `notes` collects what the encoders learnt (the leads' months).
    func copyRows(_ table: ExportTable, since: UInt64, from snapshot: RemoteSnapshot, into sink: any ExportSink, as target: String, notes: inout EncodeNotes) async throws(ExportError) -> Int64 {
        progress.phase(table.name)
        var rows: Int64 = 0
        var collected = EncodeNotes()
        do {
            try await sink.copy(table: target, columns: table.columns) { writer in
                var reader = snapshot.stream(table.rowStream, since: since, prefetchCount: configuration.prefetchCount)
                var line = CopyLine(capacity: configuration.copyBufferBytes + 64 << 10)
                while let chunk = try await nextChunk(&reader) {
                    try chunk.forEachRow { (row) throws(ExportError) in
                        do {
                            try table.encodeRow(row, &line, &collected)
                        } catch {
                            throw ExportError(.engram, "a row of stream \(table.rowStream) does not decode: \(error)")
                        }
                    }
                    rows += Int64(chunk.rowCount)
                    progress.add(chunk.rowCount)
                    if line.byteCount >= configuration.copyBufferBytes { try await writer.write(line.take()) }
                }
                if line.byteCount > 0 { try await writer.write(line.take()) }
            }
        } catch {
            throw PostgresErrors.statement(error, "COPY into \(target)")
        }
        notes.leadMonths.formUnion(collected.leadMonths)
        return rows
    }

    /// COPYs every live key of `table` (or, for episodes, the ranges of live positions) into its
    /// temporary table.
    func copyKeys(_ table: ExportTable, from snapshot: RemoteSnapshot, into sink: any ExportSink) async throws(ExportError) {
        let target = ExportStatements.liveTable(table)
        do {
            try await sink.copy(table: target, columns: ExportStatements.liveColumns(table)) { writer in
                var reader = snapshot.stream(table.keyStream, prefetchCount: configuration.prefetchCount)
                var line = CopyLine(capacity: configuration.copyBufferBytes + 64 << 10)
                while let chunk = try await nextChunk(&reader) {
                    try chunk.forEachRow { (row) throws(ExportError) in
                        do {
                            try table.encodeKey(row, &line)
                        } catch {
                            throw ExportError(.engram, "a row of stream \(table.keyStream) does not decode: \(error)")
                        }
                    }
                    if line.byteCount >= configuration.copyBufferBytes { try await writer.write(line.take()) }
                }
                if line.byteCount > 0 { try await writer.write(line.take()) }
            }
        } catch {
            throw PostgresErrors.statement(error, "COPY into \(target)")
        }
    }
}
