import FoundationEssentials

/// One episode as the fold needs it: copied out of a scan page.
struct FoldEvent: Sendable, Equatable {
    let position: UInt64
    let timestampMicroseconds: Int64
    let kind: UInt16
    let lead: UUID
}

/// What one fold command did.
struct FoldOutcome: Sendable, Equatable {
    /// Events folded into summaries.
    let foldedCount: Int
    /// Summaries written.
    let leadCount: Int
    /// The namespace's cursor after the command: the scan goes on from here.
    let nextPosition: UInt64
    /// The command's time on the writer thread.
    let elapsedMicroseconds: Int
}

/// Folds a page of a namespace's events into their leads' summaries and moves the namespace's
/// cursor past them, in one transaction (docs/LIFECYCLE.md, "Consolidation", step 3).
///
/// `from` is the cursor the page was read from, `to` the position after the last record the scan
/// examined, and `events` the counted events in between, in position order. The command stops
/// early (and moves the cursor only to its first unfolded event) at
/// `Limits.maintenanceCommandItemCountMax` events, at half of `maintenanceCommandMicrosecondsMax`,
/// or when its operation would pass half of `batchBytesMax`; it folds at least one event.
struct LeadEngagementFold: WriteCommand {
    let namespace: Namespace
    let from: UInt64
    let to: UInt64
    let events: [FoldEvent]

    var payloadByteCount: Int {
        RedoFraming.operationBytes(namespaceBytes: namespace.bytes.count, bodyBytes: 20) + events.count * LeadEngagementLayout.entryBytes
    }

    func execute(in context: inout WriteContext) throws(EngramError) -> FoldOutcome {
        let start = monotonicNanoseconds()
        let tables = context.tables.lifecycle
        var hidden: [UUID: UInt64] = [:]
        if context.lifecycle.markersMayExistForWriter {
            if try ErasureLookup.isErasing(namespace, table: tables.markers, in: context.transaction) {
                throw EngramError(.versionConflict, "namespace \(namespace.name) is being erased; nothing of it is folded")
            }
            hidden = try ErasureLookup.hiddenLeads(namespace, table: tables.markers, in: context.transaction)
        }
        let cursor = try FoldCursorLayout.read(namespace, table: tables.markers, in: context.transaction)
        guard cursor == from, to > from else {
            throw EngramError(.versionConflict, "namespace \(namespace.name)'s fold cursor is \(cursor), the page was read from \(from) to \(to)")
        }
        let limits = context.limits
        let budgetNanoseconds = UInt64(limits.maintenanceCommandMicrosecondsMax) * 1_000 / 2
        let bytesMax = limits.batchBytesMax / 2 - RedoFraming.operationBytes(namespaceBytes: namespace.bytes.count, bodyBytes: 20)
        var summaries: [UUID: LeadEngagement] = [:]
        var next = to
        var folded = 0
        for event in events {
            precondition(event.position >= from && event.position < to, "fold event at \(event.position) outside \(from)..<\(to)")
            let isNewLead = summaries[event.lead] == nil
            if folded > 0 && (folded >= limits.maintenanceCommandItemCountMax
                || monotonicNanoseconds() - start >= budgetNanoseconds
                || (summaries.count + (isNewLead ? 1 : 0)) * LeadEngagementLayout.entryBytes > bytesMax) {
                next = event.position
                break
            }
            if let before = hidden[event.lead], event.position < before { continue }
            var summary: LeadEngagement
            if let known = summaries[event.lead] {
                summary = known
            } else {
                summary = try Self.stored(namespace, event.lead, table: tables.engagement, in: context.transaction) ?? LeadEngagement()
            }
            // A summary already past this event was folded by an earlier command: the cursor
            // said otherwise, so the state is inconsistent.
            guard event.position > summary.lastPosition else {
                throw EngramError(.corrupt, "lead \(event.lead.uuidString)'s engagement already holds position \(summary.lastPosition), past the event at \(event.position) the cursor \(from) has yet to fold")
            }
            summary.fold(kind: event.kind, timestampMicroseconds: event.timestampMicroseconds, position: event.position)
            summaries[event.lead] = summary
            folded += 1
        }
        let entries = summaries.sorted { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }.map { LeadEngagementEntry(lead: $0.key, engagement: $0.value) }
        try context.apply(LeadEngagementFoldOperation(namespace: namespace, from: from, to: next, entries: entries))
        let elapsed = Int((monotonicNanoseconds() - start) / 1_000)
        return FoldOutcome(foldedCount: folded, leadCount: entries.count, nextPosition: next, elapsedMicroseconds: elapsed)
    }

    static func stored(_ namespace: Namespace, _ lead: UUID, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> LeadEngagement? {
        try LeadEngagementLayout.key(namespace, lead).withBytes { (key) throws(EngramError) -> LeadEngagement? in
            guard let value = try transaction.get(table, key) else { return nil }
            return try LeadEngagementLayout.decode(value, source: table.name)
        }
    }
}

/// Logged change (32): `ns from:u64 to:u64 count:u32 (lead:uuid summary:56)*`. The summaries are
/// whole values, so replay writes them as they are; the cursor moves from `from` to `to`.
struct LeadEngagementFoldOperation: RedoOperation {
    static let opcode = RedoOpcode.leadEngagementFold
    let namespace: Namespace
    let from: UInt64
    let to: UInt64
    let entries: [LeadEngagementEntry]

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(from)
        writer.write(to)
        writer.write(UInt32(entries.count))
        for entry in entries {
            writer.write(contentsOf: entry.lead.bytes)
            LeadEngagementLayout.encode(entry.engagement, into: &writer)
        }
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadEngagementFoldOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let from = try reader.read(UInt64.self, "the first position")
        let to = try reader.read(UInt64.self, "the next position")
        let count = Int(try reader.read(UInt32.self, "the summary count"))
        guard count <= reader.remaining / LeadEngagementLayout.entryBytes else {
            throw reader.failure("\(count) summaries cannot fit \(reader.remaining) bytes")
        }
        var entries: [LeadEngagementEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let lead = UUID(bytes: try reader.readSlice(16, "a lead id"))
            entries.append(LeadEngagementEntry(lead: lead, engagement: try LeadEngagementLayout.decode(from: &reader)))
        }
        return LeadEngagementFoldOperation(namespace: namespace, from: from, to: to, entries: entries)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.lifecycle
        let cursor = try FoldCursorLayout.read(namespace, table: tables.markers, in: context.transaction)
        guard cursor == from, to > from else {
            throw EngramError(.corrupt, "a logged fold of namespace \(namespace.name) moves its cursor from \(from) to \(to), but the cursor is \(cursor)")
        }
        for entry in entries {
            let value = LeadEngagementLayout.encoded(entry.engagement)
            try LeadEngagementLayout.key(namespace, entry.lead).withBytes { (key) throws(EngramError) in
                try value.withBytes { (value) throws(EngramError) in try context.put(tables.engagement, key, value) }
            }
        }
        let cursorValue = FoldCursorLayout.encode(to)
        try LifecycleKey.namespaced(LifecycleKey.foldCursor, namespace).withBytes { (key) throws(EngramError) in
            try cursorValue.withBytes { (value) throws(EngramError) in try context.put(tables.markers, key, value) }
        }
    }
}
