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
// (16 bytes, read from one contiguous buffer as a server reads them from its input), values of
// 100 bytes. Two resident sets: 1,000 items (about 200 KB of chunks, inside the core's L2) and
// 100,000 items (17.6 MB of chunks plus the 8 MiB index, far beyond it). Operations walk the keys
// with a stride coprime to their count, so consecutive ones land in different buckets and stripes.

let benchmarks: @Sendable () -> Void = {
    let throughput = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(3),
        maxIterations: 10
    )

    for itemCount in [1_000, 100_000] {
        let items = "\(itemCount / 1_000)k items"
        Benchmark("get, 1 thread, \(items), withValue copying out", configuration: throughput) { benchmark, workload in
            workload.gets(count: benchmark.scaledIterations.count, start: 0)
        } setup: {
            Workload(itemCount: itemCount)
        }

        Benchmark("get, 2 threads, \(items), withValue copying out (per thread)", configuration: throughput) { benchmark, workload in
            let count = benchmark.scaledIterations.count
            runThreads(2) { thread in workload.gets(count: count, start: thread * itemCount / 2) }
        } setup: {
            Workload(itemCount: itemCount)
        }

        Benchmark("put, 1 thread, \(items), replacing", configuration: throughput) { benchmark, workload in
            workload.puts(count: benchmark.scaledIterations.count, start: 0)
        } setup: {
            Workload(itemCount: itemCount)
        }

        Benchmark("put, 2 threads, \(items), replacing (per thread)", configuration: throughput) { benchmark, workload in
            let count = benchmark.scaledIterations.count
            runThreads(2) { thread in workload.puts(count: count, start: thread * itemCount / 2) }
        } setup: {
            Workload(itemCount: itemCount)
        }
    }

    Benchmark("get, 1 thread, 100k items, get returning [UInt8]", configuration: throughput) { benchmark, workload in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(try! workload.tier.get(namespace: Workload.namespace, key: workload.key(index)))
            index = workload.next(index)
        }
    } setup: {
        Workload(itemCount: 100_000)
    }

    // A 16 MiB tier holds about 95,000 of these items; 1,000,000 keys make every put evict.
    Benchmark("put, 1 thread, 1M keys into 16 MiB, evicting", configuration: throughput) { benchmark, workload in
        workload.puts(count: benchmark.scaledIterations.count, start: 0)
    } setup: {
        var limits = Limits()
        limits.hotTierBytes = 16 << 20
        return Workload(itemCount: 1_000_000, limits: limits)
    }

    let overhead = Benchmark.Configuration(
        metrics: Overhead.metrics,
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(60),
        maxIterations: 1
    )

    Benchmark("overhead, 1,000,000 items, 100-byte values", configuration: overhead) { benchmark in
        let tier = try! HotTier(limits: Limits())
        let value = [UInt8](repeating: 0x5A, count: 100)
        for index in 0..<1_000_000 {
            try! tier.put(namespace: Workload.namespace, key: Workload.keyBytes(index), value: value)
        }
        Overhead.report(tier.statistics, to: benchmark)
    }

    Benchmark("overhead, 700,000 items, values of 32 to 512 bytes", configuration: overhead) { benchmark in
        let tier = try! HotTier(limits: Limits())
        let values = (32...512).map { [UInt8](repeating: 0x5A, count: $0) }
        for index in 0..<700_000 {
            try! tier.put(namespace: Workload.namespace, key: Workload.keyBytes(index), value: values[(index &* 7_919) % values.count])
        }
        Overhead.report(tier.statistics, to: benchmark)
    }
}

/// A tier filled with `itemCount` items, and their keys in one buffer. Immutable after setup;
/// the buffer lives as long as the process (benchmarks are short-lived executables).
/// `@unchecked Sendable`: `keys` is written once in `init` and only read after.
final class Workload: @unchecked Sendable {
    static let namespace = try! Namespace("agent-042")
    static let keyBytes = 16
    let tier: HotTier
    let itemCount: Int
    private let keys: UnsafeRawBufferPointer

    init(itemCount: Int, limits: Limits = Limits()) {
        self.itemCount = itemCount
        tier = try! HotTier(limits: limits)
        let keys = UnsafeMutableRawBufferPointer.allocate(byteCount: itemCount * Self.keyBytes, alignment: 8)
        let value = [UInt8](repeating: 0x5A, count: 100)
        for index in 0..<itemCount {
            let key = Self.keyBytes(index)
            UnsafeMutableRawBufferPointer(rebasing: keys[(index * Self.keyBytes)...].prefix(Self.keyBytes)).copyBytes(from: key)
            try! tier.put(namespace: Self.namespace, key: key, value: value, ttlSeconds: 0)
        }
        self.keys = UnsafeRawBufferPointer(keys)
    }

    /// "session:" and the index in eight digits: 16 bytes.
    static func keyBytes(_ index: Int) -> [UInt8] {
        let digits = String(index)
        return Array(("session:" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    @inline(__always)
    func key(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: keys[(index * Self.keyBytes)..<((index + 1) * Self.keyBytes)])
    }

    /// The next key index: a stride coprime to the key count visits every key once per round.
    @inline(__always)
    func next(_ index: Int) -> Int { (index &+ 7_919) % itemCount }

    /// `count` gets as a server does them: the value copied into a buffer it owns.
    func gets(count: Int, start: Int) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 8)
        defer { buffer.deallocate() }
        var index = start % itemCount
        var found = 0
        for _ in 0..<count {
            let copied = try! tier.withValue(namespace: Self.namespace, key: key(index)) { (value) throws(EngramError) -> Int in
                buffer.copyMemory(from: value)
                return value.count
            }
            found &+= copied ?? 0
            index = next(index)
        }
        blackHole(found)
    }

    func puts(count: Int, start: Int) {
        let value = [UInt8](repeating: 0x5A, count: 100)
        var index = start % itemCount
        value.withUnsafeBytes { value in
            for _ in 0..<count {
                try! tier.put(namespace: Self.namespace, key: key(index), value: value, ttlSeconds: 0)
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
