import EngramProtocol
import NIOCore
import NIOPosix

/// A long-term value and its version.
public struct VersionedValue: Sendable, Hashable {
    public let version: UInt64
    public let value: [UInt8]

    public init(version: UInt64, value: [UInt8]) {
        self.version = version
        self.value = value
    }
}

/// One page of a long-term scan; pass `resumeAfter` as `after` for the next one.
public struct LongTermPage: Sendable, Hashable {
    public let entries: [WireEntry]
    public let resumeAfter: [UInt8]?
}

/// One page of a semantic scan.
public struct SemanticPage: Sendable, Hashable {
    public let facts: [WireStoredFact]
    public let resumeAfter: FactID?
}

/// The async/await client of `engramd`: every operation of the protocol, over a pool of
/// pipelined connections, with timeouts, reconnection and typed errors.
///
/// `Sendable`: share one client between tasks; each call is one request on one of the pool's
/// connections. A request the server did not execute (it was going away, or the connection could
/// not be opened) is retried once on another connection; anything else is thrown, since a write
/// whose connection broke may have been applied.
public final class EngramClient: Sendable {
    let pool: ConnectionPool
    let configuration: EngramClientConfiguration
    let group: any EventLoopGroup

    public init(_ configuration: EngramClientConfiguration = EngramClientConfiguration(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        pool = ConnectionPool(configuration: configuration, group: group)
        self.configuration = configuration
        self.group = group
    }

    /// Closes every connection; later calls fail with `connectionClosed`.
    public func close() async {
        await pool.close()
    }

    /// The hello answer of one pooled connection: the server's version, limits and the grants.
    public func serverHello() async throws(EngramClientError) -> HelloResponse {
        try await pool.connection().hello
    }

    func send(_ request: Request, durability: WireDurability? = nil) async throws(EngramClientError) -> Response {
        do throws(EngramClientError) {
            return try await pool.connection().send(request, durability: durability)
        } catch where error.code == .notExecuted || error.code == .connectFailed {
            return try await pool.connection().send(request, durability: durability)
        }
    }

    func unexpected(_ response: Response, _ opcode: Opcode) -> EngramClientError {
        EngramClientError(.protocolViolation, "unexpected answer \(response) to \(opcode.name)")
    }

    // MARK: Server

    /// Echoes `payload`; returns the round trip in nanoseconds.
    public func ping(_ payload: [UInt8] = []) async throws(EngramClientError) -> UInt64 {
        let connection = try await pool.connection()
        let start = NIODeadline.now()
        let response = try await connection.send(.ping(payload: payload))
        guard case .pong(let echoed) = response, echoed == payload else { throw unexpected(response, .ping) }
        return UInt64((NIODeadline.now() - start).nanoseconds)
    }

    /// The server's counters, by name (docs/PROTOCOL.md, "stats"). Needs an admin grant.
    public func stats() async throws(EngramClientError) -> [Statistic] {
        let response = try await send(.stats)
        guard case .stats(let statistics) = response else { throw unexpected(response, .stats) }
        return statistics
    }

    // MARK: Long-term memory

    /// The value at `key`, or nil.
    public func get(namespace: String, key: [UInt8]) async throws(EngramClientError) -> VersionedValue? {
        do throws(EngramClientError) {
            let response = try await send(.longTermGet(namespace: namespace, key: key))
            guard case .value(let version, let value) = response else { throw unexpected(response, .longTermGet) }
            return VersionedValue(version: version, value: value)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// Stores `value` at `key`; returns its new version.
    @discardableResult
    public func put(namespace: String, key: [UInt8], value: [UInt8], durability: WireDurability? = nil) async throws(EngramClientError) -> UInt64 {
        let response = try await send(.longTermPut(namespace: namespace, key: key, value: value), durability: durability)
        guard case .version(let version) = response else { throw unexpected(response, .longTermPut) }
        return version
    }

    /// Stores `value` only if the key's version is `expectedVersion` (0: only if absent); throws
    /// `versionConflict` otherwise.
    @discardableResult
    public func compareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8], durability: WireDurability? = nil) async throws(EngramClientError) -> UInt64 {
        let response = try await send(.longTermCompareAndSet(namespace: namespace, key: key, expectedVersion: expectedVersion, value: value), durability: durability)
        guard case .version(let version) = response else { throw unexpected(response, .longTermCompareAndSet) }
        return version
    }

    /// Deletes `key` (only at `expectedVersion` when not 0); returns whether it existed.
    @discardableResult
    public func delete(namespace: String, key: [UInt8], expectedVersion: UInt64 = 0, durability: WireDurability? = nil) async throws(EngramClientError) -> Bool {
        let response = try await send(.longTermDelete(namespace: namespace, key: key, expectedVersion: expectedVersion), durability: durability)
        guard case .existed(let existed) = response else { throw unexpected(response, .longTermDelete) }
        return existed
    }

    /// One page of the entries whose keys start with `prefix`, strictly after `after`.
    public func scan(namespace: String, prefix: [UInt8] = [], after: [UInt8]? = nil, limit: Int = 100) async throws(EngramClientError) -> LongTermPage {
        guard limit > 0, limit <= Int(UInt32.max) else { throw EngramClientError(.invalidArgument, "a scan limit must be 1 to \(UInt32.max), got \(limit)") }
        let response = try await send(.longTermScan(namespace: namespace, prefix: prefix, after: after ?? [], limit: UInt32(limit)))
        guard case .longTermPage(let entries, let resume) = response else { throw unexpected(response, .longTermScan) }
        return LongTermPage(entries: entries, resumeAfter: resume)
    }

    // MARK: Semantic memory

    @discardableResult
    public func semanticPut(namespace: String, id: FactID, fact: WireFact, durability: WireDurability? = nil) async throws(EngramClientError) -> UInt64 {
        let response = try await send(.semanticPut(namespace: namespace, id: id, fact: fact), durability: durability)
        guard case .version(let version) = response else { throw unexpected(response, .semanticPut) }
        return version
    }

    /// The fact and its version, or nil.
    public func semanticGet(namespace: String, id: FactID) async throws(EngramClientError) -> WireStoredFact? {
        do throws(EngramClientError) {
            let response = try await send(.semanticGet(namespace: namespace, id: id))
            guard case .fact(let version, let fact) = response else { throw unexpected(response, .semanticGet) }
            return WireStoredFact(id: id, version: version, fact: fact)
        } catch where error.code == .notFound {
            return nil
        }
    }

    @discardableResult
    public func semanticDelete(namespace: String, id: FactID, durability: WireDurability? = nil) async throws(EngramClientError) -> Bool {
        let response = try await send(.semanticDelete(namespace: namespace, id: id), durability: durability)
        guard case .existed(let existed) = response else { throw unexpected(response, .semanticDelete) }
        return existed
    }

    public func semanticScan(namespace: String, after: FactID? = nil, limit: Int = 100) async throws(EngramClientError) -> SemanticPage {
        guard limit > 0, limit <= Int(UInt32.max) else { throw EngramClientError(.invalidArgument, "a scan limit must be 1 to \(UInt32.max), got \(limit)") }
        let response = try await send(.semanticScan(namespace: namespace, after: after, limit: UInt32(limit)))
        guard case .semanticPage(let facts, let resume) = response else { throw unexpected(response, .semanticScan) }
        return SemanticPage(facts: facts, resumeAfter: resume)
    }
}
