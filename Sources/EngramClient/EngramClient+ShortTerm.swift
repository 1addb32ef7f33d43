import EngramProtocol

/// Short-term memory (docs/PROTOCOL.md, "Short-term memory"): in the server's memory, with a TTL,
/// evicted when the tier is full, gone after a restart.
extension EngramClient {
    /// The live value at `key`, or nil.
    public func shortTermGet(namespace: String, key: [UInt8]) async throws(EngramClientError) -> [UInt8]? {
        do throws(EngramClientError) {
            let response = try await send(.shortTermGet(namespace: namespace, key: key))
            guard case .shortTermValue(let value) = response else { throw unexpected(response, .shortTermGet) }
            return value
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The live values at `keys`, in order, nil where there is none. Keys the server left unread
    /// (its answer was full) are asked again, so any number of keys up to the server's
    /// `hotTierMultiGetKeyCountMax` per call works.
    public func shortTermMultiGet(namespace: String, keys: [[UInt8]]) async throws(EngramClientError) -> [[UInt8]?] {
        var values = [[UInt8]?](repeating: nil, count: keys.count)
        var remaining = Array(keys.indices)
        while !remaining.isEmpty {
            let response = try await send(.shortTermMultiGet(namespace: namespace, keys: remaining.map { keys[$0] }))
            guard case .multiGet(let entries) = response, entries.count == remaining.count else { throw unexpected(response, .shortTermMultiGet) }
            var unread: [Int] = []
            for (index, entry) in zip(remaining, entries) {
                switch entry {
                case .absent: values[index] = nil
                case .value(let value): values[index] = value
                case .notRead: unread.append(index)
                }
            }
            guard unread.count < remaining.count else { throw EngramClientError(.protocolViolation, "a multi-get answer read none of \(remaining.count) keys") }
            remaining = unread
        }
        return values
    }

    /// Stores `value` at `key` with `ttl` (the server's default, 300 s, unless given; `.never`
    /// keeps it until evicted or deleted).
    public func shortTermPut(namespace: String, key: [UInt8], value: [UInt8], ttl: WireTTL = .serverDefault) async throws(EngramClientError) {
        let response = try await send(.shortTermPut(namespace: namespace, key: key, ttl: ttl, value: value))
        guard case .empty = response else { throw unexpected(response, .shortTermPut) }
    }

    /// Removes the item; returns whether a live one was there.
    @discardableResult
    public func shortTermDelete(namespace: String, key: [UInt8]) async throws(EngramClientError) -> Bool {
        let response = try await send(.shortTermDelete(namespace: namespace, key: key))
        guard case .existed(let existed) = response else { throw unexpected(response, .shortTermDelete) }
        return existed
    }

    /// Gives a live item a new TTL counted from now; returns whether a live item was there.
    @discardableResult
    public func shortTermTouch(namespace: String, key: [UInt8], ttl: WireTTL = .serverDefault) async throws(EngramClientError) -> Bool {
        let response = try await send(.shortTermTouch(namespace: namespace, key: key, ttl: ttl))
        guard case .existed(let existed) = response else { throw unexpected(response, .shortTermTouch) }
        return existed
    }

    /// The hot tier's figures (docs/PROTOCOL.md, "short-term stats"). Needs an admin grant.
    public func shortTermStats() async throws(EngramClientError) -> [Statistic] {
        let response = try await send(.shortTermStats)
        guard case .stats(let statistics) = response else { throw unexpected(response, .shortTermStats) }
        return statistics
    }
}
