import ArgumentParser
import EngramClient
import EngramImport
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `engram import FILE`: bulk loading through the upsert batches (docs/IMPORT.md).
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load leads, campaigns and metric events from a CSV or JSON Lines file, in batches, several in flight.",
        discussion: """
            A CSV file starts with a header naming its columns; a JSON Lines file holds one object a line \
            with the same names as fields. Each row is of --kind unless it has a kind column (kind: lead, \
            campaign or metric).
              lead:     id, email*, name, company, source, category, score* (0-100), status (default new),
                        metadata (JSON), created_at, updated_at (read and ignored: the server sets it)
              campaign: id, name*, type*, status* (draft, active, paused, completed), budget_cents, created_at
              metric:   campaign_id*, time*, sent, opened, clicked, converted
            * required. A row without an id gets a random one. Times are microseconds since 1970 or \
            RFC 3339 (2026-01-31T09:30:00.25Z; PostgreSQL's "2026-01-31 09:30:00.25+00" too). An empty \
            CSV field is absent. Rows are loaded in file order, so campaigns may come before their events. \
            docs/IMPORT.md has the rules.
            The import stops at the first bad row (unreadable, or refused by the server) and names its line \
            and column; every row before it is stored, and rows after it that were already sent may be \
            stored too (the summary counts them). --keep-going loads every good row and reports each bad one. \
            Progress (rows, rows/s, percent of the file) is shown while standard output is a terminal.
            Exit codes: 0 every row loaded, 2 a bad row (the first is named), 3 server unreachable or \
            connection broken, 64 usage error (the file cannot be read, an unknown column, a row too long).
            """)

    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The file: .csv for CSV, anything else JSON Lines (or --format).") var file: String
    @Option(help: "csv or jsonl (default: by the file's extension).") var format: String?
    @Option(help: "The kind of rows without a kind column: leads, campaigns or metrics.") var kind: String = "leads"
    @Option(help: "Records a request carries at most (1 to 1024; requests are also cut by the frame limit).") var batch: Int = 1_024
    @Option(help: "Requests in flight at once (1 to \(ImportLimits.inFlightBatchCountMax)).") var inFlight: Int = ImportLimits.inFlightBatchCountDefault
    @Flag(help: "Load every good row and report each bad one, instead of stopping at the first.") var keepGoing = false
    @Option(help: "With --keep-going: bad rows printed in full; the rest are counted.") var errorsShown: Int = 20
    @Flag(help: "Acknowledge each batch once applied rather than durable (docs/PROTOCOL.md, \"Durability\").") var applied = false

    /// --kind's names: the plural the usage gives, or the singular a kind column uses.
    static func kind(named name: String) -> ImportKind? {
        switch name {
        case "lead", "leads": .lead
        case "campaign", "campaigns": .campaign
        case "metric", "metrics": .metric
        default: nil
        }
    }

    func validate() throws {
        if let format, ImportFormat(rawValue: format) == nil { throw ValidationError("--format must be csv or jsonl, not \(format)") }
        guard Self.kind(named: kind) != nil else { throw ValidationError("--kind must be leads, campaigns or metrics, not \(kind)") }
        guard (1...ImportLimits.inFlightBatchCountMax).contains(inFlight) else { throw ValidationError("--in-flight must be 1 to \(ImportLimits.inFlightBatchCountMax)") }
        guard (1...1_024).contains(batch) else { throw ValidationError("--batch must be 1 to 1024") }
        guard errorsShown >= 0 else { throw ValidationError("--errors-shown must not be negative") }
    }

    func run() async throws {
        let chosenFormat = format.flatMap(ImportFormat.init(rawValue:)) ?? ImportFormat(path: file)
        let source: FileSource
        do {
            source = try FileSource(path: file)
        } catch {
            throw usage(error)
        }
        var reader = ImportReader(source, format: chosenFormat, defaultKind: Self.kind(named: kind)!)
        let connection: EngramConnection
        do {
            connection = try await EngramConnection.connect(try options.configuration())
        } catch let error as EngramClientError {
            printError("(error) \(error)")
            throw ExitCode(ConnectionOptions.exitCode(error))
        }
        let loadOptions = BulkLoadOptions(namespace: options.resolvedNamespace, inFlightBatchCountMax: inFlight, leadBatchCountMax: batch,
                                          campaignBatchCountMax: batch, metricBatchCountMax: batch, durability: applied ? .applied : nil,
                                          stopsAtFirstBadRow: !keepGoing)
        let loader = BulkLoader(connection: connection, options: loadOptions)
        let meter = ProgressLine(enabled: isatty(STDOUT_FILENO) == 1 && !options.json)
        let summary: ImportSummary
        do {
            summary = try await loader.load(&reader, byteCount: source.byteCount) { meter.show($0) }
            meter.finish()
            await connection.close()
        } catch {
            meter.finish()
            await connection.close()
            if let failure = error as? ImportFailure { throw usage(failure) }
            let clientError = error as? EngramClientError ?? EngramClientError(.connectionClosed, "\(error)")
            printSummary(loader.summary, stopped: clientError)
            throw ExitCode(clientError.code.status == nil ? 3 : ConnectionOptions.exitCode(clientError))
        }
        printSummary(summary, stopped: nil)
        if summary.errorCount > 0 { throw ExitCode(2) }
    }

    private func usage(_ failure: ImportFailure) -> ExitCode {
        printError("(error) \(file): \(failure.message)")
        return ExitCode(64)
    }

    private func printSummary(_ summary: ImportSummary, stopped: EngramClientError?) {
        if options.json {
            print(jsonSummary(summary, stopped: stopped))
            return
        }
        let stored = summary.storedCount
        if keepGoing {
            // In file order: an unreadable row is found when read, a refusal when its answer comes.
            for error in summary.errors.sorted(by: { $0.line < $1.line }).prefix(errorsShown) { print(error) }
            if summary.errorCount > errorsShown { print("... and \(ImportText.grouped(summary.errorCount - errorsShown)) more bad rows") }
        } else if let first = summary.firstBadRow {
            print("\(file): \(first)")
            print("stopped at the first bad row: every row before line \(first.line) is stored; \(ImportText.grouped(summary.storedAfterFirstBadRow)) rows after it were already sent and are stored too")
        }
        if let stopped { print("stopped: \(stopped); what was in flight may or may not be stored") }
        print("loaded \(ImportText.grouped(summary.totalStored)) of \(ImportText.grouped(summary.rowCount)) rows in \(formatted(summary.elapsedSeconds)) s "
              + "(\(ImportText.grouped(Int(summary.rowsPerSecond))) rows/s): \(ImportText.grouped(stored[.lead] ?? 0)) leads, \(ImportText.grouped(stored[.campaign] ?? 0)) campaigns, "
              + "\(ImportText.grouped(stored[.metric] ?? 0)) metric events; \(ImportText.grouped(summary.errorCount)) bad rows")
    }

    private func jsonSummary(_ summary: ImportSummary, stopped: EngramClientError?) -> JSON {
        let stored = summary.storedCount
        func rowError(_ error: RowError) -> JSON {
            var fields: [(String, JSON)] = [("line", .integer(UInt64(error.line)))]
            if let column = error.column { fields.append(("column", .integer(UInt64(column)))) }
            if let field = error.field { fields.append(("field", .string(field))) }
            fields += [("status", .string(error.status)), ("message", .string(error.message))]
            return .object(fields)
        }
        var fields: [(String, JSON)] = [
            ("rows", .integer(UInt64(summary.rowCount))), ("stored", .integer(UInt64(summary.totalStored))),
            ("leads", .integer(UInt64(stored[.lead] ?? 0))), ("campaigns", .integer(UInt64(stored[.campaign] ?? 0))),
            ("metric_events", .integer(UInt64(stored[.metric] ?? 0))), ("bad_rows", .integer(UInt64(summary.errorCount))),
            ("seconds", .number(summary.elapsedSeconds)), ("rows_per_second", .number(summary.rowsPerSecond.rounded())),
        ]
        if let first = summary.firstBadRow { fields.append(("first_bad_row", rowError(first))) }
        if summary.stoppedEarly { fields.append(("stored_after_first_bad_row", .integer(UInt64(summary.storedAfterFirstBadRow)))) }
        if keepGoing { fields.append(("bad_rows_shown", .array(summary.errors.sorted(by: { $0.line < $1.line }).prefix(errorsShown).map(rowError)))) }
        if let stopped { fields.append(("stopped", .string("\(stopped)"))) }
        return .object(fields)
    }
}

/// One line on standard output, rewritten at most twice a second, while it is a terminal.
final class ProgressLine {
    let enabled: Bool
    private var lastNanoseconds: UInt64 = 0
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ summary: ImportSummary) {
        guard enabled else { return }
        let now = monotonicNanoseconds()
        guard now - lastNanoseconds >= 500_000_000 else { return }
        lastNanoseconds = now
        shown = true
        writeRaw(1, "\r\u{1B}[K" + summary.progressText)
    }

    func finish() {
        if shown { writeRaw(1, "\r\u{1B}[K") }
    }
}

func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

func writeRaw(_ descriptor: Int32, _ text: String) {
    var text = text
    text.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
}

