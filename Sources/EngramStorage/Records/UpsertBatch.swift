import FoundationEssentials

/// An upsert that can ride in an `UpsertBatch`: a single-record write command of one namespace,
/// whose logged size and batch bound are known before it runs.
public protocol BatchedUpsert: WriteCommand {
    var namespace: Namespace { get }
    /// The bytes its redo operation takes in the batch payload, for `Limits.batchBytesMax`.
    var loggedByteCount: Int { get }
    /// The most items of this kind one batch command may hold.
    static func batchCountMax(_ limits: Limits) -> Int
    /// The kind, for messages: "leads", "campaigns".
    static var pluralName: String { get }
    /// The name of the `Limits` field `batchCountMax` reads, for the message that refuses a
    /// batch over it.
    static var countLimitName: String { get }
}

/// What an upsert batch did: the batch time (every stored item's `updated_at`) and, per item in
/// request order, the record as stored or the error that refused it.
public struct UpsertBatchOutcome<Stored: Sendable>: Sendable {
    public var batchTimeMicroseconds: Int64
    public var results: [Result<Stored, EngramError>]
}

/// Many upserts of one namespace in one writer command, each item with its own outcome
/// (docs/RECORDS.md, "Upsert batches").
///
/// Each item is validated as the single upsert is when the batch is made, on the caller's thread;
/// an item that fails keeps its error and never reaches the writer. On the writer thread the items
/// run in order through the single upsert's own `execute`, so their checks and redo operations are
/// exactly those of a run of single upserts: replay and the records' consistency need nothing new.
/// An item whose precondition fails is refused and the next runs. A failure after an item changed
/// the store (a store error under its redo operation) is rethrown with `commandChangedState` set,
/// so the writer undoes the whole batch, as for any command.
public struct UpsertBatch<Upsert: BatchedUpsert>: WriteCommand {
    public let namespace: Namespace
    /// Per item in request order: the upsert to run, or why it was refused before the writer.
    public let items: [Result<Upsert, EngramError>]
    /// The limits the items were validated against; the store refuses a batch made for others.
    let validatedLimits: Limits
    /// The bytes the items' redo operations take in the batch payload: computed once, as the
    /// store reads it twice (validation and queueing) and each item's sum walks its texts.
    public let payloadByteCount: Int

    /// Validates each item that decoded (`items[i]` a success) with `limits`, which must be the
    /// limits of the store the batch is written to. Every upsert must address `namespace`.
    public init(namespace: Namespace, items: [Result<Upsert, EngramError>], limits: Limits) {
        self.namespace = namespace
        self.validatedLimits = limits
        // A batch over its count bound is refused whole by `validate`; checking its items first
        // would be work for nothing.
        guard (1...Upsert.batchCountMax(limits)).contains(items.count) else {
            self.items = items
            self.payloadByteCount = 0
            return
        }
        let validated = items.map { item in
            item.flatMap { (upsert) -> Result<Upsert, EngramError> in
                precondition(upsert.namespace == namespace, "an upsert of namespace \(upsert.namespace.name) in a batch of \(namespace.name)")
                do throws(EngramError) {
                    try upsert.validate(limits)
                    return .success(upsert)
                } catch {
                    return .failure(error)
                }
            }
        }
        self.items = validated
        self.payloadByteCount = validated.reduce(0) { total, item in
            guard case .success(let upsert) = item else { return total }
            return total + upsert.loggedByteCount
        }
    }

    public init(namespace: Namespace, upserts: [Upsert], limits: Limits) {
        self.init(namespace: namespace, items: upserts.map { .success($0) }, limits: limits)
    }

    /// Refuses a request of `recordCount` records taking `byteCount` bytes (each record and its
    /// u32 length) outside the bounds, before any record is decoded: the count bound of `validate`
    /// and `Limits.upsertBatchRequestBytesMax`.
    public static func checkRequest(recordCount: Int, byteCount: Int, _ limits: Limits) throws(EngramError) {
        try checkCount(recordCount, limits)
        guard byteCount <= limits.upsertBatchRequestBytesMax else {
            throw EngramError(.valueTooLarge, "\(recordCount) \(Upsert.pluralName) take \(byteCount) bytes, over upsertBatchRequestBytesMax \(limits.upsertBatchRequestBytesMax)")
        }
    }

    static func checkCount(_ count: Int, _ limits: Limits) throws(EngramError) {
        guard count > 0 else { throw EngramError(.invalidArgument, "an upsert batch needs at least one of its \(Upsert.pluralName)") }
        let countMax = Upsert.batchCountMax(limits)
        guard count <= countMax else {
            throw EngramError(.valueTooLarge, "\(count) \(Upsert.pluralName) exceed \(Upsert.countLimitName) \(countMax)")
        }
    }

    public var affectedNamespace: Namespace? { namespace }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        try Self.checkCount(items.count, limits)
        guard limits == validatedLimits else {
            throw EngramError(.invalidArgument, "the upsert batch was validated against other limits than the store's")
        }
        let bytes = payloadByteCount
        guard bytes <= limits.batchBytesMax else {
            throw EngramError(.valueTooLarge, "\(items.count) \(Upsert.pluralName) take \(bytes) bytes logged, over batchBytesMax \(limits.batchBytesMax)")
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> UpsertBatchOutcome<Upsert.Outcome> {
        // Each item is judged on its own change; the command has changed state if any item did.
        var changed = context.commandChangedState
        var results: [Result<Upsert.Outcome, EngramError>] = []
        results.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .failure(let refusal):
                results.append(.failure(refusal))
            case .success(let upsert):
                context.commandChangedState = false
                do throws(EngramError) {
                    results.append(.success(try upsert.execute(in: &context)))
                } catch {
                    // The item changed the store before it failed: only undoing the writer's
                    // batch removes that change, so the whole command fails.
                    if context.commandChangedState { throw error }
                    results.append(.failure(error))
                }
                changed = changed || context.commandChangedState
            }
        }
        context.commandChangedState = changed
        return UpsertBatchOutcome(batchTimeMicroseconds: context.batchTimeMicroseconds, results: results)
    }
}

public typealias LeadUpsertBatch = UpsertBatch<LeadUpsert>
public typealias CampaignUpsertBatch = UpsertBatch<CampaignUpsert>

extension LeadUpsert: BatchedUpsert {
    public var loggedByteCount: Int {
        RedoFraming.operationBytes(namespaceBytes: namespace.bytes.count, bodyBytes: 4 + LeadLayout.encodedByteCount(texts: texts, metadata: metadata))
    }

    public static func batchCountMax(_ limits: Limits) -> Int { limits.leadUpsertBatchCountMax }
    public static var pluralName: String { "leads" }
    public static var countLimitName: String { "leadUpsertBatchCountMax" }
}

extension CampaignUpsert: BatchedUpsert {
    public var loggedByteCount: Int {
        RedoFraming.operationBytes(namespaceBytes: namespace.bytes.count, bodyBytes: 4 + CampaignLayout.encodedByteCount(name: name, type: type))
    }

    public static func batchCountMax(_ limits: Limits) -> Int { limits.campaignUpsertBatchCountMax }
    public static var pluralName: String { "campaigns" }
    public static var countLimitName: String { "campaignUpsertBatchCountMax" }
}
