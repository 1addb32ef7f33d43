import CSystemShims

/// Short-term memory: get, multi-get, put, delete, touch (docs/HOT_TIER.md, "Operations").
///
/// Keys and values are raw bytes. Each operation comes in two forms: with `[UInt8]`, and with
/// borrowed `UnsafeRawBufferPointer`s so a server can pass bytes straight from its input buffer.
/// Errors: `.keyTooLarge` and `.invalidArgument` for a bad namespace, key or TTL,
/// `.valueTooLarge` for an item larger than the largest chunk, `.busy` (put only) when no chunk
/// could be had because every candidate was in flight in other threads.
extension HotTier {
    // MARK: Reads

    /// A copy of the value at `key` in `namespace`, or nil when there is none or it has expired.
    public func get(namespace: Namespace, key: [UInt8]) throws(EngramError) -> [UInt8]? {
        try key.withBytes { (key) throws(EngramError) in try get(namespace: namespace, key: key) }
    }

    public func get(namespace: Namespace, key: UnsafeRawBufferPointer) throws(EngramError) -> [UInt8]? {
        try withValue(namespace: namespace, key: key) { Array($0) }
    }

    /// Calls `body` with the value's bytes, borrowed from the arena, and returns its result; nil
    /// (without calling it) when there is no live item. The bytes are valid only inside `body`,
    /// which runs with the item's stripe lock held: it must be short (copy the bytes out) and must
    /// not call into the hot tier or the store.
    public func withValue<Result>(namespace: Namespace, key: [UInt8], _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result? {
        try key.withBytes { (key) throws(EngramError) in try withValue(namespace: namespace, key: key, body) }
    }

    public func withValue<Result>(namespace: Namespace, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result? {
        try validate(namespace: namespace, keyByteCount: key.count)
        guard let found = lockLiveItem(namespace: namespace, key: key, nowMilliseconds: nowMilliseconds(), countingHitOrMiss: true) else { return nil }
        defer { stripes.unlock(found.stripe) }
        return try body(found.item.value)
    }

    /// Starts loading the index bucket a short-term get, put, delete or touch of `key` in the
    /// namespace named by `namespace` (its bytes) will read, and returns at once. A server that has
    /// several requests of a pipelined burst in hand calls it for each before serving the first, so their cache misses
    /// overlap instead of following one another. A hint only: it reads no item and takes no lock,
    /// and nothing is checked (a get checks).
    @inline(__always)
    public func prefetch(namespace: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) {
        let hash32 = UInt32(truncatingIfNeeded: HotTierHash.hash(kind: 0, namespace: namespace, key: key, seed: seed))
        engram_prefetch(buckets + bucketIndex(hash32))
    }

    /// The values of `keys` in order, nil where there is none; at most
    /// `Limits.hotTierMultiGetKeyCountMax` keys, all checked before any is read.
    public func multiGet(namespace: Namespace, keys: [[UInt8]]) throws(EngramError) -> [[UInt8]?] {
        guard keys.count <= limits.hotTierMultiGetKeyCountMax else {
            throw EngramError(.invalidArgument, "a multi-get of \(keys.count) keys exceeds hotTierMultiGetKeyCountMax \(limits.hotTierMultiGetKeyCountMax)")
        }
        for key in keys { try validate(namespace: namespace, keyByteCount: key.count) }
        var values: [[UInt8]?] = []
        values.reserveCapacity(keys.count)
        for key in keys { values.append(try get(namespace: namespace, key: key)) }
        return values
    }

    // MARK: Writes

    /// Stores `value` at `key` in `namespace`, replacing any item there. `ttlSeconds`: nil for
    /// `Limits.hotTierDefaultTTLSeconds`, 0 for no expiry, at most `Limits.hotTierTTLSecondsMax`.
    /// Evicts another item when the item's size class is full.
    public func put(namespace: Namespace, key: [UInt8], value: [UInt8], ttlSeconds: Int? = nil) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in
            try value.withBytes { (value) throws(EngramError) in
                try put(namespace: namespace, key: key, value: value, ttlSeconds: ttlSeconds)
            }
        }
    }

    public func put(namespace: Namespace, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, ttlSeconds: Int? = nil) throws(EngramError) {
        try validate(namespace: namespace, keyByteCount: key.count)
        if erasingNamespaces.contains(namespace) { throw ErasingNamespaces.refusal(namespace) }
        let ttl = try resolvedTTL(ttlSeconds)
        let classIndex = try classIndex(namespaceBytes: namespace.bytes.count, keyBytes: key.count, valueBytes: value.count, isLongTermCache: false)
        let now = nowMilliseconds()
        try namespace.bytes.withBytes { (namespaceBytes) throws(EngramError) in
            let identity = ItemIdentity(isLongTermCache: false, namespace: namespaceBytes, key: key, seed: seed)
            let expiresSeconds = Self.expiresSeconds(ttlSeconds: ttl, nowMilliseconds: now)
            if overwriteInPlace(identity, classIndex: classIndex, expiresSeconds: expiresSeconds, value: value) { return }
            guard let reference = try allocateChunk(classIndex: classIndex, hash32: identity.hash32, isLongTermCache: false, nowMilliseconds: now) else {
                preconditionFailure("a short-term allocation returned no chunk without an error")
            }
            chunk(reference).write(identity, expiresSeconds: expiresSeconds, version: nil, value: value)
            let bucket = bucketIndex(identity.hash32)
            let stripe = stripeIndex(identity.hash32)
            stripes.lock(stripe)
            let replaced = findLocked(identity, bucket: bucket)
            if let replaced { unlinkLocked(replaced, bucket: bucket, stripe: stripe) }
            linkLocked(reference, bucket: bucket, stripe: stripe, isLongTermCache: false)
            stripes.unlock(stripe)
            if let replaced { freeChunk(replaced.reference) }
        }
    }

    /// Removes the item; returns whether a live one was there.
    @discardableResult
    public func delete(namespace: Namespace, key: [UInt8]) throws(EngramError) -> Bool {
        try key.withBytes { (key) throws(EngramError) in try delete(namespace: namespace, key: key) }
    }

    @discardableResult
    public func delete(namespace: Namespace, key: UnsafeRawBufferPointer) throws(EngramError) -> Bool {
        try validate(namespace: namespace, keyByteCount: key.count)
        let now = nowMilliseconds()
        return namespace.bytes.withUnsafeBytes { namespaceBytes in
            let identity = ItemIdentity(isLongTermCache: false, namespace: namespaceBytes, key: key, seed: seed)
            let bucket = bucketIndex(identity.hash32)
            let stripe = stripeIndex(identity.hash32)
            stripes.lock(stripe)
            guard let position = findLocked(identity, bucket: bucket) else {
                stripes.unlock(stripe)
                return false
            }
            let wasLive = !Self.isExpired(chunk(position.reference).expiresSeconds, nowMilliseconds: now)
            if !wasLive {
                reportRemoval(position.reference, .expired)
                stripes.counters(stripe).pointee.expirationCount += 1
            }
            unlinkLocked(position, bucket: bucket, stripe: stripe)
            stripes.unlock(stripe)
            freeChunk(position.reference)
            return wasLive
        }
    }

    /// Gives a live item a new TTL (as `put` reads `ttlSeconds`), counted from now; returns
    /// whether a live item was there.
    @discardableResult
    public func touch(namespace: Namespace, key: [UInt8], ttlSeconds: Int? = nil) throws(EngramError) -> Bool {
        try key.withBytes { (key) throws(EngramError) in try touch(namespace: namespace, key: key, ttlSeconds: ttlSeconds) }
    }

    @discardableResult
    public func touch(namespace: Namespace, key: UnsafeRawBufferPointer, ttlSeconds: Int? = nil) throws(EngramError) -> Bool {
        try validate(namespace: namespace, keyByteCount: key.count)
        let ttl = try resolvedTTL(ttlSeconds)
        let now = nowMilliseconds()
        guard let found = lockLiveItem(namespace: namespace, key: key, nowMilliseconds: now, countingHitOrMiss: false) else { return false }
        found.item.expiresSeconds = Self.expiresSeconds(ttlSeconds: ttl, nowMilliseconds: now)
        stripes.unlock(found.stripe)
        return true
    }

    // MARK: Shared steps

    /// A put over an item of the same size class rewrites it in place under the stripe lock, with
    /// no class lock and no new chunk: readers hold the same lock, so none sees it half written.
    /// Like a new item, it is left unreferenced. False when there is no such item.
    private func overwriteInPlace(_ identity: ItemIdentity, classIndex: Int, expiresSeconds: UInt32, value: UnsafeRawBufferPointer) -> Bool {
        let stripe = stripeIndex(identity.hash32)
        stripes.lock(stripe)
        defer { stripes.unlock(stripe) }
        guard let position = findLocked(identity, bucket: bucketIndex(identity.hash32)) else { return false }
        let item = chunk(position.reference)
        guard item.classIndex == classIndex else { return false }
        stripes.counters(stripe).pointee.keyValueBytes += value.count - item.valueByteCount
        item.overwrite(expiresSeconds: expiresSeconds, value: value)
        item.flags &= ~Chunk.referencedFlag
        return true
    }

    /// The live short-term item `key` names, with its stripe lock held (the caller releases it),
    /// or nil with no lock held. Not generic, so a generic caller such as `withValue` costs no
    /// runtime metadata lookups on the hot path.
    @inline(__always)
    func lockLiveItem(namespace: Namespace, key: UnsafeRawBufferPointer, nowMilliseconds: UInt64, countingHitOrMiss: Bool) -> (item: Chunk, stripe: Int)? {
        // An item of a namespace being erased may have been linked by a put that raced with the
        // erase's start; it reads as absent, and the erase's finish removes it.
        if erasingNamespaces.contains(namespace) { return nil }
        return namespace.bytes.withUnsafeBytes { namespaceBytes -> (item: Chunk, stripe: Int)? in
            let identity = ItemIdentity(isLongTermCache: false, namespace: namespaceBytes, key: key, seed: seed)
            let stripe = stripeIndex(identity.hash32)
            stripes.lock(stripe)
            guard let item = liveItemLocked(identity, bucket: bucketIndex(identity.hash32), stripe: stripe, nowMilliseconds: nowMilliseconds, countingHitOrMiss: countingHitOrMiss) else { return nil }
            return (item, stripe)
        }
    }

    /// The live item `identity` names, marked referenced, with the stripe lock still held. When
    /// there is none, nil with the lock released; an expired item found on the way is unlinked,
    /// counted as an expiration and freed. Gets count a hit or a miss; touch counts neither.
    @inline(__always)
    func liveItemLocked(_ identity: ItemIdentity, bucket: Int, stripe: Int, nowMilliseconds: UInt64, countingHitOrMiss: Bool) -> Chunk? {
        let counters = stripes.counters(stripe)
        guard let position = findLocked(identity, bucket: bucket) else {
            if countingHitOrMiss { counters.pointee.missCount += 1 }
            stripes.unlock(stripe)
            return nil
        }
        let item = chunk(position.reference)
        if Self.isExpired(item.expiresSeconds, nowMilliseconds: nowMilliseconds) {
            reportRemoval(position.reference, .expired)
            unlinkLocked(position, bucket: bucket, stripe: stripe)
            counters.pointee.expirationCount += 1
            if countingHitOrMiss { counters.pointee.missCount += 1 }
            stripes.unlock(stripe)
            freeChunk(position.reference)
            return nil
        }
        if countingHitOrMiss { counters.pointee.hitCount += 1 }
        // Written only when clear, so hits on a hot item leave its cache line clean.
        if item.flags & Chunk.referencedFlag == 0 { item.flags |= Chunk.referencedFlag }
        return item
    }

    /// The size class of an item, or `.valueTooLarge` naming the sizes.
    func classIndex(namespaceBytes: Int, keyBytes: Int, valueBytes: Int, isLongTermCache: Bool) throws(EngramError) -> Int {
        let itemBytes = HotTierLayout.itemBytes(namespaceBytes: namespaceBytes, keyBytes: keyBytes, valueBytes: valueBytes, isLongTermCache: isLongTermCache)
        guard let classIndex = layout.classIndex(forItemBytes: itemBytes) else {
            let valueBytesMax = max(0, layout.pageBytes - (itemBytes - valueBytes))
            throw EngramError(.valueTooLarge, "an item of \(itemBytes) bytes (\(HotTierLayout.headerBytes)-byte header, \(namespaceBytes)-byte namespace, \(keyBytes)-byte key, \(valueBytes)-byte value) exceeds the largest slab chunk of \(layout.pageBytes) bytes; with this namespace and key a value may have up to \(valueBytesMax) bytes")
        }
        return classIndex
    }
}
