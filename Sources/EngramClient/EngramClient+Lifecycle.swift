import EngramProtocol

/// Lifecycle (docs/PROTOCOL.md, "Lifecycle"): a consolidation pass on demand, namespace and lead
/// erase, and lead engagement summaries.
///
/// An erase runs to its end on the server even if this client's request times out or its
/// connection closes: it is durable from its first step, and calling it again carries on and
/// answers once it is complete. Give erase calls a `requestTimeoutMilliseconds` that fits the data
/// (each segment file holding the erased records is rewritten).
extension EngramClient {
    /// Runs one consolidation pass now and returns what it did. Needs an admin grant.
    public func consolidate() async throws(EngramClientError) -> WireConsolidationReport {
        let response = try await send(.consolidate)
        guard case .consolidation(let report) = response else { throw unexpected(response, .consolidate) }
        return report
    }

    /// Erases every trace of `namespace`, durably. Needs admin on the namespace.
    @discardableResult
    public func eraseNamespace(_ namespace: String) async throws(EngramClientError) -> WireErasureReport {
        let response = try await send(.eraseNamespace(namespace: namespace))
        guard case .erasure(let report) = response else { throw unexpected(response, .eraseNamespace) }
        return report
    }

    /// Erases the lead `id`: its record, index entries, engagement summary and episodes. Needs
    /// write on the namespace. A lead without a record is erased all the same (its episodes);
    /// `deletedLeadRecordCount` says whether there was one.
    @discardableResult
    public func eraseLead(namespace: String, id: WireUUID) async throws(EngramClientError) -> WireErasureReport {
        let response = try await send(.eraseLead(namespace: namespace, id: id))
        guard case .erasure(let report) = response else { throw unexpected(response, .eraseLead) }
        return report
    }

    /// The lead's engagement summary as of the last consolidation pass; nil when none was folded.
    public func leadEngagement(namespace: String, id: WireUUID) async throws(EngramClientError) -> WireLeadEngagement? {
        try await optional(.leadEngagement(namespace: namespace, id: id)) { (response) throws(EngramClientError) in
            guard case .engagement(let engagement) = response else { throw unexpected(response, .leadEngagement) }
            return engagement
        }
    }
}
