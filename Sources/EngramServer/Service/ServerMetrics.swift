import CoreMetrics
import EngramProtocol
import EngramStorage
import Metrics
import Prometheus
import Synchronization

/// The server's metrics, through swift-metrics into its own Prometheus registry (no global
/// bootstrap, so several servers can live in one test process).
///
/// Per-request counters and timers are created up front, one per opcode, so the hot path only
/// increments; error counters per opcode and status are created on first use. Gauges about the
/// store are refreshed when `/metrics` is scraped.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private let requestCounters: [CoreMetrics.Counter]
    private let latencyTimers: [CoreMetrics.Timer]
    private let errorCounters = Mutex<[ErrorKey: CoreMetrics.Counter]>([:])

    let connections: CoreMetrics.Gauge
    let connectionsAccepted: CoreMetrics.Counter
    let connectionsRejected: CoreMetrics.Counter
    let malformedFrames: CoreMetrics.Counter
    let idleClosed: CoreMetrics.Counter
    let helloTimeouts: CoreMetrics.Counter
    let slowReaderClosed: CoreMetrics.Counter
    let readPauses: CoreMetrics.Counter
    let authenticationFailures: CoreMetrics.Counter
    let followPauses: CoreMetrics.Counter
    /// Live follows, push-frame bytes not yet taken by sockets, and pauses, over every
    /// connection: kept here as atomics so stats and the scrape read them without a loop hop.
    let followCount = Atomic<Int>(0)
    let followBufferedBytes = Atomic<Int>(0)
    let followPauseCount = Atomic<UInt64>(0)

    private let storeGauges: [String: CoreMetrics.Gauge]
    /// Consolidation passes and erasures, fed by `record(_ event:)`.
    let lifecycle: LifecycleMetrics

    struct ErrorKey: Hashable {
        let opcodeIndex: Int
        let status: UInt16
    }

    /// Latency buckets from 50 µs to 1 s: reads take microseconds, durable writes a sync.
    static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(1000),
    ]

    /// The opcodes with their own series; anything else is counted as "unknown".
    static let opcodes = Opcode.requests

    static func index(of opcode: Opcode) -> Int {
        opcodes.firstIndex(of: opcode) ?? opcodes.count
    }

    static func label(ofIndex index: Int) -> String {
        index < opcodes.count ? opcodes[index].name : "unknown"
    }

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.registry = registry
        self.factory = factory
        let labels = (0...Self.opcodes.count).map { Self.label(ofIndex: $0) }
        requestCounters = labels.map { CoreMetrics.Counter(label: "engram_requests_total", dimensions: [("opcode", $0)], factory: factory) }
        latencyTimers = labels.map { CoreMetrics.Timer(label: "engram_request_duration_seconds", dimensions: [("opcode", $0)], preferredDisplayUnit: .seconds, factory: factory) }
        connections = CoreMetrics.Gauge(label: "engram_connections", factory: factory)
        connectionsAccepted = CoreMetrics.Counter(label: "engram_connections_accepted_total", factory: factory)
        connectionsRejected = CoreMetrics.Counter(label: "engram_server_rejected_connections_total", factory: factory)
        malformedFrames = CoreMetrics.Counter(label: "engram_malformed_frames_total", factory: factory)
        idleClosed = CoreMetrics.Counter(label: "engram_idle_connections_closed_total", factory: factory)
        helloTimeouts = CoreMetrics.Counter(label: "engram_hello_timeouts_total", factory: factory)
        slowReaderClosed = CoreMetrics.Counter(label: "engram_slow_reader_connections_closed_total", factory: factory)
        readPauses = CoreMetrics.Counter(label: "engram_read_pauses_total", factory: factory)
        authenticationFailures = CoreMetrics.Counter(label: "engram_authentication_failures_total", factory: factory)
        followPauses = CoreMetrics.Counter(label: "engram_follow_pauses_total", factory: factory)
        let gaugeNames = [
            "engram_writer_queue_depth", "engram_store_batches", "engram_store_writes", "engram_store_failed_writes",
            "engram_store_syncs", "engram_store_checkpoints", "engram_store_busy_rejections", "engram_store_log_bytes",
            "engram_store_largest_batch", "engram_store_average_batch", "engram_long_term_entries", "engram_semantic_entries",
            "engram_store_checkpoint_seconds_total", "engram_store_last_checkpoint_seconds", "engram_store_last_checkpoint_lsn",
            "engram_store_last_applied_lsn", "engram_write_buffers", "engram_write_buffer_bytes",
            "engram_disk_lmdb_bytes", "engram_disk_commit_log_bytes", "engram_disk_episodic_bytes",
            "engram_hot_tier_items", "engram_hot_tier_bytes_in_use", "engram_hot_tier_budget_bytes",
            "engram_hot_tier_evictions", "engram_hot_tier_expirations", "engram_long_term_cache_items",
            "engram_long_term_cache_hits", "engram_long_term_cache_misses",
            "engram_follows", "engram_follow_buffered_bytes",
        ]
        var gauges: [String: CoreMetrics.Gauge] = [:]
        for name in gaugeNames { gauges[name] = CoreMetrics.Gauge(label: name, factory: factory) }
        storeGauges = gauges
        lifecycle = LifecycleMetrics(factory: factory)
    }

    /// Counts a store event (consolidation passes and erasures); `engramd` passes every event of
    /// its store here.
    public func record(_ event: StoreEvent) {
        lifecycle.record(event)
    }

    /// Counts a request and its latency; errors also by status.
    func record(_ opcode: Opcode, status: Status, nanoseconds: UInt64) {
        let index = Self.index(of: opcode)
        requestCounters[index].increment()
        latencyTimers[index].recordNanoseconds(Int64(truncatingIfNeeded: nanoseconds))
        if status != .ok { errorCounter(index, status).increment() }
    }

    private func errorCounter(_ index: Int, _ status: Status) -> CoreMetrics.Counter {
        errorCounters.withLock { counters in
            let key = ErrorKey(opcodeIndex: index, status: status.rawValue)
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: "engram_request_errors_total", dimensions: [("opcode", Self.label(ofIndex: index)), ("status", status.name)], factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// Copies the store's figures into the gauges; called before each scrape.
    func refresh(statistics: StoreStatistics, footprint: StoreFootprint?, hotTier: HotTierStatistics) {
        func set(_ name: String, _ value: some BinaryInteger) { storeGauges[name]?.record(Double(value)) }
        set("engram_writer_queue_depth", statistics.queueDepth)
        set("engram_store_batches", statistics.batchCount)
        set("engram_store_writes", statistics.writeCount)
        set("engram_store_failed_writes", statistics.failedWriteCount)
        set("engram_store_syncs", statistics.syncCount)
        set("engram_store_checkpoints", statistics.checkpointCount)
        set("engram_store_busy_rejections", statistics.busyRejectionCount)
        set("engram_store_log_bytes", statistics.logBytes)
        set("engram_store_largest_batch", statistics.largestBatchCount)
        storeGauges["engram_store_average_batch"]?.record(statistics.batchCount == 0 ? 0 : Double(statistics.writeCount) / Double(statistics.batchCount))
        storeGauges["engram_store_checkpoint_seconds_total"]?.record(Double(statistics.checkpointNanoseconds) / 1e9)
        storeGauges["engram_store_last_checkpoint_seconds"]?.record(Double(statistics.lastCheckpointNanoseconds) / 1e9)
        set("engram_store_last_checkpoint_lsn", statistics.lastCheckpointLSN)
        set("engram_store_last_applied_lsn", statistics.lastAppliedLSN)
        set("engram_write_buffers", statistics.writeBufferCount)
        set("engram_write_buffer_bytes", statistics.writeBufferBytes)
        if let footprint {
            set("engram_long_term_entries", footprint.longTermEntryCount)
            set("engram_semantic_entries", footprint.semanticEntryCount)
            set("engram_disk_lmdb_bytes", footprint.lmdbBytes)
            set("engram_disk_commit_log_bytes", footprint.commitLogBytes)
            set("engram_disk_episodic_bytes", footprint.episodicBytes)
        }
        set("engram_hot_tier_items", hotTier.itemCount)
        set("engram_hot_tier_bytes_in_use", hotTier.bytesInUse)
        set("engram_hot_tier_budget_bytes", hotTier.budgetBytes)
        set("engram_hot_tier_evictions", hotTier.evictionCount)
        set("engram_hot_tier_expirations", hotTier.expirationCount)
        set("engram_long_term_cache_items", hotTier.longTermCache.itemCount)
        set("engram_long_term_cache_hits", hotTier.longTermCache.hitCount)
        set("engram_long_term_cache_misses", hotTier.longTermCache.missCount)
        set("engram_follows", max(0, followCount.load(ordering: .relaxed)))
        set("engram_follow_buffered_bytes", max(0, followBufferedBytes.load(ordering: .relaxed)))
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        registry.emitToString()
    }
}
