import EngramClient
import EngramProtocol

/// How `BulkLoader` sends.
public struct BulkLoadOptions: Sendable {
    public var namespace: String
    /// Requests in flight at once on the connection (1 to `ImportLimits.inFlightBatchCountMax`).
    public var inFlightBatchCountMax: Int
    /// Records a request carries at most, per kind: the server's defaults (docs/PROTOCOL.md).
    public var leadBatchCountMax: Int
    public var campaignBatchCountMax: Int
    public var metricBatchCountMax: Int
    public var durability: WireDurability?
    /// Whether the load stops at the first bad row (the default, `engram import`'s) or reports
    /// every bad row and loads the rest (`--keep-going`).
    public var stopsAtFirstBadRow: Bool

    public init(namespace: String, inFlightBatchCountMax: Int = ImportLimits.inFlightBatchCountDefault, leadBatchCountMax: Int = 1_024, campaignBatchCountMax: Int = 1_024, metricBatchCountMax: Int = 1_024, durability: WireDurability? = nil, stopsAtFirstBadRow: Bool = true) {
        self.namespace = namespace
        self.stopsAtFirstBadRow = stopsAtFirstBadRow
        self.inFlightBatchCountMax = inFlightBatchCountMax
        self.leadBatchCountMax = leadBatchCountMax
        self.campaignBatchCountMax = campaignBatchCountMax
        self.metricBatchCountMax = metricBatchCountMax
        self.durability = durability
    }
}

/// What an import did so far.
public struct ImportSummary: Sendable {
    /// Rows read (records and unreadable rows; blank lines and the header are not rows).
    public var rowCount = 0
    /// Rows the server stored, per kind.
    public var storedCount: [ImportKind: Int] = [:]
    public var errorCount = 0
    /// The first `ImportLimits.errorsKeptMax` errors, in the order they were found.
    public var errors: [RowError] = []
    public var elapsedSeconds = 0.0
    /// The bad row with the lowest line: the first bad row of the file among those read.
    public private(set) var firstBadRow: RowError?
    /// Whether the load stopped at the first bad row before the end of the file.
    public var stoppedEarly = false
    /// Rows past the first bad row that were stored all the same: they were in a request sent
    /// before the bad row was known (its own, or one in flight). Counted when the load stops at
    /// the first bad row; every row before it is stored.
    public var storedAfterFirstBadRow = 0
    /// Bytes of the file read and used, and its size when known, for progress by bytes.
    public var bytesConsumed = 0
    public var byteCount: Int?

    public init() {}

    public var totalStored: Int { storedCount.values.reduce(0, +) }
    public var rowsPerSecond: Double { elapsedSeconds > 0 ? Double(rowCount) / elapsedSeconds : 0 }
    /// Percent of the file's bytes read, when its size is known.
    public var percentByBytes: Double? {
        guard let byteCount else { return nil }
        return byteCount > 0 ? min(100, 100 * Double(bytesConsumed) / Double(byteCount)) : 100
    }

    mutating func record(_ error: RowError) {
        errorCount += 1
        if errors.count < ImportLimits.errorsKeptMax { errors.append(error) }
        if firstBadRow.map({ error.line < $0.line }) ?? true { firstBadRow = error }
    }
}

/// Loads import rows through the batched opcodes on one connection: lead and campaign upsert
/// batches and metric appends, cut by count and by the server's frame limit, several in flight.
///
/// One connection, written in file order (`EngramConnection.start`), so the server applies the
/// rows in the file's order: a campaign is stored before the events after it that name it, and a
/// lead given twice ends as its later row. Answers are taken oldest first.
///
/// At the first bad row (unreadable, or refused by the server) the load stops, unless
/// `stopsAtFirstBadRow` is off: it reads no further, sends the rows read before an unreadable
/// row, sends nothing after a refused one, and waits for the requests in flight. Every row before
/// the first bad row is then stored; rows after it that shared its request or were in flight may
/// be stored too (`ImportSummary.storedAfterFirstBadRow` counts them).
///
/// A whole request the server refuses (`busy` is retried after a pause) counts each of its rows as
/// an error; a metric append refused as a whole is sent again one event at a time, so each event
/// gets its own answer (nothing of the refused append was stored). A broken connection or a
/// timeout is thrown: what was in flight may or may not be stored.
///
/// Not thread-safe: one loader belongs to one task.
public final class BulkLoader {
    let connection: EngramConnection
    let options: BulkLoadOptions
    private(set) public var summary = ImportSummary()
    private let start = ContinuousClock.now

    private var pending = Batch(kind: .lead)
    /// Requests in flight, oldest first.
    private var inFlight: [(batch: Batch, answer: PendingResponse)] = []
    private var inFlightHead = 0
    /// Set at the first bad row when the load stops there.
    private var stopping = false
    /// The lines of rows stored by answers taken after the load began to stop, to count those
    /// past the first bad row (at most the rows in flight then).
    private var linesStoredWhileStopping: [Int] = []
    /// A CSV file's header, for the column of a row the server refused.
    private var header: [ImportColumn]?

    /// The records of one request, with their lines.
    struct Batch {
        var kind: ImportKind
        var lines: [Int] = []
        var records: [[UInt8]] = []
        var events: [WireMetricEvent] = []
        var bytes = 0
    }

    /// Pauses before a `busy` request is sent again, and how many times.
    static let busyRetryMilliseconds = 100
    static let busyRetryCountMax = 50

    public init(connection: EngramConnection, options: BulkLoadOptions) {
        precondition((1...ImportLimits.inFlightBatchCountMax).contains(options.inFlightBatchCountMax), "inFlightBatchCountMax \(options.inFlightBatchCountMax) is outside 1...\(ImportLimits.inFlightBatchCountMax)")
        self.connection = connection
        self.options = options
    }

    /// Bytes the records of one request may take: the server's bound on an upsert batch's
    /// records, or the frame limit less the header, the namespace and the count if that is less.
    var recordBytesMax: Int {
        min(ImportLimits.requestRecordBytesMax, Int(connection.hello.limits.requestFrameBytesMax) - FrameHeader.byteCount - 1 - options.namespace.utf8.count - 2)
    }

    /// Reads the rows of `reader` and loads them; `progress` is called after each answer.
    public func load<Source>(_ reader: inout ImportReader<Source>, byteCount: Int? = nil, progress: (ImportSummary) -> Void = { _ in }) async throws -> ImportSummary {
        summary.byteCount = byteCount
        while !stopping, let item = try reader.next() {
            summary.rowCount += 1
            summary.bytesConsumed = reader.bytesConsumed
            if header == nil { header = reader.columns }
            switch item {
            case .unreadable(let error):
                summary.record(error)
                // The rows before it are sent; nothing after it is read.
                if options.stopsAtFirstBadRow { try await send(progress, beforeStopping: true) }
            case .row(let row):
                try await add(row, progress)
            }
        }
        if !stopping { try await send(progress) }
        while inFlightHead < inFlight.count { try await takeOldest(progress) }
        if stopping {
            summary.stoppedEarly = true
            let firstLine = summary.firstBadRow?.line ?? Int.max
            summary.storedAfterFirstBadRow = linesStoredWhileStopping.count { $0 > firstLine }
        }
        summary.bytesConsumed = reader.bytesConsumed
        summary.elapsedSeconds = elapsed()
        progress(summary)
        return summary
    }

    func elapsed() -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Records a bad row; when the load stops at the first, it stops now.
    private func record(_ error: RowError) {
        summary.record(error)
        if options.stopsAtFirstBadRow { stopping = true }
    }

    private func add(_ row: ImportRow, _ progress: (ImportSummary) -> Void) async throws {
        let kind = row.record.kind
        let size: Int
        switch row.record {
        case .lead(let lead): size = 4 + lead.recordByteCount
        case .campaign(let campaign): size = 4 + campaign.record.count
        case .metric: size = WireMetricEvent.byteCount
        }
        if kind != pending.kind || pending.bytes + size > recordBytesMax { try await send(progress) }
        pending.kind = kind
        pending.lines.append(row.line)
        pending.bytes += size
        switch row.record {
        case .lead(let lead): pending.records.append(lead.record)
        case .campaign(let campaign): pending.records.append(campaign.record)
        case .metric(let event): pending.events.append(event)
        }
        if pending.lines.count >= countMax(kind) { try await send(progress) }
    }

    private func countMax(_ kind: ImportKind) -> Int {
        switch kind {
        case .lead: options.leadBatchCountMax
        case .campaign: options.campaignBatchCountMax
        case .metric: options.metricBatchCountMax
        }
    }

    private func request(_ batch: Batch) -> Request {
        switch batch.kind {
        case .lead: .leadUpsertBatch(namespace: options.namespace, records: batch.records)
        case .campaign: .campaignUpsertBatch(namespace: options.namespace, records: batch.records)
        case .metric: .metricAppend(namespace: options.namespace, events: batch.events)
        }
    }

    /// Sends the pending batch, first taking the oldest answer if the pipeline is full. Once the
    /// load is stopping because the server refused a row, the batch is dropped: its rows all
    /// come after that row. `beforeStopping` sends it all the same: its rows come before an
    /// unreadable row the reader just found.
    private func send(_ progress: (ImportSummary) -> Void, beforeStopping: Bool = false) async throws {
        let batch = pending
        pending = Batch(kind: batch.kind)
        if beforeStopping { stopping = true }
        guard !batch.lines.isEmpty else { return }
        while inFlight.count - inFlightHead >= options.inFlightBatchCountMax { try await takeOldest(progress) }
        guard !stopping || beforeStopping else { return }
        inFlight.append((batch, connection.start(request(batch), durability: options.durability)))
        if inFlightHead > 64 {
            inFlight.removeFirst(inFlightHead)
            inFlightHead = 0
        }
    }

    private func takeOldest(_ progress: (ImportSummary) -> Void) async throws {
        let (batch, answer) = inFlight[inFlightHead]
        inFlightHead += 1
        try await settle(batch, answer)
        summary.elapsedSeconds = elapsed()
        progress(summary)
    }

    /// Counts one request's outcome into the summary.
    private func settle(_ batch: Batch, _ answer: PendingResponse, attempt: Int = 1) async throws {
        let answered: Result<Response, EngramClientError>
        do throws(EngramClientError) {
            answered = .success(try await answer.response())
        } catch {
            answered = .failure(error)
        }
        let response: Response
        switch answered {
        case .success(let value):
            response = value
        case .failure(let error):
            try await refused(batch, error, attempt: attempt)
            return
        }
        switch response {
        case .upsertOutcomes(_, let outcomes) where outcomes.count == batch.lines.count:
            var storedCount = 0
            for (line, outcome) in zip(batch.lines, outcomes) {
                switch outcome {
                case .stored:
                    storedCount += 1
                    if stopping { linesStoredWhileStopping.append(line) }
                case .refused(let status, let message):
                    record(refusal(line: line, status: status, message: message))
                }
            }
            summary.storedCount[batch.kind, default: 0] += storedCount
        case .sequences(let sequences) where batch.kind == .metric && sequences.count == batch.lines.count:
            summary.storedCount[.metric, default: 0] += sequences.count
            if stopping { linesStoredWhileStopping += batch.lines }
        default:
            throw EngramClientError(.protocolViolation, "unexpected answer \(response) to a batch of \(batch.lines.count) \(batch.kind.plural)")
        }
    }

    /// A refused row, with the column of the field the server's message starts with.
    private func refusal(line: Int, status: Status, message: String) -> RowError {
        let field = message.split(separator: " ", maxSplits: 1).first.flatMap { ImportColumn(name: String($0)) }
        let position = field.flatMap { field in header?.firstIndex(of: field) }.map { $0 + 1 }
        return RowError(line: line, column: position, field: field?.rawValue, status: status.name, message: message)
    }

    /// A request refused as a whole: `busy` is sent again after a pause; a metric append refused
    /// for one of its events is sent again event by event; otherwise every row is an error. An
    /// error without a server status (the connection broke, a timeout) ends the import.
    private func refused(_ batch: Batch, _ error: EngramClientError, attempt: Int) async throws {
        guard let status = error.code.status else { throw error }
        if status == .busy && attempt < Self.busyRetryCountMax {
            try await Task.sleep(for: .milliseconds(Self.busyRetryMilliseconds))
            try await settle(batch, connection.start(request(batch), durability: options.durability), attempt: attempt + 1)
        } else if batch.kind == .metric && batch.events.count > 1 && [.notFound, .valueTooLarge, .invalidArgument].contains(status) {
            try await appendOneByOne(batch)
        } else {
            for line in batch.lines { record(RowError(line: line, status: status.name, message: error.message)) }
        }
    }

    /// A metric append refused as a whole: nothing of it was stored, so each event is sent alone,
    /// in order, and gets its own answer; when the load stops at the first bad row, the events
    /// after the first refused one are not sent.
    private func appendOneByOne(_ batch: Batch) async throws {
        let errorsBefore = summary.errorCount
        for index in batch.events.indices {
            if options.stopsAtFirstBadRow && summary.errorCount > errorsBefore { break }
            var single = Batch(kind: .metric)
            single.lines = [batch.lines[index]]
            single.events = [batch.events[index]]
            try await settle(single, connection.start(.metricAppend(namespace: options.namespace, events: single.events), durability: options.durability))
        }
    }
}
