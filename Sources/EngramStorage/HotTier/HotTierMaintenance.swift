/// Bulk removal: the bounded expiry sweep consolidation runs, and the removal of a namespace.
extension HotTier {
    /// Visits at most `limit` chunks (at least 1), resuming where the previous call stopped, and
    /// removes the expired items among them. Stops early when a whole pass over every class
    /// completes, so a caller can loop until `passCompleted`. Gets never return expired items
    /// whether or not this runs; it returns their memory sooner.
    public func removeExpired(limit: Int) -> HotTierSweep {
        precondition(limit > 0, "removeExpired(limit:) needs a positive limit, got \(limit)")
        let now = nowMilliseconds()
        return sweepCursor.withLock { cursor in
            var sweep = HotTierSweep()
            while sweep.visitedChunkCount < limit && !sweep.passCompleted {
                let slabClass = classes[cursor.classIndex]
                slabClass.lock()
                while sweep.visitedChunkCount < limit && cursor.pageOrdinal < slabClass.pages.count {
                    let reference = reference(page: slabClass.pages[cursor.pageOrdinal], chunkIndex: cursor.chunkIndex, chunkBytes: slabClass.chunkBytes)
                    sweep.visitedChunkCount += 1
                    cursor.chunkIndex += 1
                    if cursor.chunkIndex >= slabClass.chunksPerPage {
                        cursor.chunkIndex = 0
                        cursor.pageOrdinal += 1
                    }
                    if removeIfExpiredLocked(reference, slabClass, nowMilliseconds: now) { sweep.removedCount += 1 }
                }
                let classFinished = cursor.pageOrdinal >= slabClass.pages.count
                slabClass.unlock()
                if classFinished {
                    cursor = SweepCursor(classIndex: (cursor.classIndex + 1) % classes.count)
                    if cursor.classIndex == 0 { sweep.passCompleted = true }
                }
            }
            return sweep
        }
    }

    /// With the class lock held: unlinks and frees the chunk's item if it is a linked, expired
    /// short-term item.
    private func removeIfExpiredLocked(_ reference: UInt32, _ slabClass: SlabClass, nowMilliseconds: UInt64) -> Bool {
        let item = chunk(reference)
        guard item.isAllocated else { return false }
        let stripe = stripeIndex(item.hash)
        stripes.lock(stripe)
        guard item.isLinked, Self.isExpired(item.expiresSeconds, nowMilliseconds: nowMilliseconds) else {
            stripes.unlock(stripe)
            return false
        }
        reportRemoval(reference, .expired)
        unlinkLocked(reference: reference, stripe: stripe)
        stripes.counters(stripe).pointee.expirationCount += 1
        stripes.unlock(stripe)
        freeLocked(reference, slabClass)
        return true
    }

    /// Removes every item of `namespace`, short-term and cached, and returns how many. Also bumps
    /// every generation, so no cache fill that looked up before this call can insert a value of
    /// the namespace after it. Walks the whole index, one stripe at a time.
    @discardableResult
    public func removeNamespace(_ namespace: Namespace) -> Int {
        var removedTotal = 0
        var removed: [UInt32] = []
        namespace.bytes.withUnsafeBytes { name in
            for stripe in 0..<layout.stripeCount {
                stripes.lock(stripe)
                var generation = stripe
                while generation < layout.generationCount {
                    generations[generation] &+= 1
                    generation += layout.stripeCount
                }
                var bucket = stripe
                while bucket < layout.bucketCount {
                    var previous: UInt32 = 0
                    var current = head(bucket)
                    while current != 0 {
                        let item = chunk(current)
                        let next = item.next
                        if item.namespaceByteCount == name.count && item.namespaceBytes.elementsEqual(name) {
                            unlinkLocked(ChainPosition(reference: current, previous: previous), bucket: bucket, stripe: stripe)
                            removed.append(current)
                        } else {
                            previous = current
                        }
                        current = next
                    }
                    bucket += layout.stripeCount
                }
                stripes.unlock(stripe)
                for reference in removed { freeChunk(reference) }
                removedTotal += removed.count
                removed.removeAll(keepingCapacity: true)
            }
        }
        return removedTotal
    }
}

/// What one `removeExpired(limit:)` call did.
public struct HotTierSweep: Sendable, Equatable {
    /// Chunks looked at, at most the limit.
    public var visitedChunkCount = 0
    /// Expired items removed.
    public var removedCount = 0
    /// Whether this call finished a pass over every class (the next call starts a new one).
    public var passCompleted = false

    public init(visitedChunkCount: Int = 0, removedCount: Int = 0, passCompleted: Bool = false) {
        self.visitedChunkCount = visitedChunkCount
        self.removedCount = removedCount
        self.passCompleted = passCompleted
    }
}
