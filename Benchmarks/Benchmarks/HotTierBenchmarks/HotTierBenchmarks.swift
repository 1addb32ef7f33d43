#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import EngramStorage

// The hot tier in-process, with the store's default limits (256 MiB, 1 MiB pages, 64 stripes):
// gets and puts per second from one and two threads, and the bytes each item costs beyond its key
// and value. docs/PERFORMANCE.md ("Hot tier") records the figures and the commands.
//
// The workload is agents' working memory: namespace "agent-042", keys "session:00000042"
// (16 bytes), values of 100 bytes, 100,000 items resident; reads and writes walk the keys with a
// stride coprime to their count, so consecutive operations land in different buckets and stripes.

let benchmarks: @Sendable () -> Void = {
    let throughput = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(5),
        maxIterations: 10
    )

    Benchmark("get, 1 thread, withValue copying into a buffer", configuration: throughput) { benchmark, tier in
        Workload.gets(tier, count: benchmark.scaledIterations.count, start: 0)
    } setup: {
        Workload.filledTier()
    }

    Benchmark("get, 1 thread, get returning [UInt8]", configuration: throughput) { benchmark, tier in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(try! tier.get(namespace: Workload.namespace, key: Workload.keys[index]))
            index = Workload.next(index)
        }
    } setup: {
        Workload.filledTier()
    }

    Benchmark("get, 2 threads, withValue (operations per thread)", configuration: throughput) { benchmark, tier in
        let count = benchmark.scaledIterations.count
        runThreads(2) { thread in Workload.gets(tier, count: count, start: thread * 50_000) }
    } setup: {
        Workload.filledTier()
    }

    Benchmark("put, 1 thread, replacing", configuration: throughput) { benchmark, tier in
        Workload.puts(tier, count: benchmark.scaledIterations.count, start: 0)
    } setup: {
        Workload.filledTier()
    }

    Benchmark("put, 2 threads, replacing (operations per thread)", configuration: throughput) { benchmark, tier in
        let count = benchmark.scaledIterations.count
        runThreads(2) { thread in Workload.puts(tier, count: count, start: thread * 50_000) }
    } setup: {
        Workload.filledTier()
    }

    // A 16 MiB tier holds about 95,000 of these items; 1,000,000 keys make every put evict.
    Benchmark("put, 1 thread, evicting", configuration: throughput) { (benchmark: Benchmark, tier: HotTier) in
        var index = 0
        for sequence in benchmark.scaledIterations {
            let key = Workload.evictionKeys[index]
            try! tier.put(namespace: Workload.namespace, key: key, value: Workload.value)
            index = (index &+ 7_919) % Workload.evictionKeys.count
            blackHole(sequence)
        }
    } setup: {
        var limits = Limits()
        limits.hotTierBytes = 16 << 20
        return Workload.filledTier(limits, keys: Workload.evictionKeys)
    }

    let overhead = Benchmark.Configuration(
        metrics: Overhead.metrics,
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(60),
        maxIterations: 1
    )

    Benchmark("overhead, 1,000,000 items, 100-byte values", configuration: overhead) { benchmark in
        let tier = Workload.emptyTier()
        for index in 0..<1_000_000 {
            try! tier.put(namespace: Workload.namespace, key: Workload.key(index), value: Workload.value)
        }
        Overhead.report(tier.statistics, to: benchmark)
    }

    Benchmark("overhead, 600,000 items, values of 32 to 512 bytes", configuration: overhead) { benchmark in
        let tier = Workload.emptyTier()
        let values = (32...512).map { [UInt8](repeating: 0x5A, count: $0) }
        for index in 0..<600_000 {
            try! tier.put(namespace: Workload.namespace, key: Workload.key(index), value: values[(index &* 7_919) % values.count])
        }
        Overhead.report(tier.statistics, to: benchmark)
    }
}

enum Workload {
    static let namespace = try! Namespace("agent-042")
    static let itemCount = 100_000
    static let keys = (0..<itemCount).map(key)
    static let evictionKeys = (0..<1_000_000).map(key)
    static let value = [UInt8](repeating: 0x5A, count: 100)

    /// "session:" and the index in eight digits: 16 bytes.
    static func key(_ index: Int) -> [UInt8] {
        let digits = String(index)
        return Array(("session:" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    /// The next key index: a stride coprime to the key count visits every key once per round.
    @inline(__always)
    static func next(_ index: Int) -> Int { (index &+ 7_919) % itemCount }

    static func emptyTier(_ limits: Limits = Limits()) -> HotTier {
        try! HotTier(limits: limits)
    }

    static func filledTier(_ limits: Limits = Limits(), keys: [[UInt8]] = keys) -> HotTier {
        let tier = emptyTier(limits)
        for key in keys { try! tier.put(namespace: namespace, key: key, value: value, ttlSeconds: 0) }
        return tier
    }

    /// `count` gets as a server does them: the value copied into a buffer it owns.
    static func gets(_ tier: HotTier, count: Int, start: Int) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 8)
        defer { buffer.deallocate() }
        var index = start % itemCount
        var found = 0
        for _ in 0..<count {
            keys[index].withUnsafeBytes { key in
                let copied = try! tier.withValue(namespace: namespace, key: key) { (value) throws(EngramError) -> Int in
                    buffer.copyMemory(from: value)
                    return value.count
                }
                found &+= copied ?? 0
            }
            index = next(index)
        }
        blackHole(found)
    }

    static func puts(_ tier: HotTier, count: Int, start: Int) {
        var index = start % itemCount
        value.withUnsafeBytes { value in
            for _ in 0..<count {
                keys[index].withUnsafeBytes { key in
                    try! tier.put(namespace: namespace, key: key, value: value, ttlSeconds: 0)
                }
                index = next(index)
            }
        }
    }
}

/// The bytes each item costs beyond its key and value, from the tier's own accounting: chunk
/// bytes in use plus the bookkeeping (index and tables), less the key and value bytes, per item.
/// Reported in hundredths of a byte, since the metrics are integers.
enum Overhead {
    static let total = BenchmarkMetric.custom("overhead per item (1/100 byte)", useScalingFactor: false)
    static let header = BenchmarkMetric.custom("header and namespace per item (1/100 byte)", useScalingFactor: false)
    static let rounding = BenchmarkMetric.custom("chunk rounding per item (1/100 byte)", useScalingFactor: false)
    static let index = BenchmarkMetric.custom("index and tables per item (1/100 byte)", useScalingFactor: false)
    static let items = BenchmarkMetric.custom("items", useScalingFactor: false)
    static let metrics = [total, header, rounding, index, items]

    static func report(_ statistics: HotTierStatistics, to benchmark: Benchmark) {
        let items = statistics.itemCount
        precondition(items > 0 && statistics.evictionCount == 0, "the overhead run must keep every item: \(items) items, \(statistics.evictionCount) evictions")
        let headerAndNamespace = items * (24 + Workload.namespace.bytes.count)
        let roundingBytes = statistics.bytesInUse - headerAndNamespace - statistics.keyValueBytes
        let all = statistics.bytesInUse + statistics.bookkeepingBytes - statistics.keyValueBytes
        benchmark.measurement(total, all * 100 / items)
        benchmark.measurement(header, headerAndNamespace * 100 / items)
        benchmark.measurement(rounding, roundingBytes * 100 / items)
        benchmark.measurement(index, statistics.bookkeepingBytes * 100 / items)
        benchmark.measurement(self.items, items)
    }
}

/// Runs `body(thread)` on `count` OS threads at once and returns when all have finished.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Context: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) {
            self.body = body
            self.index = index
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Context(body, index)).toOpaque()
        let rc = pthread_create(&thread, nil, { argument in
            let context = Unmanaged<Context>.fromOpaque(argument!).takeRetainedValue()
            context.body(context.index)
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed with \(rc)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}
