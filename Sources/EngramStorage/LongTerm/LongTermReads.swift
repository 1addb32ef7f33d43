/// A stored value and its version.
public struct StoredValue: Sendable, Equatable {
    public let version: UInt64
    public let bytes: [UInt8]

    public init(version: UInt64, bytes: [UInt8]) {
        self.version = version
        self.bytes = bytes
    }
}

/// One entry of a long-term scan.
public struct LongTermEntry: Sendable, Equatable {
    public let key: [UInt8]
    public let version: UInt64
    public let value: [UInt8]

    public init(key: [UInt8], version: UInt64, value: [UInt8]) {
        self.key = key
        self.version = version
        self.value = value
    }
}

/// One page of a prefix scan. When `resumeAfter` is set, more entries may follow: pass it as
/// `after` to get the next page. When nil, the scan is complete.
public struct LongTermScanPage: Sendable, Equatable {
    public let entries: [LongTermEntry]
    public let resumeAfter: [UInt8]?
}

extension EngramStore {
    /// The value at `key` in `namespace`, or nil.
    public func longTermGet(namespace: Namespace, key: [UInt8]) throws(EngramError) -> StoredValue? {
        try withLongTermValue(namespace: namespace, key: key) { version, bytes in
            StoredValue(version: version, bytes: Array(bytes))
        }
    }

    /// Calls `body` with the value's version and bytes, borrowed for the call only (no copy);
    /// returns nil without calling it when the key does not exist.
    ///
    /// Reads through the hot tier's long-term cache (docs/HOT_TIER.md, "The long-term cache"): a
    /// hit passes the cached bytes under the entry's stripe lock, so `body` must be short and
    /// must not call into the store; a miss reads LMDB and fills the cache. A read that starts
    /// after a write was acknowledged never sees an older value.
    public func withLongTermValue<Result>(
        namespace: Namespace,
        key: [UInt8],
        _ body: (UInt64, UnsafeRawBufferPointer) throws(EngramError) -> Result
    ) throws(EngramError) -> Result? {
        try LongTermValidation.check(namespace: namespace, key: key, limits: limits)
        return try key.withBytes { (keyBytes) throws(EngramError) -> Result? in
            try readThrough(namespace: namespace, key: keyBytes, body, beforeFill: nil)
        }
    }

    /// The read-through path. `beforeFill` runs between the LMDB read and the cache fill; tests
    /// use it to force a write into that gap.
    func readThrough<Result>(
        namespace: Namespace,
        key: UnsafeRawBufferPointer,
        _ body: (UInt64, UnsafeRawBufferPointer) throws(EngramError) -> Result,
        beforeFill: (() -> Void)?
    ) throws(EngramError) -> Result? {
        let generation: UInt32
        switch try hotTier.lookupLongTerm(namespace: namespace, key: key, body) {
        case .hit(let result): return result
        case .miss(let missGeneration): generation = missGeneration
        }
        // The read transaction begins after the generation was read: the argument in the doc
        // needs the snapshot to be at least as new as the generation.
        let table = tables.longTerm
        return try read { (transaction) throws(EngramError) -> Result? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            return try NamespacedKey.with(namespace, key) { (storedKey) throws(EngramError) -> Result? in
                guard let stored = try transaction.get(table, storedKey) else { return nil }
                let decoded = try LongTermValueLayout.decode(stored, table: table.name)
                beforeFill?()
                hotTier.fillLongTerm(namespace: namespace, key: key, version: decoded.version, value: decoded.bytes, generation: generation)
                return try body(decoded.version, decoded.bytes)
            }
        }
    }

    /// The entries of `namespace` whose keys start with `prefix`, in byte order, strictly after
    /// `after` when given, at most `limit` (capped by `Limits.scanCountMax`) and about
    /// `Limits.scanBytesMax` bytes per page.
    public func longTermScan(namespace: Namespace, prefix: [UInt8] = [], after: [UInt8]? = nil, limit: Int) throws(EngramError) -> LongTermScanPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a scan limit must be positive, got \(limit)") }
        guard prefix.count <= limits.keyBytesMax else {
            throw EngramError(.keyTooLarge, "scan prefix of \(prefix.count) bytes exceeds keyBytesMax \(limits.keyBytesMax)")
        }
        if let after, after.count > limits.keyBytesMax {
            throw EngramError(.keyTooLarge, "resume key of \(after.count) bytes exceeds keyBytesMax \(limits.keyBytesMax)")
        }
        let countMax = min(limit, limits.scanCountMax)
        let bytesMax = limits.scanBytesMax
        let table = tables.longTerm
        let prefixBytes = NamespacedKey.prefixBytes(namespace)
        let start = after.map { Self.byteOrder(prefix, $0) ? $0 : prefix } ?? prefix
        return try read { (transaction) throws(EngramError) -> LongTermScanPage in
            if try namespaceIsErasing(namespace, in: transaction) { return LongTermScanPage(entries: [], resumeAfter: nil) }
            return try transaction.withCursor(table) { (cursor) throws(EngramError) -> LongTermScanPage in
                try NamespacedKey.with(namespace, prefix) { (fullPrefix) throws(EngramError) -> LongTermScanPage in
                    var entries: [LongTermEntry] = []
                    var bytes = 0
                    var entry = try NamespacedKey.with(namespace, start) { (seekKey) throws(EngramError) in try cursor.seek(atOrAfter: seekKey) }
                    if let after, let current = entry, current.key.count == prefixBytes + after.count,
                       current.key.elementsEqual(fullPrefix.prefix(prefixBytes) + after) {
                        entry = try cursor.next()
                    }
                    while let current = entry, current.key.starts(with: fullPrefix) {
                        if entries.count == countMax || (!entries.isEmpty && bytes + current.key.count + current.value.count > bytesMax) {
                            return LongTermScanPage(entries: entries, resumeAfter: entries.last?.key)
                        }
                        let decoded = try LongTermValueLayout.decode(current.value, table: table.name)
                        let key = Array(current.key[prefixBytes...])
                        entries.append(LongTermEntry(key: key, version: decoded.version, value: Array(decoded.bytes)))
                        bytes += current.key.count + current.value.count
                        entry = try cursor.next()
                    }
                    return LongTermScanPage(entries: entries, resumeAfter: nil)
                }
            }
        }
    }

    static func byteOrder(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        left.lexicographicallyPrecedes(right)
    }
}
