/// The hot tier's fuzz target: a sequence of operations read from the input, run on a small tier
/// with a manual clock, each answer checked against a dictionary (docs/HOT_TIER.md).
///
/// Input: `configuration:u8 operation*`, each operation an opcode byte and its argument bytes.
/// The tier reports every item it evicts or expires (its removal observer); the model drops
/// exactly those, checking each was there and that an expired one had expired. Everything else
/// must agree exactly after every operation: each value read, each returned flag, the counters,
/// the chunks of every size class, the cache's share, and the byte budget. At the end every item
/// the model holds must still be readable. Any disagreement traps.
struct HotTierFuzzTarget {
    struct Key: Hashable {
        let isLongTermCache: Bool
        let namespace: Int
        let key: Int
    }

    struct Item {
        let value: [UInt8]
        let version: UInt64
        var expiresSeconds: UInt64
        let classIndex: Int
    }

    enum Operation: CustomStringConvertible {
        case start
        case put(Key, valueBytes: Int, ttlSeconds: Int?)
        case get(Key)
        case multiGet([Int], namespace: Int)
        case delete(Key)
        case touch(Key, ttlSeconds: Int?)
        case advance(milliseconds: UInt64)
        case removeExpired(limit: Int)
        case cacheLookup(Key)
        case cacheFill(Key, valueBytes: Int, afterInvalidation: Bool)
        case invalidate(Key)
        case removeNamespace(Int)
        case finalReads

        var description: String {
            switch self {
            case .start: "the start"
            case .put(let key, let valueBytes, let ttl): "put \(key) \(valueBytes) bytes ttl \(String(describing: ttl))"
            case .get(let key): "get \(key)"
            case .multiGet(let keys, let namespace): "multi-get \(keys) in namespace \(namespace)"
            case .delete(let key): "delete \(key)"
            case .touch(let key, let ttl): "touch \(key) ttl \(String(describing: ttl))"
            case .advance(let milliseconds): "advance \(milliseconds) ms"
            case .removeExpired(let limit): "remove expired, limit \(limit)"
            case .cacheLookup(let key): "cache lookup \(key)"
            case .cacheFill(let key, let valueBytes, let afterInvalidation): "cache fill \(key) \(valueBytes) bytes\(afterInvalidation ? " after an invalidation" : "")"
            case .invalidate(let key): "invalidate \(key)"
            case .removeNamespace(let namespace): "remove namespace \(namespace)"
            case .finalReads: "the final reads"
            }
        }
    }

    /// Three small tiers, so every bound (eviction, page moves, the cache's share, items too large
    /// for a page) is a few operations away.
    static let configurations: [Limits] = [
        limits(pageBytes: 1_024, pageCount: 6, stripeCount: 4, bytesPerIndexBucket: 64, growthPercent: 125, rebalanceEvictedPages: 1, cachePercentMax: 30),
        limits(pageBytes: 2_048, pageCount: 3, stripeCount: 1, bytesPerIndexBucket: 512, growthPercent: 150, rebalanceEvictedPages: 2, cachePercentMax: 50),
        limits(pageBytes: 1_024, pageCount: 2, stripeCount: 2, bytesPerIndexBucket: 64, growthPercent: 110, rebalanceEvictedPages: 4, cachePercentMax: 0),
    ]
    static let namespaces = [try! Namespace("agent-7"), try! Namespace("agent-8")]
    static let ttlChoices: [Int?] = [nil, 0, 1, 2, 3, 10]

    let tier: HotTier
    let clock = HotTierManualClock()
    let removals = Lock<[HotTierRemoval]>([])
    var model: [Key: Item] = [:]
    var hitCount: UInt64 = 0
    var missCount: UInt64 = 0
    var evictionCount: UInt64 = 0
    var expirationCount: UInt64 = 0
    var nextVersion: UInt64 = 1
    /// The operation under way, described only when a check fails: formatting it for every
    /// operation would cost more than the operation.
    var operation = Operation.start

    static func limits(pageBytes: Int, pageCount: Int, stripeCount: Int, bytesPerIndexBucket: Int, growthPercent: Int, rebalanceEvictedPages: Int, cachePercentMax: Int) -> Limits {
        var limits = Limits()
        limits.hotTierSlabPageBytes = pageBytes
        limits.hotTierBytes = pageBytes * pageCount
        limits.hotTierStripeCount = stripeCount
        limits.hotTierBytesPerIndexBucket = bytesPerIndexBucket
        limits.hotTierChunkGrowthPercent = growthPercent
        limits.hotTierRebalanceEvictedPages = rebalanceEvictedPages
        limits.hotTierLongTermCachePercentMax = cachePercentMax
        return limits
    }

    init(configuration: Int) {
        let limits = Self.configurations[configuration % Self.configurations.count]
        try! limits.validate()
        let removals = self.removals
        tier = HotTier(validated: limits, clock: clock, seed: 0x5EED, removalObserver: { removal in removals.withLock { $0.append(removal) } })
    }

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let configuration = input.byte() else { return false }
        var run = HotTierFuzzTarget(configuration: Int(configuration))
        while let opcode = input.byte() {
            run.step(opcode, &input)
            run.absorbRemovals()
            run.checkStatistics()
        }
        run.checkEveryItemReadable()
        return true
    }

    var now: UInt64 { clock.nowMilliseconds() }

    func isLive(_ item: Item) -> Bool { item.expiresSeconds == 0 || now < item.expiresSeconds * 1_000 }

    /// The 32 keys, made once: formatting them for every check would cost more than the tier.
    static let keys: [[UInt8]] = (0..<32).map { Array("key-\($0)".utf8) }

    func keyBytes(_ key: Int) -> [UInt8] { Self.keys[key] }

    /// A value whose bytes say which operation wrote it (its first eight bytes and its filler
    /// come from a number no other value has), so a value from another put is caught.
    mutating func value(_ lengthByte: UInt8) -> [UInt8] {
        let length = lengthByte < 128 ? Int(lengthByte % 32) : Int(lengthByte - 128) * 8
        let stamp = nextVersion
        nextVersion += 1
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: stamp &* 31), count: length)
        withUnsafeBytes(of: stamp.littleEndian) { stampBytes in
            for index in 0..<min(8, length) { bytes[index] = stampBytes[index] }
        }
        return bytes
    }

    func classIndex(_ key: Key, valueBytes: Int) -> Int? {
        let itemBytes = HotTierLayout.itemBytes(namespaceBytes: Self.namespaces[key.namespace].bytes.count, keyBytes: keyBytes(key.key).count, valueBytes: valueBytes, isLongTermCache: key.isLongTermCache)
        return tier.layout.classIndex(forItemBytes: itemBytes)
    }

    func expires(ttlSeconds: Int?) -> UInt64 {
        let seconds = UInt64(ttlSeconds ?? tier.limits.hotTierDefaultTTLSeconds)
        return seconds == 0 ? 0 : (now + seconds * 1_000 + 999) / 1_000
    }

    static func key(_ byte: UInt8, cache: Bool = false) -> Key {
        Key(isLongTermCache: cache, namespace: Int(byte >> 7), key: Int(byte & 0x1F))
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("hot-tier: \(message()) (after \(operation))") }
    }

    mutating func step(_ opcode: UInt8, _ input: inout FuzzInput) {
        let key = Self.key(input.byte() ?? 0)
        let namespace = Self.namespaces[key.namespace]
        switch opcode % 10 {
        case 0: put(key, lengthByte: input.byte() ?? 0, ttl: Self.ttlChoices[Int(input.byte() ?? 0) % Self.ttlChoices.count])
        case 1:
            operation = .get(key)
            let value = try! tier.get(namespace: namespace, key: keyBytes(key.key))
            absorbRemovals()
            expectRead(key, value)
        case 2:
            let keys = (0..<(1 + Int(input.byte() ?? 0) % 5)).map { _ in Int((input.byte() ?? 0) & 0x1F) }
            operation = .multiGet(keys, namespace: key.namespace)
            let values = try! tier.multiGet(namespace: namespace, keys: keys.map(keyBytes))
            absorbRemovals()
            check(values.count == keys.count, "\(values.count) values for \(keys.count) keys")
            for (index, value) in values.enumerated() { expectRead(Key(isLongTermCache: false, namespace: key.namespace, key: keys[index]), value) }
        case 3:
            operation = .delete(key)
            let existed = try! tier.delete(namespace: namespace, key: keyBytes(key.key))
            absorbRemovals()
            let removed = model.removeValue(forKey: key)
            check(removed.map(isLive) ?? true, "delete found an expired item it did not report")
            check(existed == (removed != nil), "delete returned \(existed), the model held \(removed != nil)")
        case 4:
            let ttl = Self.ttlChoices[Int(input.byte() ?? 0) % Self.ttlChoices.count]
            operation = .touch(key, ttlSeconds: ttl)
            let touched = try! tier.touch(namespace: namespace, key: keyBytes(key.key), ttlSeconds: ttl)
            absorbRemovals()
            check(touched == (model[key] != nil), "touch returned \(touched)")
            check(model[key].map(isLive) ?? true, "touch renewed an expired item")
            let expiresSeconds = expires(ttlSeconds: ttl)
            model[key]?.expiresSeconds = expiresSeconds
        case 5: advanceClock(input.byte() ?? 0)
        case 6:
            let limit = 1 + Int(input.byte() ?? 0) % 64
            operation = .removeExpired(limit: limit)
            let sweep = tier.removeExpired(limit: limit)
            check(sweep.visitedChunkCount <= limit, "the sweep visited \(sweep.visitedChunkCount) chunks, limit \(limit)")
            let expired = removals.withLock { $0.filter { $0.reason == .expired }.count }
            check(sweep.removedCount == expired, "the sweep removed \(sweep.removedCount), reported \(expired)")
        case 7: cacheStep(Self.key(input.byte() ?? 0, cache: true), lengthByte: input.byte() ?? 0, invalidateBetween: opcode & 0x80 != 0)
        case 8:
            let cacheKey = Self.key(input.byte() ?? 0, cache: true)
            operation = .invalidate(cacheKey)
            tier.invalidateLongTerm(namespace: Self.namespaces[cacheKey.namespace], key: keyBytes(cacheKey.key))
            absorbRemovals()
            model[cacheKey] = nil
        default:
            operation = .removeNamespace(key.namespace)
            let removed = tier.removeNamespace(namespace)
            absorbRemovals()
            let expected = Array(model.keys.filter { $0.namespace == key.namespace })
            for gone in expected { model[gone] = nil }
            check(removed == expected.count, "removeNamespace removed \(removed), the model held \(expected.count)")
        }
    }

    mutating func put(_ key: Key, lengthByte: UInt8, ttl: Int?) {
        let value = value(lengthByte)
        operation = .put(key, valueBytes: value.count, ttlSeconds: ttl)
        let classIndex = classIndex(key, valueBytes: value.count)
        do throws(EngramError) {
            try tier.put(namespace: Self.namespaces[key.namespace], key: keyBytes(key.key), value: value, ttlSeconds: ttl)
            check(classIndex != nil, "accepted an item larger than the largest chunk")
            absorbRemovals()
            model[key] = Item(value: value, version: 0, expiresSeconds: expires(ttlSeconds: ttl), classIndex: classIndex!)
        } catch {
            check(classIndex == nil && error.code == .valueTooLarge, "refused with \(error)")
        }
    }

    mutating func advanceClock(_ byte: UInt8) {
        // A third of the moves land on a whole second, where expiry boundaries are.
        let milliseconds: UInt64
        switch byte % 3 {
        case 0: milliseconds = UInt64(byte) * 10
        case 1: milliseconds = 1_000 - now % 1_000
        default: milliseconds = 1_000 * UInt64(1 + byte % 3)
        }
        operation = .advance(milliseconds: milliseconds)
        clock.advance(milliseconds: milliseconds)
    }

    /// A lookup and, on a miss, a fill, as the store's read-through path does; with
    /// `invalidateBetween` a write of the key commits between the two, so the fill must be refused.
    mutating func cacheStep(_ key: Key, lengthByte: UInt8, invalidateBetween: Bool) {
        let namespace = Self.namespaces[key.namespace]
        operation = .cacheLookup(key)
        let lookup = try! keyBytes(key.key).withBytes { (bytes) throws(EngramError) in
            try tier.lookupLongTerm(namespace: namespace, key: bytes) { (version, value) throws(EngramError) in (version, Array(value)) }
        }
        absorbRemovals()
        switch lookup {
        case .hit(let (version, value)):
            check(model[key]?.version == version && model[key]?.value == value, "cache hit version \(version), the model holds \(String(describing: model[key]?.version))")
        case .miss(let generation):
            check(model[key] == nil, "cache miss for a key the model holds")
            if invalidateBetween {
                tier.invalidateLongTerm(namespace: namespace, key: keyBytes(key.key))
                absorbRemovals()
            }
            let value = value(lengthByte)
            let version = nextVersion
            operation = .cacheFill(key, valueBytes: value.count, afterInvalidation: invalidateBetween)
            let outcome = keyBytes(key.key).withUnsafeBytes { keyBytes in
                value.withUnsafeBytes { tier.fillLongTerm(namespace: namespace, key: keyBytes, version: version, value: $0, generation: generation) }
            }
            absorbRemovals()
            switch outcome {
            case .filled:
                check(!invalidateBetween, "a fill after an invalidation was taken")
                guard let classIndex = classIndex(key, valueBytes: value.count) else { fatalError("hot-tier: filled an item larger than the largest chunk") }
                model[key] = Item(value: value, version: version, expiresSeconds: 0, classIndex: classIndex)
            case .skipped:
                break
            case .refused:
                check(invalidateBetween, "a fill with a fresh generation was refused")
            }
        }
    }

    /// Applies what the tier reported: each removed item must be one the model held, and an
    /// expired one must have expired (cache entries never expire).
    mutating func absorbRemovals() {
        let reported = removals.withLock { removals in defer { removals.removeAll() }; return removals }
        for removal in reported {
            guard let namespace = Self.namespaces.firstIndex(where: { $0.bytes == removal.namespace }),
                  let key = Int(String(decoding: removal.key.dropFirst(4), as: UTF8.self)) else {
                fatalError("hot-tier: removed an item the model never wrote (after \(operation))")
            }
            let modelKey = Key(isLongTermCache: removal.isLongTermCache, namespace: namespace, key: key)
            guard let item = model.removeValue(forKey: modelKey) else { fatalError("hot-tier: removed \(modelKey), which the model does not hold (after \(operation))") }
            switch removal.reason {
            case .evicted:
                evictionCount += 1
            case .expired:
                expirationCount += 1
                check(!isLive(item) && !modelKey.isLongTermCache, "expired \(modelKey), which is live")
            }
            check(removal.classIndex == item.classIndex, "removed \(modelKey) from class \(removal.classIndex), stored in \(item.classIndex)")
        }
    }

    mutating func expectRead(_ key: Key, _ value: [UInt8]?) {
        if let item = model[key] {
            // The tier reports an expired item it finds, and the model dropped it: an item
            // still here must be live, or the tier returned or kept an expired one.
            check(isLive(item), "get \(key) found an item that expired at \(item.expiresSeconds) s, now \(now) ms")
            hitCount += 1
            check(value == item.value, "get \(key) returned \(value?.count ?? -1) bytes, the model \(item.value.count)")
        } else {
            missCount += 1
            check(value == nil, "get \(key) returned a value the model does not hold")
        }
    }

    /// Every count the tier keeps against the model's, and the budget. The model side is one
    /// pass over the items: this runs after every operation.
    func checkStatistics() {
        let statistics = tier.statistics
        var shortTermCount = 0
        var cacheCount = 0
        var cacheBytes = 0
        var keyValueBytes = 0
        var chunksByClass = [Int](repeating: 0, count: statistics.classes.count)
        for (key, item) in model {
            if key.isLongTermCache {
                cacheCount += 1
                cacheBytes += tier.layout.chunkBytes[item.classIndex]
            } else {
                shortTermCount += 1
            }
            keyValueBytes += Self.keys[key.key].count + item.value.count
            chunksByClass[item.classIndex] += 1
        }
        check(statistics.itemCount == shortTermCount, "items \(statistics.itemCount), the model \(shortTermCount)")
        check(statistics.longTermCache.itemCount == cacheCount, "cache items \(statistics.longTermCache.itemCount), the model \(cacheCount)")
        check(statistics.hitCount == hitCount && statistics.missCount == missCount, "hits/misses \(statistics.hitCount)/\(statistics.missCount), the model \(hitCount)/\(missCount)")
        check(statistics.evictionCount == evictionCount && statistics.expirationCount == expirationCount, "evictions/expirations \(statistics.evictionCount)/\(statistics.expirationCount), reported \(evictionCount)/\(expirationCount)")
        check(statistics.keyValueBytes == keyValueBytes, "key/value bytes \(statistics.keyValueBytes), the model \(keyValueBytes)")
        var pageTotal = statistics.freePageCount
        for (index, slabClass) in statistics.classes.enumerated() {
            check(slabClass.chunksInUse == chunksByClass[index], "class \(index) holds \(slabClass.chunksInUse) chunks, the model \(chunksByClass[index])")
            check(slabClass.chunksInUse + slabClass.freeChunkCount == slabClass.pageCount * (statistics.pageBytes / slabClass.chunkBytes), "the chunks of class \(index) do not add up to its pages")
            pageTotal += slabClass.pageCount
        }
        check(pageTotal == statistics.pageCount, "the pages do not add up")
        check(statistics.longTermCache.bytesInUse == cacheBytes, "cache bytes \(statistics.longTermCache.bytesInUse), the model \(cacheBytes)")
        check(cacheBytes <= tier.cacheBytesMax, "cache bytes \(cacheBytes) over the share \(tier.cacheBytesMax)")
        check(statistics.bytesInUse <= statistics.budgetBytes, "bytes in use \(statistics.bytesInUse) over the budget \(statistics.budgetBytes)")
    }

    /// Nothing the model holds was lost without a report.
    mutating func checkEveryItemReadable() {
        operation = .finalReads
        for (key, item) in model where isLive(item) {
            if key.isLongTermCache {
                let found = try! keyBytes(key.key).withBytes { (bytes) throws(EngramError) in
                    try tier.lookupLongTerm(namespace: Self.namespaces[key.namespace], key: bytes) { (version, value) throws(EngramError) in (version, Array(value)) }
                }
                guard case .hit(let (version, value)) = found else { fatalError("hot-tier: the cache entry \(key) is gone unreported") }
                check(version == item.version && value == item.value, "the cache entry \(key) changed")
            } else {
                check(try! tier.get(namespace: Self.namespaces[key.namespace], key: keyBytes(key.key)) == item.value, "\(key) is gone or changed")
            }
        }
    }
}
