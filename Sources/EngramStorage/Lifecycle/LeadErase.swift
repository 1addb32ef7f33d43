import FoundationEssentials

/// The write commands and redo operations of a lead erase (docs/LIFECYCLE.md, "Lead erase").

/// In one transaction: seals the episodic log's active segment, deletes the lead record and its
/// index entries (operation 17) and its engagement summary, and puts the lead's marker. The
/// outcome is whether this command deleted a lead record: false when there was none, or when the
/// erase had begun already (its begin deleted the record then).
struct LeadEraseBegin: WriteCommand {
    let namespace: Namespace
    let lead: UUID

    var payloadByteCount: Int { 96 + namespace.bytes.count }

    func execute(in context: inout WriteContext) throws(EngramError) -> Bool {
        let table = context.tables.lifecycle.markers
        if context.lifecycle.markersMayExistForWriter {
            // The namespace's erase takes the lead with it.
            try context.refuseIfErasing(namespace)
            if try LifecycleKey.lead(namespace, lead).withBytes({ (key) throws(EngramError) -> Bool in
                guard let value = try context.get(table, key) else { return false }
                _ = try ErasureMarker.decode(value, source: table.name)
                return true
            }) {
                return false
            }
        }
        try EpisodicSealOperation.sealIfNeeded(in: &context)
        let leads = context.tables.records.leads
        let namespace = namespace, lead = lead
        let exists = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: lead) }) { (key) throws(EngramError) in
            try context.get(leads, key) != nil
        }
        if exists { try context.apply(LeadDeleteOperation(namespace: namespace, id: lead)) }
        let state = try context.episodicLog.readState(context.transaction, context.tables.episodic)
        let marker = ErasureMarker(beforePosition: state.nextPosition, startedAtMicroseconds: context.batchTimeMicroseconds)
        try context.apply(LeadEraseBeginOperation(namespace: namespace, lead: lead, marker: marker))
        return exists
    }
}

/// Logged change (36): `ns lead:uuid before_position:u64 started_at:i64`. Deletes the lead's
/// engagement summary (if any) and puts its marker.
struct LeadEraseBeginOperation: RedoOperation {
    static let opcode = RedoOpcode.leadEraseBegin
    let namespace: Namespace
    let lead: UUID
    let marker: ErasureMarker

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: lead.bytes)
        writer.write(marker.beforePosition)
        writer.write(marker.startedAtMicroseconds)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadEraseBeginOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let lead = UUID(bytes: try reader.readSlice(16, "the lead id"))
        let marker = ErasureMarker(beforePosition: try reader.read(UInt64.self, "before_position"), startedAtMicroseconds: try reader.read(Int64.self, "started_at"))
        return LeadEraseBeginOperation(namespace: namespace, lead: lead, marker: marker)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.lifecycle
        try LeadEngagementLayout.key(namespace, lead).withBytes { (key) throws(EngramError) in _ = try context.delete(tables.engagement, key) }
        let value = marker.encoded()
        try LifecycleKey.lead(namespace, lead).withBytes { (key) throws(EngramError) in
            guard try context.get(tables.markers, key) == nil else {
                throw EngramError(.corrupt, "a logged erase of lead \(lead.uuidString) in namespace \(namespace.name) begins, but its marker exists")
            }
            try value.withBytes { (value) throws(EngramError) in try context.put(tables.markers, key, value) }
        }
        context.lifecycle.noteMarkerPut(in: &context)
    }
}

/// Removes the lead's marker once the purge has taken its episodes from every segment.
struct LeadEraseFinish: WriteCommand {
    let namespace: Namespace
    let lead: UUID

    var payloadByteCount: Int { 32 + namespace.bytes.count }

    func execute(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.lifecycle.markers
        let exists = try LifecycleKey.lead(namespace, lead).withBytes { (key) throws(EngramError) in try context.get(table, key) != nil }
        guard exists else { throw EngramError(.versionConflict, "lead \(lead.uuidString) in namespace \(namespace.name) is not being erased") }
        try context.apply(LeadEraseFinishOperation(namespace: namespace, lead: lead))
    }
}

/// Logged change (37): `ns lead:uuid`, the marker removed.
struct LeadEraseFinishOperation: RedoOperation {
    static let opcode = RedoOpcode.leadEraseFinish
    let namespace: Namespace
    let lead: UUID

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: lead.bytes)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadEraseFinishOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        return LeadEraseFinishOperation(namespace: namespace, lead: UUID(bytes: try reader.readSlice(16, "the lead id")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.lifecycle.markers
        let existed = try LifecycleKey.lead(namespace, lead).withBytes { (key) throws(EngramError) in try context.delete(table, key) }
        guard existed else {
            throw EngramError(.corrupt, "a logged erase of lead \(lead.uuidString) in namespace \(namespace.name) finishes, but it has no marker")
        }
        try context.lifecycle.noteMarkerRemoved(in: &context)
    }
}

/// Completes once a checkpoint has applied every batch before it to LMDB; with `retiringCommitLog`
/// the commit log's active segment is retired first, so the checkpoint removes every log segment
/// (`WriteContext.checkpointRequest`).
struct CheckpointCommand: WriteCommand {
    var request: CheckpointRequest = .retiringCommitLog
    var payloadByteCount: Int { 1 }

    func execute(in context: inout WriteContext) throws(EngramError) {
        if context.checkpointRequest != .retiringCommitLog { context.checkpointRequest = request }
    }
}
