import FoundationEssentials

/// The pending erasures, as a purge reads them from the `lifecycle` table: which episode records
/// it drops (docs/LIFECYCLE.md, "Erase").
struct ErasureSet {
    /// Namespaces being erased, by name bytes, with their markers.
    var namespaces: [[UInt8]: ErasureMarker] = [:]
    /// Leads being erased, by namespace name bytes followed by the 16 id bytes.
    var leads: [[UInt8]: ErasureMarker] = [:]

    var isEmpty: Bool { namespaces.isEmpty && leads.isEmpty }

    /// The highest position below which a lead's records are dropped; 0 with no lead erase.
    var leadBeforePositionMax: UInt64 { leads.values.map(\.beforePosition).max() ?? 0 }

    func isErasing(namespace: UnsafeRawBufferPointer) -> Bool {
        !namespaces.isEmpty && namespaces[Array(namespace)] != nil
    }

    /// Whether the purge drops `record`: every record of an erasing namespace below its marker,
    /// and every record of an erasing lead below its marker.
    func drops(_ record: EpisodeRecordView) -> Bool {
        if !namespaces.isEmpty, let marker = namespaces[Array(record.namespace)], record.position < marker.beforePosition { return true }
        guard !leads.isEmpty, record.flags & EpisodicFormat.flagLead != 0, let lead = record.leadID else { return false }
        guard let marker = leads[Array(record.namespace) + lead.bytes] else { return false }
        return record.position < marker.beforePosition
    }

    /// Every marker in `transaction`.
    static func read(table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> ErasureSet {
        try transaction.withCursor(table) { (cursor) throws(EngramError) -> ErasureSet in
            var set = ErasureSet()
            var entry = try [LifecycleKey.namespaceErasure].withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key[0] == LifecycleKey.namespaceErasure || current.key[0] == LifecycleKey.leadErasure {
                guard let name = LifecycleKey.namespace(of: current.key) else {
                    throw EngramError(.corrupt, "an erase marker with a malformed key of \(current.key.count) bytes")
                }
                let marker = try ErasureMarker.decode(current.value, source: table.name)
                if current.key[0] == LifecycleKey.namespaceErasure {
                    guard current.key.count == 2 + name.count else { throw EngramError(.corrupt, "a namespace erase marker key of \(current.key.count) bytes") }
                    set.namespaces[name] = marker
                } else {
                    guard current.key.count == 2 + name.count + 16 else { throw EngramError(.corrupt, "a lead erase marker key of \(current.key.count) bytes") }
                    set.leads[Array(current.key[2...])] = marker
                }
                entry = try cursor.next()
            }
            return set
        }
    }

    /// The erasing namespaces, as `Namespace` values.
    func namespaceList() throws(EngramError) -> [Namespace] {
        var list: [Namespace] = []
        for name in namespaces.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) { list.append(try Namespace(bytes: name)) }
        return list
    }

    /// The erasing leads, as (namespace, id) pairs.
    func leadList() throws(EngramError) -> [(namespace: Namespace, lead: UUID)] {
        var list: [(namespace: Namespace, lead: UUID)] = []
        for key in leads.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let name = Array(key.dropLast(16))
            let lead = key.suffix(16).withUnsafeBytes { UUID(bytes: $0) }
            list.append((try Namespace(bytes: name), lead))
        }
        return list
    }
}
