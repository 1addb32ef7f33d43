import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore

extension ConnectionHandler {
    /// Decodes one request frame, checks it against the connection's state and grants, and runs it.
    /// `receivedNanoseconds` is when the bytes were read: one clock reading per read burst, and
    /// the start of every latency the metrics record for the burst's requests.
    func handle(_ frame: Frame, receivedNanoseconds: UInt64) {
        let header = frame.header
        if header.opcode.isSnapshot { return handleSnapshot(frame, receivedNanoseconds: receivedNanoseconds) }
        // Short-term gets and puts, the hot tier's bulk, skip the `Request` decoding.
        if phase == .ready && header.flags.rawValue == 0 {
            if header.opcode == .shortTermGet && serveShortTermFast(frame, isPut: false, receivedNanoseconds) { return }
            if header.opcode == .shortTermPut && serveShortTermFast(frame, isPut: true, receivedNanoseconds) { return }
        }
        let request: Request
        do {
            guard let decoded = try Request.decode(frame) else {
                answerError(.unknownOpcode, "opcode 0x\(String(header.opcode.rawValue, radix: 16)) is not one this server knows", header)
                return
            }
            request = decoded
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        if header.flags.durability != nil && !header.opcode.writes {
            errorCaught(context: context, error: ProtocolError(.reservedBits, "durability flags on \(header.opcode.name), which does not write", requestID: header.requestID, opcode: header.opcode))
            return
        }
        if case .hello(let hello) = request {
            handleHello(hello, header)
            return
        }
        guard phase == .ready else {
            answerError(.unauthenticated, "say hello with a token before \(header.opcode.name)", header)
            return
        }
        execute(request, header, start: receivedNanoseconds)
    }

    /// Answers a request with an error and records it.
    func answerError(_ status: Status, _ message: String, _ header: FrameHeader, startNanoseconds: UInt64? = nil) {
        writeError(status, message, opcode: header.opcode, requestID: header.requestID)
        server.metrics.record(header.opcode, status: status, nanoseconds: startNanoseconds.map { Self.now() - $0 } ?? 0)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: Hello

    private func handleHello(_ hello: HelloRequest, _ header: FrameHeader) {
        guard phase == .awaitingHello else {
            answerError(.invalidArgument, "the connection has said hello already", header)
            return
        }
        let supported = FrameHeader.versionsSupported
        let version = min(hello.versionMax, supported.upperBound)
        guard version >= max(hello.versionMin, supported.lowerBound) else {
            server.metrics.record(.hello, status: .unsupportedVersion, nanoseconds: 0)
            failConnection(.unsupportedVersion, "the client speaks versions \(hello.versionMin) to \(hello.versionMax); this server speaks \(supported.lowerBound) to \(supported.upperBound)", opcode: .hello, requestID: header.requestID)
            return
        }
        let grants: [Grant]
        if server.tokens.isOpen {
            grants = [Grant(role: .admin, namespace: nil)]
        } else if let found = server.tokens.grants(for: hello.token) {
            grants = found
        } else {
            server.metrics.authenticationFailures.increment()
            server.metrics.record(.hello, status: .unauthenticated, nanoseconds: 0)
            logger.notice("closing a connection after an unknown token", metadata: ["client": "\(hello.clientName)"])
            failConnection(.unauthenticated, "the token is not known to this server", opcode: .hello, requestID: header.requestID)
            return
        }
        self.grants = grants
        defaultDurability = hello.defaultDurability
        phase = .ready
        logger[metadataKey: "client"] = "\(hello.clientName)"
        let response = HelloResponse(version: version, openMode: server.tokens.isOpen, limits: server.helloLimits, grants: grants, serverName: server.serverName)
        withOutput { buffer in
            FrameEncoder.writeFrame(into: &buffer, opcode: .hello, requestID: header.requestID) { response.encode(into: &$0) }
        }
        server.metrics.record(.hello, status: .ok, nanoseconds: 0)
    }

    // MARK: Authorisation

    /// The namespace of a request if the connection's grants allow `role` in it; otherwise
    /// answers the error and returns nil. Names and grants are cached per connection.
    func authorize(_ name: String, _ role: Role, _ header: FrameHeader, _ start: UInt64) -> Namespace? {
        let cached: CachedNamespace
        if let hit = namespaceCache[name] {
            cached = hit
        } else {
            let namespace = Result { () throws(EngramError) -> Namespace in
                let namespace = try Namespace(name)
                guard namespace.bytes.count <= server.store.limits.namespaceBytesMax else {
                    throw EngramError(.keyTooLarge, "namespace name of \(namespace.bytes.count) bytes exceeds namespaceBytesMax \(server.store.limits.namespaceBytesMax)")
                }
                return namespace
            }
            cached = CachedNamespace(namespace: namespace, role: grants.role(in: name))
            if namespaceCache.count >= server.limits.namespaceCacheCountMax { namespaceCache.removeAll(keepingCapacity: true) }
            namespaceCache[name] = cached
        }
        let namespace: Namespace
        switch cached.namespace {
        case .success(let value):
            namespace = value
        case .failure(let error):
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
            return nil
        }
        guard let granted = cached.role, granted >= role else {
            let has = cached.role.map { "\($0)" } ?? "no grant"
            answerError(.forbidden, "the token has \(has) on namespace \(name); \(header.opcode.name) needs \(role)", header, startNanoseconds: start)
            return nil
        }
        return namespace
    }

    // MARK: Execution

    private func execute(_ request: Request, _ header: FrameHeader, start: UInt64) {
        switch request {
        case .hello:
            preconditionFailure("hello is handled before execute")
        case .ping(let payload):
            withOutput { buffer in
                FrameEncoder.writeFrame(into: &buffer, opcode: .ping, requestID: header.requestID) { $0.writeBytes(payload) }
            }
            server.metrics.record(.ping, status: .ok, nanoseconds: Self.now() - start)
        case .stats:
            guard grants.strongestRole == .admin else {
                answerError(.forbidden, "stats needs an admin grant", header, startNanoseconds: start)
                return
            }
            answerStats(header, start)
        case .longTermGet(let name, let key):
            guard let namespace = authorize(name, .read, header, start) else { return }
            longTermGet(namespace, key, header, start)
        case .longTermScan(let name, let prefix, let after, let limit):
            guard let namespace = authorize(name, .read, header, start) else { return }
            longTermScan(namespace, prefix, after, limit, header, start)
        case .semanticGet(let name, let id):
            guard let namespace = authorize(name, .read, header, start) else { return }
            semanticGet(namespace, id, header, start)
        case .semanticScan(let name, let after, let limit):
            guard let namespace = authorize(name, .read, header, start) else { return }
            semanticScan(namespace, after, limit, header, start)
        case .longTermPut(let name, let key, let value):
            guard let namespace = authorize(name, .write, header, start) else { return }
            submitVersioned(LongTermPut(namespace: namespace, key: key, value: value), header, start)
        case .longTermCompareAndSet(let name, let key, let expectedVersion, let value):
            guard let namespace = authorize(name, .write, header, start) else { return }
            submitVersioned(LongTermPut(namespace: namespace, key: key, value: value, expectedVersion: expectedVersion), header, start)
        case .longTermDelete(let name, let key, let expectedVersion):
            guard let namespace = authorize(name, .write, header, start) else { return }
            submitExisted(LongTermDelete(namespace: namespace, key: key, expectedVersion: expectedVersion == 0 ? nil : expectedVersion), header, start)
        case .semanticPut(let name, let id, let fact):
            guard let namespace = authorize(name, .write, header, start) else { return }
            submitVersioned(SemanticPut(namespace: namespace, fact: fact.semanticFact(id: id)), header, start)
        case .semanticDelete(let name, let id):
            guard let namespace = authorize(name, .write, header, start) else { return }
            submitExisted(SemanticDelete(namespace: namespace, id: UUID(id)), header, start)
        case .shortTermGet, .shortTermMultiGet, .shortTermPut, .shortTermDelete, .shortTermTouch, .shortTermStats:
            executeShortTerm(request, header, start)
        case .episodicAppend, .episodicReadRange, .episodicScan, .episodicFollow, .episodicUnfollow:
            executeEpisodic(request, header, start)
        case .leadUpsert, .leadGet, .leadGetByEmail, .leadDelete, .leadQuery, .campaignUpsert, .campaignGet, .campaignDelete,
             .campaignQuery, .metricAppend, .campaignSummary, .activeCampaignSummaries, .campaignHourly,
             .leadUpsertBatch, .campaignUpsertBatch:
            executeRecords(request, header, start)
        case .consolidate, .eraseNamespace, .eraseLead, .leadEngagement:
            executeLifecycle(request, header, start)
        }
    }

    private func executeShortTerm(_ request: Request, _ header: FrameHeader, _ start: UInt64) {
        switch request {
        case .shortTermGet(let name, let key):
            guard let namespace = authorize(name, .read, header, start) else { return }
            key.withUnsafeBytes { shortTermGet(namespace, $0, header, start) }
        case .shortTermMultiGet(let name, let keys):
            guard let namespace = authorize(name, .read, header, start) else { return }
            shortTermMultiGet(namespace, keys, header, start)
        case .shortTermPut(let name, let key, let ttl, let value):
            guard let namespace = authorize(name, .write, header, start) else { return }
            key.withUnsafeBytes { key in value.withUnsafeBytes { shortTermPut(namespace, key, $0, ttl, header, start) } }
        case .shortTermDelete(let name, let key):
            guard let namespace = authorize(name, .write, header, start) else { return }
            shortTermDelete(namespace, key, header, start)
        case .shortTermTouch(let name, let key, let ttl):
            guard let namespace = authorize(name, .write, header, start) else { return }
            shortTermTouch(namespace, key, ttl, header, start)
        case .shortTermStats:
            guard grants.strongestRole == .admin else {
                answerError(.forbidden, "short_term_stats needs an admin grant", header, startNanoseconds: start)
                return
            }
            answerShortTermStats(header, start)
        default:
            preconditionFailure("\(request.opcode) is not a short-term request")
        }
    }

    private func executeEpisodic(_ request: Request, _ header: FrameHeader, _ start: UInt64) {
        switch request {
        case .episodicAppend(let name, let episodes):
            guard let namespace = authorize(name, .write, header, start) else { return }
            episodicAppend(namespace, episodes, header, start)
        case .episodicReadRange(let name, let agent, let range, let order, let limit):
            guard let namespace = authorize(name, .read, header, start) else { return }
            episodicReadRange(namespace, agent, range, order, limit, header, start)
        case .episodicScan(let name, let from, let limit):
            guard let namespace = authorize(name, .read, header, start) else { return }
            episodicScan(namespace, from, limit, header, start)
        case .episodicFollow(let name, let from, let agents, let kinds):
            guard let namespace = authorize(name, .read, header, start) else { return }
            startFollow(namespace, from, agents, kinds, header, start)
        case .episodicUnfollow(let followRequestID):
            unfollow(followRequestID, header, start)
        default:
            preconditionFailure("\(request.opcode) is not an episodic request")
        }
    }
}
