/// The read-through cache of long-term memory (docs/HOT_TIER.md, "The long-term cache"): cache
/// entries are items of their own kind, `[u64 version][value]`, with no TTL. The store's
/// `withLongTermValue` looks up, fills on a miss with the generation it got from the lookup, and
/// the writer thread invalidates every long-term key a batch changed after LMDB committed it and
/// before the batch's requests complete.
extension HotTier {
    enum LongTermLookup<Result> {
        case hit(Result)
        /// A miss, with the key's generation to hand back to `fillLongTerm`.
        case miss(generation: UInt32)
    }

    enum LongTermFill: Equatable {
        case filled
        /// The key's generation moved since the lookup, or a newer entry is there already.
        case refused
        /// Too large for the largest chunk, over the cache's share, or no chunk to be had.
        case skipped
    }

    /// On a hit, calls `body` with the cached version and value, borrowed under the stripe lock
    /// (the same rules as `withValue`); on a miss, returns the key's generation.
    func lookupLongTerm<Result>(namespace: Namespace, key: UnsafeRawBufferPointer, _ body: (UInt64, UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> LongTermLookup<Result> {
        switch lockCacheEntry(namespace: namespace, key: key) {
        case .found(let entry, let stripe):
            defer { stripes.unlock(stripe) }
            return .hit(try body(entry.version, entry.value))
        case .missing(let generation):
            return .miss(generation: generation)
        }
    }

    enum CacheEntryLookup {
        /// The entry, with its stripe lock held.
        case found(Chunk, stripe: Int)
        case missing(generation: UInt32)
    }

    /// The non-generic half of `lookupLongTerm`, so its generic caller costs no metadata lookups.
    private func lockCacheEntry(namespace: Namespace, key: UnsafeRawBufferPointer) -> CacheEntryLookup {
        namespace.bytes.withUnsafeBytes { namespaceBytes in
            let identity = ItemIdentity(isLongTermCache: true, namespace: namespaceBytes, key: key, seed: seed)
            let bucket = bucketIndex(identity.hash32)
            let stripe = stripeIndex(identity.hash32)
            stripes.lock(stripe)
            let counters = stripes.counters(stripe)
            guard let position = findLocked(identity, bucket: bucket) else {
                counters.pointee.cacheMissCount += 1
                let generation = generation(identity.hash32)
                stripes.unlock(stripe)
                return .missing(generation: generation)
            }
            counters.pointee.cacheHitCount += 1
            let entry = chunk(position.reference)
            if entry.flags & Chunk.referencedFlag == 0 { entry.flags |= Chunk.referencedFlag }
            return .found(entry, stripe: stripe)
        }
    }

    /// Inserts a value read from LMDB after a miss, unless the key's generation has moved
    /// since `generation` was read (a write committed in between) or a newer entry is there.
    @discardableResult
    func fillLongTerm(namespace: Namespace, key: UnsafeRawBufferPointer, version: UInt64, value: UnsafeRawBufferPointer, generation expected: UInt32) -> LongTermFill {
        let itemBytes = HotTierLayout.itemBytes(namespaceBytes: namespace.bytes.count, keyBytes: key.count, valueBytes: value.count, isLongTermCache: true)
        guard let classIndex = layout.classIndex(forItemBytes: itemBytes) else { return skipFill() }
        let now = nowMilliseconds()
        return namespace.bytes.withUnsafeBytes { namespaceBytes in
            let identity = ItemIdentity(isLongTermCache: true, namespace: namespaceBytes, key: key, seed: seed)
            let allocated = try? allocateChunk(classIndex: classIndex, hash32: identity.hash32, isLongTermCache: true, nowMilliseconds: now)
            guard let reference = allocated ?? nil else { return skipFill() }
            let entry = chunk(reference)
            entry.write(identity, expiresSeconds: 0, version: version, value: value)
            let bucket = bucketIndex(identity.hash32)
            let stripe = stripeIndex(identity.hash32)
            stripes.lock(stripe)
            let counters = stripes.counters(stripe)
            var replaced: ChainPosition?
            if self.generation(identity.hash32) != expected {
                replaced = nil
            } else if let existing = findLocked(identity, bucket: bucket) {
                replaced = chunk(existing.reference).version < version ? existing : nil
            } else {
                replaced = ChainPosition(reference: 0, previous: 0)
            }
            guard let replaced else {
                counters.pointee.cacheFillRefusedCount += 1
                stripes.unlock(stripe)
                freeChunk(reference)
                return .refused
            }
            if replaced.reference != 0 { unlinkLocked(replaced, bucket: bucket, stripe: stripe) }
            linkLocked(reference, bucket: bucket, stripe: stripe, isLongTermCache: true)
            counters.pointee.cacheFillCount += 1
            stripes.unlock(stripe)
            if replaced.reference != 0 { freeChunk(replaced.reference) }
            return .filled
        }
    }

    /// Called by the writer thread for each long-term key a committed batch put or deleted:
    /// bumps the key's generation (failing every fill of it that looked up before) and drops the
    /// key's entry.
    func invalidateLongTerm(namespace: Namespace, key: [UInt8]) {
        namespace.bytes.withUnsafeBytes { namespaceBytes in
            key.withUnsafeBytes { key in
                let identity = ItemIdentity(isLongTermCache: true, namespace: namespaceBytes, key: key, seed: seed)
                let bucket = bucketIndex(identity.hash32)
                let stripe = stripeIndex(identity.hash32)
                stripes.lock(stripe)
                bumpGeneration(identity.hash32)
                let position = findLocked(identity, bucket: bucket)
                if let position {
                    unlinkLocked(position, bucket: bucket, stripe: stripe)
                    stripes.counters(stripe).pointee.cacheInvalidationCount += 1
                }
                stripes.unlock(stripe)
                if let position { freeChunk(position.reference) }
            }
        }
    }

    private func skipFill() -> LongTermFill {
        cacheFillSkippedCount.add(1, ordering: .relaxed)
        return .skipped
    }
}
