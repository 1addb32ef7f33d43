/// The index's chain operations. Every function here runs with the stripe lock of the bucket it
/// touches held, and takes no other lock.
extension HotTier {
    /// A chunk found in a chain, and the chunk before it (0 when it is the head).
    struct ChainPosition {
        let reference: UInt32
        let previous: UInt32
    }

    @inline(__always)
    func findLocked(_ identity: ItemIdentity, bucket: Int) -> ChainPosition? {
        var previous: UInt32 = 0
        var current = head(bucket)
        while current != 0 {
            let candidate = chunk(current)
            if candidate.matches(identity) { return ChainPosition(reference: current, previous: previous) }
            previous = current
            current = candidate.next
        }
        return nil
    }

    /// Puts a chunk written by its owner at the head of its bucket's chain.
    @inline(__always)
    func linkLocked(_ reference: UInt32, bucket: Int, stripe: Int, isLongTermCache: Bool) {
        let item = chunk(reference)
        item.next = head(bucket)
        setHead(bucket, reference)
        item.flags = Chunk.linkedFlag | (isLongTermCache ? Chunk.longTermCacheFlag : 0)
        let counters = stripes.counters(stripe)
        counters.pointee.keyValueBytes += item.keyByteCount + item.valueByteCount
        if isLongTermCache {
            counters.pointee.longTermCacheItemCount += 1
            cacheBytes.add(layout.chunkBytes[item.classIndex], ordering: .relaxed)
        } else {
            counters.pointee.itemCount += 1
        }
    }

    /// Takes a chunk out of its chain. The chunk stays allocated: the caller frees it (after
    /// releasing the stripe lock) or reuses it.
    @inline(__always)
    func unlinkLocked(_ position: ChainPosition, bucket: Int, stripe: Int) {
        let item = chunk(position.reference)
        if position.previous == 0 {
            setHead(bucket, item.next)
        } else {
            chunk(position.previous).next = item.next
        }
        let isLongTermCache = item.isLongTermCache
        item.flags = 0
        let counters = stripes.counters(stripe)
        counters.pointee.keyValueBytes -= item.keyByteCount + item.valueByteCount
        if isLongTermCache {
            counters.pointee.longTermCacheItemCount -= 1
            cacheBytes.subtract(layout.chunkBytes[item.classIndex], ordering: .relaxed)
        } else {
            counters.pointee.itemCount -= 1
        }
    }

    /// Unlinks a linked chunk found by address rather than by key (the CLOCK hand, sweeps).
    func unlinkLocked(reference: UInt32, stripe: Int) {
        let bucket = bucketIndex(chunk(reference).hash)
        var previous: UInt32 = 0
        var current = head(bucket)
        while current != reference {
            precondition(current != 0, "linked chunk \(reference) is missing from the chain of bucket \(bucket)")
            previous = current
            current = chunk(current).next
        }
        unlinkLocked(ChainPosition(reference: reference, previous: previous), bucket: bucket, stripe: stripe)
    }

    /// Tells the observer, if any, about a removal; before the chunk is unlinked.
    func reportRemoval(_ reference: UInt32, _ reason: HotTierRemoval.Reason) {
        guard let removalObserver else { return }
        let item = chunk(reference)
        removalObserver(HotTierRemoval(reason: reason, isLongTermCache: item.isLongTermCache, namespace: Array(item.namespaceBytes), key: Array(item.keyBytes), classIndex: item.classIndex))
    }
}
