import FoundationEssentials

/// Looking up erase markers inside a transaction (docs/LIFECYCLE.md, "Erase"): reads make the
/// check in their own snapshot, so a read that sees any step of an erase also sees its marker.
enum ErasureLookup {
    static func isErasing(_ namespace: Namespace, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> Bool {
        try LifecycleKey.namespaced(LifecycleKey.namespaceErasure, namespace).withBytes { (key) throws(EngramError) -> Bool in
            try transaction.get(table, key) != nil
        }
    }

    /// The namespace's leads being erased, each with the position below which its episodes are
    /// hidden.
    static func hiddenLeads(_ namespace: Namespace, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> [UUID: UInt64] {
        let prefix = LifecycleKey.namespaced(LifecycleKey.leadErasure, namespace)
        return try transaction.withCursor(table) { (cursor) throws(EngramError) -> [UUID: UInt64] in
            var hidden: [UUID: UInt64] = [:]
            var entry = try prefix.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.starts(with: prefix) {
                guard current.key.count == prefix.count + 16 else {
                    throw EngramError(.corrupt, "a lead erase marker key of \(current.key.count) bytes, expected \(prefix.count + 16)")
                }
                let lead = UUID(bytes: UnsafeRawBufferPointer(rebasing: current.key[prefix.count...]))
                hidden[lead] = try ErasureMarker.decode(current.value, source: table.name).beforePosition
                entry = try cursor.next()
            }
            return hidden
        }
    }
}

/// What a read of one namespace's episodes may show.
enum EpisodeVisibility {
    /// No erase concerns the namespace.
    case all
    /// The namespace is being erased: nothing.
    case none
    /// These leads are being erased: their episodes below each position are hidden.
    case hiding([UUID: UInt64])
}

extension EngramStore {
    /// Inside a read transaction: whether `namespace` is being erased and must read as empty.
    /// One atomic load when no erase is in progress.
    func namespaceIsErasing(_ namespace: Namespace, in transaction: StoreTransaction) throws(EngramError) -> Bool {
        guard writer.lifecycle.markersMayExist(snapshot: transaction.snapshotLSN) else { return false }
        return try ErasureLookup.isErasing(namespace, table: tables.lifecycle.markers, in: transaction)
    }

    /// Inside a read transaction: which of `namespace`'s episodes a read may show.
    func episodeVisibility(_ namespace: Namespace, in transaction: StoreTransaction) throws(EngramError) -> EpisodeVisibility {
        guard writer.lifecycle.markersMayExist(snapshot: transaction.snapshotLSN) else { return .all }
        let table = tables.lifecycle.markers
        if try ErasureLookup.isErasing(namespace, table: table, in: transaction) { return .none }
        let hidden = try ErasureLookup.hiddenLeads(namespace, table: table, in: transaction)
        return hidden.isEmpty ? .all : .hiding(hidden)
    }
}

extension WriteContext {
    /// Refuses a write to a namespace being erased (docs/LIFECYCLE.md): `.busy`, nothing applied.
    func refuseIfErasing(_ namespace: Namespace) throws(EngramError) {
        if try ErasureLookup.isErasing(namespace, table: tables.lifecycle.markers, in: transaction) {
            throw ErasingNamespaces.refusal(namespace)
        }
    }
}

// The commands that write to one namespace name it, so the writer can refuse them while the
// namespace is being erased.
extension LongTermPut { public var affectedNamespace: Namespace? { namespace } }
extension LongTermDelete { public var affectedNamespace: Namespace? { namespace } }
extension SemanticPut { public var affectedNamespace: Namespace? { namespace } }
extension SemanticDelete { public var affectedNamespace: Namespace? { namespace } }
extension EpisodeAppend { public var affectedNamespace: Namespace? { namespace } }
extension LeadUpsert { public var affectedNamespace: Namespace? { namespace } }
extension LeadDelete { public var affectedNamespace: Namespace? { namespace } }
extension CampaignUpsert { public var affectedNamespace: Namespace? { namespace } }
extension CampaignDelete { public var affectedNamespace: Namespace? { namespace } }
extension CampaignMetricAppend { public var affectedNamespace: Namespace? { namespace } }
extension CampaignMetricsDelete { public var affectedNamespace: Namespace? { namespace } }
