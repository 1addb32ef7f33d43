#if canImport(Glibc)
import Glibc
#endif

/// The two file formats of docs/IMPORT.md.
public enum ImportFormat: String, Sendable, CaseIterable {
    case csv
    case jsonLines = "jsonl"

    /// By the file's extension: `.csv` is CSV, anything else JSON Lines.
    public init(path: String) {
        self = path.lowercased().hasSuffix(".csv") ? .csv : .jsonLines
    }
}

/// What the reader found next: a record, or a row it could not read (reported with its line;
/// the import goes on).
public enum ImportItem: Sendable, Equatable {
    case row(ImportRow)
    case unreadable(RowError)
}

/// Reads an import file row by row, a bounded window at a time: memory stays at about
/// `ImportLimits.rowBytesMax + readBytes` whatever the file's size. Not thread-safe; one reader
/// belongs to one task.
public struct ImportReader<Source: ImportSource> {
    public let format: ImportFormat
    var window: InputWindow<Source>
    var builder: RowBuilder
    /// The line the next row starts on.
    var line = 1
    /// The CSV header's columns, by position; nil until the header is read.
    var columns: [ImportColumn]?
    var fields: [CSVField] = []
    /// A JSON line's member positions (1-based byte in the line), by column, for error columns.
    var memberPositions: [ImportColumn: Int] = [:]
    /// Bytes of the source before the window's first byte, for `bytesConsumed`.
    private var bytesBeforeWindow = 0

    public init(_ source: Source, format: ImportFormat, defaultKind: ImportKind = .lead) {
        self.format = format
        window = InputWindow(source)
        builder = RowBuilder(defaultKind: defaultKind)
    }

    /// Bytes of the source read and used so far: the rows returned and the lines skipped.
    public var bytesConsumed: Int { bytesBeforeWindow + window.start }

    /// The next row, or nil at the end of the file. Throws for what ends the import: an
    /// unreadable file, a bad header, a row past `ImportLimits.rowBytesMax`, a quote left open.
    public mutating func next() throws(ImportFailure) -> ImportItem? {
        while true {
            if line == 1 && window.start == 0 { try skipByteOrderMark() }
            let scanned: (item: ImportItem?, consumed: Bool)
            switch format {
            case .csv: scanned = try nextCSV()
            case .jsonLines: scanned = try nextJSONLine()
            }
            if let item = scanned.item { return item }
            if !scanned.consumed { return nil }
        }
    }

    private mutating func skipByteOrderMark() throws(ImportFailure) {
        while window.end < 3 && !window.atEndOfSource { _ = try window.refill() }
        if window.end >= 3 && window.bytes[0] == 0xEF && window.bytes[1] == 0xBB && window.bytes[2] == 0xBF { window.start = 3 }
    }

    /// Makes room and reads more for a row that runs past the window; false at the end of input.
    private mutating func readMore() throws(ImportFailure) -> Bool {
        if window.end - window.start >= ImportLimits.rowBytesMax { throw ImportFailure("line \(line): a row longer than \(ImportLimits.rowBytesMax) bytes") }
        let (readMore, moved) = try window.refill()
        bytesBeforeWindow += moved
        return readMore || window.atEndOfSource
    }

    // MARK: CSV

    /// One CSV record: an item, or (nil, true) for a blank line or the header, (nil, false) at the end.
    private mutating func nextCSV() throws(ImportFailure) -> (item: ImportItem?, consumed: Bool) {
        var scan: CSVScanner.Scan
        repeat {
            if window.start == window.end && window.atEndOfSource { return (nil, false) }
            let (start, end, atEnd) = (window.start, window.end, window.atEndOfSource)
            scan = window.bytes.withUnsafeBufferPointer { CSVScanner.record($0, from: start, end: end, atEnd: atEnd, fields: &fields) }
            if scan == .needMore {
                guard try readMore() else { return (nil, false) }
            }
        } while scan == .needMore
        guard case .record(let next, let newlines, let problem) = scan else {
            throw ImportFailure("line \(line): a quoted field is not closed at the end of the file")
        }
        let rowLine = line
        // The window holds a row and a read behind it, so a row a little longer than the bound
        // can be scanned whole; the bound is the row's, not the window's.
        guard next - window.start <= ImportLimits.rowBytesMax else { throw ImportFailure("line \(rowLine): a row longer than \(ImportLimits.rowBytesMax) bytes") }
        defer {
            window.start = next
            line += newlines
        }
        let isBlank = fields.count == 1 && fields[0].from == fields[0].to && problem == nil
        guard let columns else {
            try readHeader(line: rowLine, problem: problem?.message)
            return (nil, true)
        }
        if isBlank { return (nil, true) }
        if let problem {
            let field = problem.fieldNumber <= columns.count ? columns[problem.fieldNumber - 1].rawValue : nil
            return (.unreadable(RowError(line: rowLine, column: problem.fieldNumber, field: field, status: "unreadable", message: problem.message)), true)
        }
        guard fields.count == columns.count else {
            // The first field missing, or the first one too many.
            let position = min(fields.count, columns.count) + 1
            let field = position <= columns.count ? columns[position - 1].rawValue : nil
            return (.unreadable(RowError(line: rowLine, column: position, field: field, status: "unreadable", message: "\(fields.count) fields, the header has \(columns.count)")), true)
        }
        return (csvRow(columns, line: rowLine), true)
    }

    private mutating func readHeader(line: Int, problem: String?) throws(ImportFailure) {
        if let problem { throw ImportFailure("line \(line): the header: \(problem)") }
        var header: [ImportColumn] = []
        for field in fields {
            let name = window.bytes.withUnsafeBufferPointer { CSVScanner.text($0, field) } ?? ""
            let trimmed = String(name.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
            guard let column = ImportColumn(name: trimmed) else {
                throw ImportFailure("line \(line): unknown column \"\(trimmed)\"; the columns are \(ImportColumn.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !header.contains(column) else { throw ImportFailure("line \(line): column \(trimmed) appears twice") }
            header.append(column)
        }
        columns = header
    }

    private mutating func csvRow(_ columns: [ImportColumn], line: Int) -> ImportItem {
        builder.reset()
        do throws(RowFailure) {
            for (index, field) in fields.enumerated() where field.to > field.from {
                guard let text = window.bytes.withUnsafeBufferPointer({ CSVScanner.text($0, field) }) else {
                    throw RowFailure("field \(index + 1) (\(columns[index].rawValue)) is not UTF-8", field: columns[index])
                }
                try builder.set(columns[index], .text(text))
            }
            return .row(ImportRow(line: line, record: try builder.build()))
        } catch {
            let position = error.field.flatMap { columns.firstIndex(of: $0) }.map { $0 + 1 }
            return .unreadable(RowError(line: line, column: position, field: error.field?.rawValue, status: "unreadable", message: error.message))
        }
    }

    // MARK: JSON Lines

    private mutating func nextJSONLine() throws(ImportFailure) -> (item: ImportItem?, consumed: Bool) {
        var newlineIndex: Int?
        while true {
            if window.start == window.end && window.atEndOfSource { return (nil, false) }
            let (start, end) = (window.start, window.end)
            newlineIndex = window.bytes.withUnsafeBytes { raw -> Int? in
                guard let found = memchr(raw.baseAddress! + start, Int32(UInt8(ascii: "\n")), end - start) else { return nil }
                return raw.baseAddress!.distance(to: UnsafeRawPointer(found))
            }
            if newlineIndex != nil || window.atEndOfSource { break }
            guard try readMore() else { break }
        }
        let lineEnd = newlineIndex ?? window.end
        let rowLine = line
        let start = window.start
        guard lineEnd - start <= ImportLimits.rowBytesMax else { throw ImportFailure("line \(rowLine): a row longer than \(ImportLimits.rowBytesMax) bytes") }
        defer {
            window.start = newlineIndex.map { $0 + 1 } ?? window.end
            line += 1
        }
        let isBlank = window.bytes[start..<lineEnd].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if isBlank { return (nil, true) }
        builder.reset()
        memberPositions.removeAll(keepingCapacity: true)
        do throws(RowFailure) {
            try window.bytes.withUnsafeBufferPointer { (bytes) throws(RowFailure) in
                try JSONLineParser.parseObject(bytes, from: start, to: lineEnd) { (name, value, raw) throws(RowFailure) in
                    let position = bytes.baseAddress!.distance(to: raw.baseAddress ?? bytes.baseAddress! + start) - start + 1
                    guard let column = ImportColumn(name: name) else { throw RowFailure("unknown field \"\(name)\"", position: position) }
                    memberPositions[column] = memberPositions[column] ?? position
                    // Metadata is the value itself, whatever its type: kept as written.
                    let kept = column == .metadata && value != .null ? .json(Array(raw)) : value
                    do throws(RowFailure) {
                        try builder.set(column, kept)
                    } catch {
                        // A field given twice: the second is the one to point at.
                        throw RowFailure(error.message, field: error.field, position: position)
                    }
                }
            }
            return (.row(ImportRow(line: rowLine, record: try builder.build())), true)
        } catch {
            let position = error.position ?? error.field.flatMap { memberPositions[$0] }
            return (.unreadable(RowError(line: rowLine, column: position, field: error.field?.rawValue, status: "unreadable", message: error.message)), true)
        }
    }
}

public typealias FileImportReader = ImportReader<FileSource>
