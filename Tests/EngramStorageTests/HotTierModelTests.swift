@testable import EngramStorage
import Testing

/// A random workload against a plain dictionary. The tier tells the test (through its removal
/// observer) which items it evicted or expired; the model drops exactly those, checking each was
/// there and, for an expiration, that it had expired. Everything else must agree exactly: every
/// read, every count, the bytes of every size class, and the budget.
@Suite struct HotTierModelTests {
    struct Configuration: Sendable, CustomTestStringConvertible {
        let limits: Limits
        let name: String
        var testDescription: String { name }
    }

    static let configurations = [
        Configuration(limits: hotTierLimits(pageBytes: 1_024, pageCount: 6, stripeCount: 4, bytesPerIndexBucket: 64, rebalanceEvictedPages: 1, cachePercentMax: 30), name: "6 × 1 KiB pages, 4 stripes"),
        Configuration(limits: hotTierLimits(pageBytes: 2_048, pageCount: 3, stripeCount: 1, bytesPerIndexBucket: 512, growthPercent: 150, rebalanceEvictedPages: 2, cachePercentMax: 50), name: "3 × 2 KiB pages, 1 stripe, 16 buckets"),
    ]

    @Test(arguments: configurations, [1, 2, 3, 4] as [UInt64])
    func randomWorkloadMatchesTheModel(configuration: Configuration, seed: UInt64) throws {
        var run = ModelRun(limits: configuration.limits, seed: seed)
        for step in 0..<4_000 {
            try run.step()
            if !run.check() {
                Issue.record("model and tier disagree after step \(step) (seed \(seed)): \(run.lastOperation)")
                return
            }
        }
        #expect(run.evictionCount > 0, "the workload must be large enough to evict")
        #expect(run.expirationCount > 0, "the workload must let items expire")
    }
}

struct ModelKey: Hashable {
    let isLongTermCache: Bool
    let namespace: Int
    let key: String
}

struct ModelItem {
    let value: [UInt8]
    let version: UInt64
    var expiresSeconds: UInt64
    let classIndex: Int
}

/// One run of the workload: the tier, the model, and the counters the model keeps.
struct ModelRun {
    let test: TestHotTier
    var tier: HotTier { test.tier }
    var random: SeededGenerator
    var model: [ModelKey: ModelItem] = [:]
    var hitCount: UInt64 = 0
    var missCount: UInt64 = 0
    var evictionCount: UInt64 = 0
    var expirationCount: UInt64 = 0
    var nextVersion: UInt64 = 1
    var lastOperation = ""
    let namespaces = [agent, otherAgent]

    init(limits: Limits, seed: UInt64) {
        test = TestHotTier(limits, seed: seed)
        random = SeededGenerator(seed: seed)
    }

    var now: UInt64 { test.clock.nowMilliseconds() }

    func isLive(_ item: ModelItem) -> Bool { item.expiresSeconds == 0 || now < item.expiresSeconds * 1_000 }

    mutating func randomKey(cache: Bool = false) -> ModelKey {
        ModelKey(isLongTermCache: cache, namespace: Int.random(in: 0...1, using: &random), key: "key-\(Int.random(in: 0..<40, using: &random))")
    }

    /// Sizes across the first classes, with a tail up to a few hundred bytes.
    mutating func randomValue() -> [UInt8] {
        let count = Bool.random(using: &random) ? Int.random(in: 0...24, using: &random) : Int.random(in: 0...400, using: &random)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    func classIndex(_ key: ModelKey, valueBytes: Int) -> Int {
        let itemBytes = HotTierLayout.itemBytes(namespaceBytes: namespaces[key.namespace].bytes.count, keyBytes: key.key.utf8.count, valueBytes: valueBytes, isLongTermCache: key.isLongTermCache)
        return tier.layout.classIndex(forItemBytes: itemBytes)!
    }

    /// Applies what the tier reported; false if it removed something the model did not hold, or
    /// expired something that had not expired.
    mutating func absorbRemovals() -> Bool {
        for removal in test.removals.take() {
            let key = ModelKey(isLongTermCache: removal.isLongTermCache, namespace: removal.namespace == agent.bytes ? 0 : 1, key: String(decoding: removal.key, as: UTF8.self))
            guard let item = model.removeValue(forKey: key) else {
                lastOperation += " | removed \(key), which the model does not hold"
                return false
            }
            switch removal.reason {
            case .evicted:
                evictionCount += 1
            case .expired:
                expirationCount += 1
                if isLive(item) || key.isLongTermCache {
                    lastOperation += " | expired \(key), which is live"
                    return false
                }
            }
        }
        return true
    }

    mutating func step() throws {
        let choice = Int.random(in: 0..<100, using: &random)
        let key = randomKey()
        let name = namespaces[key.namespace]
        let keyBytes = bytes(key.key)
        switch choice {
        case 0..<35:
            let value = randomValue()
            let ttl = [nil, 0, 1, 2, 3, 10].randomElement(using: &random)!
            lastOperation = "put \(key) \(value.count) bytes ttl \(String(describing: ttl))"
            try tier.put(namespace: name, key: keyBytes, value: value, ttlSeconds: ttl)
            guard absorbRemovals() else { return }
            let seconds = UInt64(ttl ?? 300)
            model[key] = ModelItem(value: value, version: 0, expiresSeconds: seconds == 0 ? 0 : (now + seconds * 1_000 + 999) / 1_000, classIndex: classIndex(key, valueBytes: value.count))
        case 35..<60:
            lastOperation = "get \(key)"
            let value = try tier.get(namespace: name, key: keyBytes)
            guard absorbRemovals() else { return }
            try expectRead(key, value)
        case 60..<65:
            let keys = (0..<Int.random(in: 1...5, using: &random)).map { _ in "key-\(Int.random(in: 0..<40, using: &random))" }
            lastOperation = "multi-get \(keys) in \(name)"
            let values = try tier.multiGet(namespace: name, keys: keys.map { bytes($0) })
            guard absorbRemovals() else { return }
            for (index, value) in values.enumerated() {
                try expectRead(ModelKey(isLongTermCache: false, namespace: key.namespace, key: keys[index]), value)
            }
        case 65..<75:
            lastOperation = "delete \(key)"
            let existed = try tier.delete(namespace: name, key: keyBytes)
            guard absorbRemovals() else { return }
            let removedItem = model.removeValue(forKey: key)
            if let removedItem, !isLive(removedItem) { throw Disagreement("delete of \(key) found an expired item it did not report") }
            let expected = removedItem != nil
            if existed != expected { throw Disagreement("delete of \(key) returned \(existed), model \(expected)") }
        case 75..<82:
            let ttl = [nil, 0, 1, 5].randomElement(using: &random)!
            lastOperation = "touch \(key) ttl \(String(describing: ttl))"
            let touched = try tier.touch(namespace: name, key: keyBytes, ttlSeconds: ttl)
            guard absorbRemovals() else { return }
            if touched != (model[key] != nil) { throw Disagreement("touch of \(key) returned \(touched)") }
            if let item = model[key], !isLive(item) { throw Disagreement("touch of \(key) renewed an expired item") }
            let seconds = UInt64(ttl ?? 300)
            let expires = seconds == 0 ? 0 : (now + seconds * 1_000 + 999) / 1_000
            model[key]?.expiresSeconds = expires
        case 82..<89:
            // A third of the moves land on a whole second, where expiry boundaries are.
            let milliseconds: UInt64
            switch Int.random(in: 0..<3, using: &random) {
            case 0: milliseconds = UInt64.random(in: 0...2_500, using: &random)
            case 1: milliseconds = 1_000 - now % 1_000
            default: milliseconds = 1_000 * UInt64.random(in: 1...3, using: &random)
            }
            lastOperation = "advance \(milliseconds) ms"
            test.clock.advance(milliseconds: milliseconds)
        case 89..<91:
            let limit = Int.random(in: 1...60, using: &random)
            lastOperation = "remove expired, limit \(limit)"
            let sweep = tier.removeExpired(limit: limit)
            guard absorbRemovals() else { return }
            if sweep.visitedChunkCount > limit { throw Disagreement("the sweep visited \(sweep.visitedChunkCount) chunks, limit \(limit)") }
        case 91..<96:
            try cacheStep(randomKey(cache: true))
        case 96..<99:
            let cacheKey = randomKey(cache: true)
            lastOperation = "invalidate \(cacheKey)"
            tier.invalidateLongTerm(namespace: namespaces[cacheKey.namespace], key: bytes(cacheKey.key))
            guard absorbRemovals() else { return }
            model[cacheKey] = nil
        default:
            lastOperation = "remove namespace \(name)"
            let removed = tier.removeNamespace(name)
            guard absorbRemovals() else { return }
            let expected = model.keys.filter { $0.namespace == key.namespace }
            for gone in expected { model[gone] = nil }
            if removed != expected.count { throw Disagreement("removeNamespace removed \(removed), model \(expected.count)") }
        }
    }

    /// A cache lookup, and a fill on a miss, as the store's read-through path does.
    mutating func cacheStep(_ key: ModelKey) throws {
        let name = namespaces[key.namespace]
        lastOperation = "cache lookup \(key)"
        let lookup = try bytes(key.key).withBytes { (keyBytes) throws(EngramError) in
            try tier.lookupLongTerm(namespace: name, key: keyBytes) { (version, value) throws(EngramError) in (version, Array(value)) }
        }
        guard absorbRemovals() else { return }
        switch lookup {
        case .hit(let (version, value)):
            guard let item = model[key], item.version == version, item.value == value else { throw Disagreement("cache hit \(key) version \(version), model \(String(describing: model[key]?.version))") }
        case .miss(let generation):
            if model[key] != nil { throw Disagreement("cache miss for \(key), which the model holds") }
            let value = randomValue()
            let version = nextVersion
            nextVersion += 1
            lastOperation = "cache fill \(key) \(value.count) bytes"
            let outcome = bytes(key.key).withUnsafeBytes { keyBytes in
                value.withUnsafeBytes { tier.fillLongTerm(namespace: name, key: keyBytes, version: version, value: $0, generation: generation) }
            }
            guard absorbRemovals() else { return }
            switch outcome {
            case .filled: model[key] = ModelItem(value: value, version: version, expiresSeconds: 0, classIndex: classIndex(key, valueBytes: value.count))
            case .skipped: break
            case .refused: throw Disagreement("a fill with a fresh generation was refused")
            }
        }
    }

    mutating func expectRead(_ key: ModelKey, _ value: [UInt8]?) throws {
        if let item = model[key] {
            // The tier reports an expired item it finds, and the model drops it above: an item
            // still here must be live, or the tier returned or kept an expired one.
            if !isLive(item) { throw Disagreement("get \(key) found an item that expired at \(item.expiresSeconds) s, now \(now) ms") }
            hitCount += 1
            if value != item.value { throw Disagreement("get \(key) returned \(value?.count ?? -1) bytes, model \(item.value.count)") }
        } else {
            missCount += 1
            if value != nil { throw Disagreement("get \(key) returned a value the model does not hold") }
        }
    }

    /// Every count the tier keeps against the model's.
    mutating func check() -> Bool {
        let statistics = tier.statistics
        var problems: [String] = []
        let shortTerm = model.filter { !$0.key.isLongTermCache }
        let cache = model.filter { $0.key.isLongTermCache }
        if statistics.itemCount != shortTerm.count { problems.append("items \(statistics.itemCount), model \(shortTerm.count)") }
        if statistics.longTermCache.itemCount != cache.count { problems.append("cache items \(statistics.longTermCache.itemCount), model \(cache.count)") }
        if statistics.hitCount != hitCount || statistics.missCount != missCount { problems.append("hits/misses \(statistics.hitCount)/\(statistics.missCount), model \(hitCount)/\(missCount)") }
        if statistics.evictionCount != evictionCount || statistics.expirationCount != expirationCount { problems.append("evictions/expirations \(statistics.evictionCount)/\(statistics.expirationCount), reported \(evictionCount)/\(expirationCount)") }
        let keyValueBytes = model.reduce(0) { $0 + $1.key.key.utf8.count + $1.value.value.count }
        if statistics.keyValueBytes != keyValueBytes { problems.append("key/value bytes \(statistics.keyValueBytes), model \(keyValueBytes)") }
        for (index, slabClass) in statistics.classes.enumerated() {
            let expected = model.values.filter { $0.classIndex == index }.count
            if slabClass.chunksInUse != expected { problems.append("class \(index) holds \(slabClass.chunksInUse) chunks, model \(expected)") }
            if slabClass.chunksInUse + slabClass.freeChunkCount != slabClass.pageCount * (statistics.pageBytes / slabClass.chunkBytes) { problems.append("class \(index) chunks do not add up to its pages") }
        }
        let cacheBytes = cache.values.reduce(0) { $0 + tier.layout.chunkBytes[$1.classIndex] }
        if statistics.longTermCache.bytesInUse != cacheBytes { problems.append("cache bytes \(statistics.longTermCache.bytesInUse), model \(cacheBytes)") }
        if cacheBytes > tier.cacheBytesMax { problems.append("cache bytes \(cacheBytes) over the share \(tier.cacheBytesMax)") }
        if statistics.bytesInUse > statistics.budgetBytes { problems.append("bytes in use \(statistics.bytesInUse) over the budget \(statistics.budgetBytes)") }
        if statistics.classes.reduce(0, { $0 + $1.pageCount }) + statistics.freePageCount != statistics.pageCount { problems.append("pages do not add up") }
        if !problems.isEmpty { lastOperation += " | " + problems.joined(separator: "; ") }
        return problems.isEmpty
    }
}

struct Disagreement: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
