/// The write commands and redo operations of a namespace erase (docs/LIFECYCLE.md, "Namespace
/// erase"): begin (seal and marker), range steps, finish.

/// The key ranges a namespace erase empties, in the order it empties them; the raw values are
/// logged (operation 34).
enum EraseRange: UInt8, CaseIterable, Sendable {
    case longTerm = 1, semantic = 2
    case leads = 3, leadEmails = 4, leadScores = 5, leadStatuses = 6, campaigns = 7, campaignStatuses = 8
    case campaignEvents = 9, campaignSummaries = 10, campaignHourly = 11
    case leadEngagement = 12
    case episodicAgents = 13, episodicSequenceIndex = 14, episodicTimeIndex = 15
    case leadMarkers = 16, foldCursor = 17

    func table(_ tables: Tables) -> LMDBDatabase {
        switch self {
        case .longTerm: tables.longTerm
        case .semantic: tables.semantic
        case .leads: tables.records.leads
        case .leadEmails: tables.records.leadEmails
        case .leadScores: tables.records.leadScores
        case .leadStatuses: tables.records.leadStatuses
        case .campaigns: tables.records.campaigns
        case .campaignStatuses: tables.records.campaignStatuses
        case .campaignEvents: tables.records.campaignEvents
        case .campaignSummaries: tables.records.campaignSummaries
        case .campaignHourly: tables.records.campaignHourly
        case .leadEngagement: tables.lifecycle.engagement
        case .episodicAgents, .episodicSequenceIndex, .episodicTimeIndex: tables.episodic
        case .leadMarkers, .foldCursor: tables.lifecycle.markers
        }
    }

    /// Every key of the namespace in the range starts with this.
    func prefix(_ namespace: Namespace) -> [UInt8] {
        let ns = [UInt8(namespace.bytes.count)] + namespace.bytes
        switch self {
        case .episodicAgents: return [EpisodicKey.agent] + ns
        case .episodicSequenceIndex: return [EpisodicKey.sequenceIndex] + ns
        case .episodicTimeIndex: return [EpisodicKey.timeIndex] + ns
        case .leadMarkers: return [LifecycleKey.leadErasure] + ns
        case .foldCursor: return [LifecycleKey.foldCursor] + ns
        default: return ns
        }
    }

    /// The range's keys in `transaction`, counted up to `countMax`.
    func count(_ namespace: Namespace, tables: Tables, in transaction: StoreTransaction, countMax: Int) throws(EngramError) -> Int {
        let prefix = prefix(namespace)
        return try transaction.withCursor(table(tables)) { (cursor) throws(EngramError) -> Int in
            var count = 0
            var entry = try prefix.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while count < countMax, let current = entry, current.key.starts(with: prefix) {
                count += 1
                entry = try cursor.next()
            }
            return count
        }
    }
}

/// Puts the namespace's marker, sealing the episodic log's active segment first. The outcome is
/// the marker, the one found when the erase had begun already.
struct NamespaceEraseBegin: WriteCommand {
    let namespace: Namespace

    var payloadByteCount: Int { 64 + namespace.bytes.count }

    func execute(in context: inout WriteContext) throws(EngramError) -> ErasureMarker {
        let table = context.tables.lifecycle.markers
        if let existing = try LifecycleKey.namespaced(LifecycleKey.namespaceErasure, namespace).withBytes({ (key) throws(EngramError) -> ErasureMarker? in
            try context.get(table, key).map { (value) throws(EngramError) in try ErasureMarker.decode(value, source: table.name) }
        }) {
            return existing
        }
        try EpisodicSealOperation.sealIfNeeded(in: &context)
        let state = try context.episodicLog.readState(context.transaction, context.tables.episodic)
        let marker = ErasureMarker(beforePosition: state.nextPosition, startedAtMicroseconds: context.batchTimeMicroseconds)
        try context.apply(NamespaceEraseBeginOperation(namespace: namespace, marker: marker))
        return marker
    }
}

/// Logged change (33): `ns before_position:u64 started_at:i64`.
struct NamespaceEraseBeginOperation: RedoOperation {
    static let opcode = RedoOpcode.namespaceEraseBegin
    let namespace: Namespace
    let marker: ErasureMarker

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(marker.beforePosition)
        writer.write(marker.startedAtMicroseconds)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> NamespaceEraseBeginOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        return NamespaceEraseBeginOperation(namespace: namespace, marker: ErasureMarker(beforePosition: try reader.read(UInt64.self, "before_position"), startedAtMicroseconds: try reader.read(Int64.self, "started_at")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.lifecycle.markers
        let value = marker.encoded()
        try LifecycleKey.namespaced(LifecycleKey.namespaceErasure, namespace).withBytes { (key) throws(EngramError) in
            guard try context.get(table, key) == nil else {
                throw EngramError(.corrupt, "a logged erase of namespace \(namespace.name) begins, but its marker exists")
            }
            try value.withBytes { (value) throws(EngramError) in try context.put(table, key, value) }
        }
        context.lifecycle.noteMarkerPut(in: &context)
        context.lifecycle.noteHotTier(namespace, erasing: true, in: &context)
    }
}

/// What one range step did.
struct RangeStepOutcome: Sendable, Equatable {
    let deletedCount: Int
    /// The range holds no key of the namespace any more.
    let isEmpty: Bool
    let elapsedMicroseconds: Int
}

/// Deletes the first keys of one range of an erasing namespace, 64 per logged operation, until
/// `Limits.maintenanceCommandItemCountMax` keys, `maintenanceCommandMicrosecondsMax`, or the end
/// of the range.
struct NamespaceEraseRangeStep: WriteCommand {
    static let keysPerOperation = 64
    let namespace: Namespace
    let range: EraseRange

    var payloadByteCount: Int { 64 + namespace.bytes.count }

    func execute(in context: inout WriteContext) throws(EngramError) -> RangeStepOutcome {
        let start = monotonicNanoseconds()
        guard try ErasureLookup.isErasing(namespace, table: context.tables.lifecycle.markers, in: context.transaction) else {
            throw EngramError(.versionConflict, "namespace \(namespace.name) is not being erased")
        }
        let limits = context.limits
        let budgetNanoseconds = UInt64(limits.maintenanceCommandMicrosecondsMax) * 1_000
        var deleted = 0
        while true {
            let countMax = min(Self.keysPerOperation, limits.maintenanceCommandItemCountMax - deleted)
            let count = try range.count(namespace, tables: context.tables, in: context.transaction, countMax: countMax)
            if count == 0 {
                return RangeStepOutcome(deletedCount: deleted, isEmpty: true, elapsedMicroseconds: Int((monotonicNanoseconds() - start) / 1_000))
            }
            try context.apply(NamespaceEraseRangeOperation(namespace: namespace, range: range, count: count))
            deleted += count
            if deleted >= limits.maintenanceCommandItemCountMax || monotonicNanoseconds() - start >= budgetNanoseconds { break }
        }
        let isEmpty = try range.count(namespace, tables: context.tables, in: context.transaction, countMax: 1) == 0
        return RangeStepOutcome(deletedCount: deleted, isEmpty: isEmpty, elapsedMicroseconds: Int((monotonicNanoseconds() - start) / 1_000))
    }
}

/// Logged change (34): `ns range:u8 count:u32`, the first `count` keys of the range deleted.
struct NamespaceEraseRangeOperation: RedoOperation {
    static let opcode = RedoOpcode.namespaceEraseRange
    let namespace: Namespace
    let range: EraseRange
    let count: Int

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(range.rawValue)
        writer.write(UInt32(count))
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> NamespaceEraseRangeOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let code = try reader.readUInt8("the range")
        guard let range = EraseRange(rawValue: code) else { throw reader.failure("unknown erase range \(code)") }
        return NamespaceEraseRangeOperation(namespace: namespace, range: range, count: Int(try reader.read(UInt32.self, "the key count")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let prefix = range.prefix(namespace)
        let deleted = try context.withCursor(range.table(context.tables)) { (cursor) throws(EngramError) -> Int in
            var deleted = 0
            // On from each deleted key (`RecordRanges.deleteAll` says why not from the prefix).
            var entry = try prefix.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while deleted < count, let current = entry, current.key.starts(with: prefix) {
                try cursor.deleteCurrent()
                deleted += 1
                entry = try cursor.next()
            }
            return deleted
        }
        guard deleted == count else {
            throw EngramError(.corrupt, "a logged erase step of namespace \(namespace.name) deletes \(count) keys of range \(range), which holds \(deleted)")
        }
    }
}

/// Removes the marker once every range is empty; the namespace takes writes again.
struct NamespaceEraseFinish: WriteCommand {
    let namespace: Namespace

    var payloadByteCount: Int { 16 + namespace.bytes.count }

    func execute(in context: inout WriteContext) throws(EngramError) {
        guard try ErasureLookup.isErasing(namespace, table: context.tables.lifecycle.markers, in: context.transaction) else {
            throw EngramError(.versionConflict, "namespace \(namespace.name) is not being erased")
        }
        for range in EraseRange.allCases where try range.count(namespace, tables: context.tables, in: context.transaction, countMax: 1) > 0 {
            throw EngramError(.versionConflict, "namespace \(namespace.name) still has keys in range \(range)")
        }
        try context.apply(NamespaceEraseFinishOperation(namespace: namespace))
    }
}

/// Logged change (35): `ns`, the marker removed.
struct NamespaceEraseFinishOperation: RedoOperation {
    static let opcode = RedoOpcode.namespaceEraseFinish
    let namespace: Namespace

    func encode(into writer: inout ByteWriter) { RedoCoding.write(namespace, into: &writer) }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> NamespaceEraseFinishOperation {
        NamespaceEraseFinishOperation(namespace: try RedoCoding.readNamespace(from: &reader))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.lifecycle.markers
        for range in EraseRange.allCases where try range.count(namespace, tables: context.tables, in: context.transaction, countMax: 1) > 0 {
            throw EngramError(.corrupt, "a logged erase of namespace \(namespace.name) finishes with keys left in range \(range)")
        }
        let existed = try LifecycleKey.namespaced(LifecycleKey.namespaceErasure, namespace).withBytes { (key) throws(EngramError) in try context.delete(table, key) }
        guard existed else { throw EngramError(.corrupt, "a logged erase of namespace \(namespace.name) finishes, but it has no marker") }
        try context.lifecycle.noteMarkerRemoved(in: &context)
        context.lifecycle.noteHotTier(namespace, erasing: false, in: &context)
    }
}
