import FoundationEssentials

/// A lead's three index keys (docs/RECORDS.md, "Tables and keys"), copied out of a record so they
/// outlive the LMDB pointer it came from.
struct LeadIndexKeys: Equatable {
    let email: [UInt8]
    let score: [UInt8]
    let status: [UInt8]

    init(namespace: Namespace, _ lead: LeadView) {
        func key(_ build: (inout KeyWriter) -> Void) -> [UInt8] {
            withUnsafeTemporaryAllocation(byteCount: RecordKeys.bufferBytes, alignment: 1) { buffer in
                var writer = KeyWriter(buffer)
                writer.append(namespace: namespace)
                build(&writer)
                return Array(writer.bytes)
            }
        }
        email = key { $0.append(foldedEmail: lead.email) }
        score = key { RecordKeys.appendScoreTail(&$0, score: lead.score, createdAt: lead.createdAt, id: lead.id) }
        status = key {
            $0.append(terminatedText: lead.status)
            RecordKeys.appendScoreTail(&$0, score: lead.score, createdAt: lead.createdAt, id: lead.id)
        }
    }
}

/// Logged change: the lead in `record` (its stored form, version and times included) replaces
/// any lead with its id; the index entries follow.
struct LeadPutOperation: RedoOperation {
    static let opcode = RedoOpcode.leadPut
    let namespace: Namespace
    let record: [UInt8]
    /// What the command that built the operation read just before, in the same command on the
    /// writer thread, so `apply` does not read it again: the stored lead's index keys, and that
    /// the new email's entry is free or the lead's own. Never logged: replay has no command and
    /// reads both itself. A bulk load saves two of its four reads a lead with it.
    var checked: Checked? = nil

    struct Checked {
        /// The index keys of the lead stored under the id; nil when there was none.
        let old: LeadIndexKeys?
    }

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(UInt32(record.count))
        writer.write(contentsOf: record)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadPutOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let record = try reader.readBytes(Int(try reader.read(UInt32.self, "the lead length")), "the lead")
        return LeadPutOperation(namespace: namespace, record: record)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.records
        let namespace = namespace
        try record.withBytes { (bytes) throws(EngramError) in
            let lead = try LeadView(bytes, source: "a logged lead")
            context.observe(version: lead.version)
            let new = LeadIndexKeys(namespace: namespace, lead)
            // The old record's keys are copied before the first write: LMDB's pointers die then.
            let old: LeadIndexKeys?
            if let checked {
                old = checked.old
            } else {
                old = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(lead.id) }) { (key) throws(EngramError) -> LeadIndexKeys? in
                    guard let stored = try context.get(tables.leads, key) else { return nil }
                    return LeadIndexKeys(namespace: namespace, try LeadView(stored, source: tables.leads.name))
                }
            }
            if let old {
                if old.email != new.email { try RecordIndex.delete(tables.leadEmails, old.email, in: context.transaction) }
                if old.score != new.score { try RecordIndex.delete(tables.leadScores, old.score, in: context.transaction) }
                if old.status != new.status { try RecordIndex.delete(tables.leadStatuses, old.status, in: context.transaction) }
            }
            if old?.email != new.email {
                // The command checked the entry (LeadUpsert.execute); replay checks it here.
                let owner = checked != nil ? nil : try new.email.withBytes { (key) throws(EngramError) in try context.get(tables.leadEmails, key).map { UUID(bytes: $0) } }
                if let owner, owner != lead.uuid {
                    throw EngramError(.corrupt, "a logged lead put for \(lead.uuid.uuidString) finds its email held by lead \(owner.uuidString)")
                }
                try new.email.withBytes { (key) throws(EngramError) in try context.put(tables.leadEmails, key, lead.id) }
            }
            try RecordKeys.with({ $0.append(namespace: namespace); $0.append(lead.id) }) { (key) throws(EngramError) in
                try context.put(tables.leads, key, bytes)
            }
            if old?.score != new.score { try RecordIndex.put(tables.leadScores, new.score, in: context.transaction) }
            if old?.status != new.status { try RecordIndex.put(tables.leadStatuses, new.status, in: context.transaction) }
        }
    }
}

/// Logged change: the lead `id` and its index entries no longer exist.
struct LeadDeleteOperation: RedoOperation {
    static let opcode = RedoOpcode.leadDelete
    let namespace: Namespace
    let id: UUID

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: id.bytes)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LeadDeleteOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        return LeadDeleteOperation(namespace: namespace, id: UUID(bytes: try reader.readSlice(16, "the lead id")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.records
        let namespace = namespace, id = id
        try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) in
            guard let stored = try context.get(tables.leads, key) else {
                throw EngramError(.corrupt, "a logged lead delete names lead \(id.uuidString), which does not exist")
            }
            let keys = LeadIndexKeys(namespace: namespace, try LeadView(stored, source: tables.leads.name))
            try RecordIndex.delete(tables.leadEmails, keys.email, in: context.transaction)
            try RecordIndex.delete(tables.leadScores, keys.score, in: context.transaction)
            try RecordIndex.delete(tables.leadStatuses, keys.status, in: context.transaction)
            _ = try context.delete(tables.leads, key)
        }
    }
}

/// Index entries: a key with an empty value.
enum RecordIndex {
    static func put(_ table: LMDBDatabase, _ key: [UInt8], in transaction: StoreTransaction) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in try put(table, key, in: transaction) }
    }

    static func put(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, in transaction: StoreTransaction) throws(EngramError) {
        // A zero-length value with a real address: LMDB copies from it.
        try withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) { (buffer) throws(EngramError) in
            try transaction.put(table, key, UnsafeRawBufferPointer(start: buffer.baseAddress, count: 0))
        }
    }

    /// Deletes an entry that must exist: a missing one means the index and its records diverged.
    static func delete(_ table: LMDBDatabase, _ key: [UInt8], in transaction: StoreTransaction) throws(EngramError) {
        let existed = try key.withBytes { (key) throws(EngramError) in try transaction.delete(table, key) }
        guard existed else { throw EngramError(.corrupt, "\(table.name) has no entry \(printable(key)) for a record that names it") }
    }
}

/// Lead lookups shared by commands (in the write transaction) and reads.
enum LeadReading {
    /// The id of the lead whose folded email equals `email`'s, or nil.
    static func emailOwner(namespace: Namespace, email: String, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> UUID? {
        try email.withUTF8Bytes { (utf8) throws(EngramError) -> UUID? in
            try RecordKeys.with({ $0.append(namespace: namespace); $0.append(foldedEmail: utf8) }) { (key) throws(EngramError) -> UUID? in
                guard let value = try transaction.get(table, key) else { return nil }
                guard value.count == 16 else { throw EngramError(.corrupt, "\(table.name) entry of \(value.count) bytes, expected a 16-byte id") }
                return UUID(bytes: value)
            }
        }
    }
}
