#if canImport(Glibc)
import Glibc
#endif

/// Chunks: handing them out, freeing them, and the CLOCK hand that evicts when a class is full
/// (docs/HOT_TIER.md, "Eviction: CLOCK"). Functions named `...Locked` run with the class's lock
/// held; under it they may take one stripe lock at a time or the pool lock, never another class's.
extension HotTier {
    /// Tries before a put gives up with `.busy`; each try fails only if every chunk the hand
    /// passed was in flight in another thread, or a starving class found no page it could take.
    static let allocationAttemptsMax = 8

    /// A chunk of class `classIndex`, allocated and claimed for an item whose hash is `hash32`:
    /// from the free list, a new page from the pool, a page taken from another class when this one
    /// has none, or the CLOCK hand. Called with no lock held. Nil only for a cache fill that the
    /// cache's share does not allow (docs/HOT_TIER.md, "The long-term cache").
    func allocateChunk(classIndex: Int, hash32: UInt32, isLongTermCache: Bool, nowMilliseconds: UInt64) throws(EngramError) -> UInt32? {
        let slabClass = classes[classIndex]
        for _ in 0..<Self.allocationAttemptsMax {
            slabClass.lock()
            if isLongTermCache && cacheBytes.load(ordering: .relaxed) + slabClass.chunkBytes > cacheBytesMax {
                // Over the cache's share: only another cache entry's chunk may be reused.
                let victim = evictLocked(slabClass, onlyLongTermCache: true, nowMilliseconds: nowMilliseconds)
                if let victim { claimLocked(victim.reference, hash32: hash32) }
                slabClass.unlock()
                if let victim, victim.wasEviction { noteEviction(chunkBytes: slabClass.chunkBytes) }
                return victim?.reference
            }
            if let reference = popFreeLocked(slabClass) ?? (takePoolPageLocked(slabClass) ? popFreeLocked(slabClass) : nil) {
                claimLocked(reference, hash32: hash32)
                slabClass.unlock()
                return reference
            }
            if slabClass.pages.isEmpty {
                // Starving: the pool is empty and this class has no page to evict from.
                slabClass.unlock()
                _ = stealPage(for: classIndex)
                continue
            }
            if let victim = evictLocked(slabClass, onlyLongTermCache: false, nowMilliseconds: nowMilliseconds) {
                claimLocked(victim.reference, hash32: hash32)
                slabClass.unlock()
                if victim.wasEviction { noteEviction(chunkBytes: slabClass.chunkBytes) }
                return victim.reference
            }
            slabClass.unlock()
            sched_yield()
        }
        throw EngramError(.busy, "the hot tier found no chunk of \(slabClass.chunkBytes) bytes to reuse: every one was in flight in other threads; retry")
    }

    /// Returns an allocated, unlinked chunk to its class. Called with no lock held.
    func freeChunk(_ reference: UInt32) {
        let slabClass = classes[chunk(reference).classIndex]
        slabClass.lock()
        freeLocked(reference, slabClass)
        slabClass.unlock()
    }

    func freeLocked(_ reference: UInt32, _ slabClass: SlabClass) {
        let item = chunk(reference)
        precondition(item.isAllocated && !item.isLinked, "freeing chunk \(reference), which is \(item.isAllocated ? "linked" : "already free")")
        item.isAllocated = false
        item.next = slabClass.freeHead
        slabClass.freeHead = reference
        slabClass.freeCount += 1
        slabClass.allocatedCount -= 1
    }

    private func popFreeLocked(_ slabClass: SlabClass) -> UInt32? {
        let reference = slabClass.freeHead
        guard reference != 0 else { return nil }
        let item = chunk(reference)
        slabClass.freeHead = item.next
        slabClass.freeCount -= 1
        slabClass.allocatedCount += 1
        item.isAllocated = true
        return reference
    }

    /// The hash is the one field the hand reads under the class lock alone, so it is written
    /// under it; the flags are cleared so the hand sees the chunk as in flight until it is linked.
    private func claimLocked(_ reference: UInt32, hash32: UInt32) {
        let item = chunk(reference)
        item.hash = hash32
        item.flags = 0
    }

    private func takePoolPageLocked(_ slabClass: SlabClass) -> Bool {
        guard let page = pagePool.withLock({ $0.popLast() }) else { return false }
        carveLocked(page: page, into: slabClass)
        return true
    }

    /// Cuts a page into the class's chunks, all free; pushed in reverse so they are handed out
    /// in address order.
    func carveLocked(page: Int, into slabClass: SlabClass) {
        for chunkIndex in stride(from: slabClass.chunksPerPage - 1, through: 0, by: -1) {
            let reference = reference(page: page, chunkIndex: chunkIndex, chunkBytes: slabClass.chunkBytes)
            let item = chunk(reference)
            item.isAllocated = false
            item.classIndex = slabClass.index
            item.flags = 0
            item.next = slabClass.freeHead
            slabClass.freeHead = reference
        }
        slabClass.freeCount += slabClass.chunksPerPage
        slabClass.pages.append(page)
    }

    /// One turn of CLOCK: walks the class's chunks from the hand, at most twice round, and returns
    /// the first chunk it can take: an expired item (`wasEviction` false) or an item whose
    /// referenced bit is clear (`wasEviction` true); referenced items lose their bit and are
    /// passed, chunks in flight are skipped. The chunk comes back allocated and unlinked.
    func evictLocked(_ slabClass: SlabClass, onlyLongTermCache: Bool, nowMilliseconds: UInt64) -> (reference: UInt32, wasEviction: Bool)? {
        let stepsMax = 2 * slabClass.chunkCount
        var steps = 0
        while steps < stepsMax {
            steps += 1
            let reference = advanceHandLocked(slabClass)
            let item = chunk(reference)
            guard item.isAllocated else { continue }
            let stripe = stripeIndex(item.hash)
            stripes.lock(stripe)
            let flags = item.flags
            if flags & Chunk.linkedFlag == 0 || (onlyLongTermCache && flags & Chunk.longTermCacheFlag == 0) {
                stripes.unlock(stripe)
                continue
            }
            if Self.isExpired(item.expiresSeconds, nowMilliseconds: nowMilliseconds) {
                reportRemoval(reference, .expired)
                unlinkLocked(reference: reference, stripe: stripe)
                stripes.counters(stripe).pointee.expirationCount += 1
                stripes.unlock(stripe)
                return (reference, false)
            }
            if flags & Chunk.referencedFlag != 0 {
                item.flags = flags & ~Chunk.referencedFlag
                stripes.unlock(stripe)
                continue
            }
            reportRemoval(reference, .evicted)
            unlinkLocked(reference: reference, stripe: stripe)
            stripes.counters(stripe).pointee.evictionCount += 1
            stripes.unlock(stripe)
            slabClass.evictionCount += 1
            slabClass.windowEvictionCount += 1
            return (reference, true)
        }
        return nil
    }

    /// The chunk under the hand; moves the hand one chunk on, wrapping at the last page.
    private func advanceHandLocked(_ slabClass: SlabClass) -> UInt32 {
        if slabClass.handPageOrdinal >= slabClass.pages.count {
            slabClass.handPageOrdinal = 0
            slabClass.handChunkIndex = 0
        }
        let reference = reference(page: slabClass.pages[slabClass.handPageOrdinal], chunkIndex: slabClass.handChunkIndex, chunkBytes: slabClass.chunkBytes)
        slabClass.handChunkIndex += 1
        if slabClass.handChunkIndex == slabClass.chunksPerPage {
            slabClass.handChunkIndex = 0
            slabClass.handPageOrdinal += 1
            if slabClass.handPageOrdinal == slabClass.pages.count { slabClass.handPageOrdinal = 0 }
        }
        return reference
    }

    /// Counts an eviction's bytes toward the next page-balance check and runs it when due.
    /// Called with no lock held.
    private func noteEviction(chunkBytes: Int) {
        let total = evictedBytesSinceBalance.add(chunkBytes, ordering: .relaxed).newValue
        if total >= balanceEvictedBytes { balancePages() }
    }
}
