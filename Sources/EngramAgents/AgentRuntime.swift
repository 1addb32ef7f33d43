import EngramClient
import EngramProtocol
import FoundationEssentials

/// What every agent instance of a run shares: the client (its connection pool), the
/// configuration, the counters, and the helpers every agent needs around a request (timing,
/// retrying what the server did not execute, JSON values, compare-and-set merges).
///
/// Thread-safe; one per run, shared by every instance.
public final class AgentRuntime: Sendable {
    public let client: EngramClient
    public let configuration: AgentConfiguration
    public let statistics: AgentStatistics

    public init(client: EngramClient, configuration: AgentConfiguration, statistics: AgentStatistics = AgentStatistics()) {
        self.client = client
        self.configuration = configuration
        self.statistics = statistics
    }

    var namespace: String { configuration.namespace }

    /// Runs one request, records its latency, and retries it with doubling pauses while the
    /// server answers that it did not execute it (busy, shutting down, not executed).
    public func call<Value>(_ request: () async throws(EngramClientError) -> Value) async throws(EngramClientError) -> Value {
        var delayMilliseconds = 1
        var attempt = 0
        while true {
            let start = ContinuousClock.now
            do {
                let value = try await request()
                statistics.latency.record(microseconds: Self.microseconds(ContinuousClock.now - start))
                return value
            } catch where error.isRetryable && attempt < AgentLimits.retryCountMax {
                attempt += 1
                statistics.retries.add()
                try? await Task.sleep(for: .milliseconds(delayMilliseconds))
                delayMilliseconds = Swift.min(delayMilliseconds * 2, AgentLimits.retryDelayMaxMilliseconds)
            }
        }
    }

    static func microseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000)
    }

    // MARK: JSON values

    public static func encode<Value: Encodable>(_ value: Value) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(value))
        } catch {
            preconditionFailure("the agents' own values always encode: \(error)")
        }
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8], what: String) throws(EngramClientError) -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw EngramClientError(.invalidArgument, "\(what) is not a \(type) value: \(error)")
        }
    }

    // MARK: Long-term memory

    /// The value at `key` with its version, or nil.
    public func load<Value: Decodable>(_ type: Value.Type, key: String) async throws(EngramClientError) -> (value: Value, version: UInt64)? {
        let namespace = self.namespace
        let client = self.client
        guard let stored = try await call({ () async throws(EngramClientError) in try await client.get(namespace: namespace, key: Array(key.utf8)) }) else { return nil }
        return (try Self.decode(type, stored.value, what: key), stored.version)
    }

    /// Writes `value` at `key` if its version is still `expectedVersion` (0: absent); false on a
    /// version conflict.
    public func store<Value: Encodable>(_ value: Value, key: String, expectedVersion: UInt64) async throws(EngramClientError) -> Bool {
        let namespace = self.namespace
        let client = self.client
        let bytes = Self.encode(value)
        do throws(EngramClientError) {
            _ = try await call { () async throws(EngramClientError) in try await client.compareAndSet(namespace: namespace, key: Array(key.utf8), expectedVersion: expectedVersion, value: bytes) }
            return true
        } catch where error.code == .versionConflict {
            return false
        }
    }

    /// Reads the value at `key` (or `initial`), applies `change`, and writes it back by
    /// compare-and-set, again from a fresh read after each conflict: concurrent instances' merges
    /// all land, none overwrites another. Returns the value written.
    @discardableResult
    public func merge<Value: Codable>(key: String, initial: Value, _ change: (inout Value) -> Void) async throws(EngramClientError) -> Value {
        for _ in 0..<AgentLimits.compareAndSetAttemptsMax {
            let current = try await load(Value.self, key: key)
            var value = current?.value ?? initial
            change(&value)
            if try await store(value, key: key, expectedVersion: current?.version ?? 0) { return value }
        }
        throw EngramClientError(.versionConflict, "\(key) changed under \(AgentLimits.compareAndSetAttemptsMax) merges in a row")
    }

    /// Appends episodes as one unit.
    @discardableResult
    public func append(_ episodes: [WireNewEpisode]) async throws(EngramClientError) -> [WireEpisodeReceipt] {
        let namespace = self.namespace
        let client = self.client
        return try await call { () async throws(EngramClientError) in try await client.append(namespace: namespace, episodes: episodes) }
    }

    /// Puts an agent's working context into short-term memory for five minutes.
    public func remember<Value: Encodable>(_ value: Value, agent: String) async throws(EngramClientError) {
        let namespace = self.namespace
        let client = self.client
        let bytes = Self.encode(value)
        try await call { () async throws(EngramClientError) in
            try await client.shortTermPut(namespace: namespace, key: Array(AgentKey.workingContext(agent).utf8), value: bytes, ttl: .seconds(300))
        }
    }

    static func nowMicroseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
