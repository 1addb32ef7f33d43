/// Moving pages between size classes against slab calcification (docs/HOT_TIER.md, "Slab
/// calcification and page moves"). Called with no lock held; takes one class lock at a time.
extension HotTier {
    /// One class's state for choosing a donor and a receiver.
    struct ClassPressure {
        let index: Int
        let pageCount: Int
        let chunkCount: Int
        let windowEvictionCount: Int

        /// Whether this class's estimated item lifetime (chunks / evictions, infinite without
        /// evictions) is at least `factor` times `other`'s. Integer cross-multiplication.
        func lifetime(atLeast factor: Int, times other: ClassPressure) -> Bool {
            if windowEvictionCount == 0 { return other.windowEvictionCount > 0 || factor <= 1 }
            if other.windowEvictionCount == 0 { return false }
            return chunkCount * other.windowEvictionCount >= factor * other.chunkCount * windowEvictionCount
        }

        func lifetimeShorter(than other: ClassPressure) -> Bool { !lifetime(atLeast: 1, times: other) }

        /// Donor order: the longer lifetime is the better donor; between equals, more pages.
        func poorerDonor(than other: ClassPressure) -> Bool {
            if lifetimeShorter(than: other) { return true }
            if other.lifetimeShorter(than: self) { return false }
            return pageCount < other.pageCount
        }
    }

    func classPressures(resettingWindow: Bool) -> [ClassPressure] {
        classes.map { slabClass in
            slabClass.lock()
            defer { slabClass.unlock() }
            let pressure = ClassPressure(index: slabClass.index, pageCount: slabClass.pages.count, chunkCount: slabClass.chunkCount, windowEvictionCount: slabClass.windowEvictionCount)
            if resettingWindow { slabClass.windowEvictionCount = 0 }
            return pressure
        }
    }

    /// The lifetime-balance check: moves one page from the class whose items live longest to the
    /// class whose items live shortest, if the first has two pages or more and its lifetime is at
    /// least twice the second's. Only one check runs at a time; a second caller returns at once.
    func balancePages() {
        guard balancing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { balancing.store(false, ordering: .releasing) }
        evictedBytesSinceBalance.store(0, ordering: .relaxed)
        let pressures = classPressures(resettingWindow: true)
        let evicting = pressures.filter { $0.windowEvictionCount > 0 }
        guard let receiver = evicting.min(by: { $0.lifetimeShorter(than: $1) }) else { return }
        let donors = pressures.filter { $0.index != receiver.index && $0.pageCount >= 2 }
        guard let donor = donors.max(by: { $0.poorerDonor(than: $1) }),
              donor.lifetime(atLeast: 2, times: receiver) else { return }
        _ = movePage(from: donor.index, to: receiver.index)
    }

    /// For a class with no page while the pool is empty: takes a page from the class with the
    /// longest estimated lifetime among those with two pages or more, else among those with one.
    func stealPage(for receiverIndex: Int) -> Bool {
        let pressures = classPressures(resettingWindow: false).filter { $0.index != receiverIndex }
        let wealthy = pressures.filter { $0.pageCount >= 2 }
        let candidates = wealthy.isEmpty ? pressures.filter { $0.pageCount >= 1 } : wealthy
        guard let donor = candidates.max(by: { $0.poorerDonor(than: $1) }) else { return false }
        return movePage(from: donor.index, to: receiverIndex)
    }

    /// Moves the first page, from the donor's hand on, that has no chunk in flight: evicts its
    /// items, drops its free chunks from the donor, and cuts it into the receiver's chunks.
    func movePage(from donorIndex: Int, to receiverIndex: Int) -> Bool {
        let donor = classes[donorIndex]
        donor.lock()
        var moved: Int?
        let pageCount = donor.pages.count
        for step in 0..<pageCount {
            let ordinal = (donor.handPageOrdinal + step) % pageCount
            if evacuateLocked(donor, pageOrdinal: ordinal) {
                moved = donor.pages[ordinal]
                removePageLocked(donor, pageOrdinal: ordinal)
                break
            }
        }
        donor.unlock()
        guard let page = moved else { return false }
        let receiver = classes[receiverIndex]
        receiver.lock()
        carveLocked(page: page, into: receiver)
        receiver.unlock()
        pageMoveCount.add(1, ordering: .relaxed)
        return true
    }

    /// Evicts every linked item of one of the donor's pages into its free list; false as soon as
    /// a chunk is in flight (allocated, not linked), since its owner expects its class to stay.
    private func evacuateLocked(_ donor: SlabClass, pageOrdinal: Int) -> Bool {
        let page = donor.pages[pageOrdinal]
        for chunkIndex in 0..<donor.chunksPerPage {
            let reference = reference(page: page, chunkIndex: chunkIndex, chunkBytes: donor.chunkBytes)
            let item = chunk(reference)
            guard item.isAllocated else { continue }
            let stripe = stripeIndex(item.hash)
            stripes.lock(stripe)
            guard item.isLinked else {
                stripes.unlock(stripe)
                return false
            }
            reportRemoval(reference, .evicted)
            unlinkLocked(reference: reference, stripe: stripe)
            stripes.counters(stripe).pointee.evictionCount += 1
            stripes.unlock(stripe)
            donor.evictionCount += 1
            freeLocked(reference, donor)
        }
        return true
    }

    /// Takes an evacuated page out of the donor: out of its page list and its free list, with the
    /// hand kept on the same chunk (or the start of the next page).
    private func removePageLocked(_ donor: SlabClass, pageOrdinal: Int) {
        let page = donor.pages[pageOrdinal]
        let start = reference(page: page, chunkIndex: 0, chunkBytes: donor.chunkBytes)
        let end = start + UInt32(layout.pageBytes >> 3)
        var kept: UInt32 = 0
        var keptTail: UInt32 = 0
        var current = donor.freeHead
        var dropped = 0
        while current != 0 {
            let next = chunk(current).next
            if current >= start && current < end {
                dropped += 1
            } else {
                if keptTail == 0 { kept = current } else { chunk(keptTail).next = current }
                keptTail = current
            }
            current = next
        }
        if keptTail != 0 { chunk(keptTail).next = 0 }
        precondition(dropped == donor.chunksPerPage, "page \(page) of class \(donor.index) had \(dropped) free chunks after evacuation, expected \(donor.chunksPerPage)")
        donor.freeHead = kept
        donor.freeCount -= dropped
        donor.pages.remove(at: pageOrdinal)
        if donor.handPageOrdinal > pageOrdinal {
            donor.handPageOrdinal -= 1
        } else if donor.handPageOrdinal == pageOrdinal {
            donor.handChunkIndex = 0
        }
        if donor.handPageOrdinal >= donor.pages.count {
            donor.handPageOrdinal = 0
            donor.handChunkIndex = 0
        }
    }
}
