import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore

/// Lifecycle (docs/PROTOCOL.md, "Lifecycle"). Consolidate and the erases block while the writer
/// applies their steps, so they run on the server's lifecycle thread and are answered through the
/// mailbox like writes; the engagement get is a read, here on the event loop.
///
/// Roles: consolidate needs admin on some namespace (a pass works on every namespace, like
/// stats); a namespace erase needs admin on it (it removes what every agent of the namespace
/// wrote); a lead erase needs write on its namespace: a person's erasure request is ordinary
/// application work, done by the same agents that upsert and delete leads, and its reach is one
/// lead's data (record, index entries, summary, episodes naming it). Asking admin for it would
/// push those agents to hold tokens that can erase whole namespaces.
extension ConnectionHandler {
    func executeLifecycle(_ request: Request, _ header: FrameHeader, _ start: UInt64) {
        switch request {
        case .consolidate:
            guard grants.strongestRole == .admin else {
                answerError(.forbidden, "consolidate needs an admin grant", header, startNanoseconds: start)
                return
            }
            runLifecycle(header, start) { (store) throws(EngramError) in .consolidation(WireConsolidationReport(try store.consolidate())) }
        case .eraseNamespace(let name):
            guard let namespace = authorize(name, .admin, header, start) else { return }
            runLifecycle(header, start) { (store) throws(EngramError) in .erasure(WireErasureReport(try store.eraseNamespace(namespace))) }
        case .eraseLead(let name, let id):
            guard let namespace = authorize(name, .write, header, start) else { return }
            runLifecycle(header, start) { (store) throws(EngramError) in .erasure(WireErasureReport(try store.eraseLead(namespace: namespace, id: UUID(id)))) }
        case .leadEngagement(let name, let id):
            guard let namespace = authorize(name, .read, header, start) else { return }
            do {
                guard let engagement = try server.store.leadEngagement(namespace: namespace, lead: UUID(id)) else {
                    answerError(.notFound, "", header, startNanoseconds: start)
                    return
                }
                answer(.engagement(WireLeadEngagement(engagement)), header, start)
            } catch {
                answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
            }
        default:
            preconditionFailure("\(request.opcode) is not a lifecycle request")
        }
    }

    /// Runs `work` on the lifecycle thread and answers its response when it ends; `busy` at once
    /// when `lifecycleRequestCountMax` requests are already waiting or running.
    private func runLifecycle(_ header: FrameHeader, _ start: UInt64, _ work: @escaping @Sendable (EngramStore) throws(EngramError) -> Response) {
        let completion = completionSink(header, start)
        let store = server.store
        inFlightCount += 1
        let accepted = server.lifecycle.run { isActive in
            guard isActive else {
                completion(.failure(EngramError(.closed, "the server is shutting down")))
                return
            }
            do throws(EngramError) {
                completion(.response(try work(store)))
            } catch {
                completion(.failure(error))
            }
        }
        if !accepted {
            inFlightCount -= 1
            answerError(.busy, "\(server.lifecycle.countMax) consolidate and erase requests are waiting or running; retry later", header, startNanoseconds: start)
        }
    }
}

extension WireErasureReport {
    init(_ report: ErasureReport) {
        self.init()
        deletedKeyCount = UInt64(report.deletedKeyCount)
        deletedLeadRecordCount = UInt64(report.deletedLeadRecordCount)
        rewrittenSegmentCount = UInt64(report.rewrittenSegmentCount)
        droppedEpisodeCount = UInt64(report.droppedEpisodeCount)
        droppedDamagedBlockCount = UInt64(report.droppedDamagedBlockCount)
        rekeyedIndexEntryCount = UInt64(report.rekeyedIndexEntryCount)
        finishedNamespaceCount = UInt64(report.finishedNamespaceCount)
        finishedLeadCount = UInt64(report.finishedLeadCount)
        commandCount = UInt64(report.commandCount)
        longestCommandMicroseconds = UInt64(report.longestCommandMicroseconds)
        elapsedMicroseconds = UInt64(report.elapsedMicroseconds)
        isComplete = report.isComplete
    }
}

extension WireConsolidationReport {
    init(_ report: ConsolidationReport) {
        self.init()
        expiredItemCount = UInt64(report.expiredItemCount)
        foldedEventCount = UInt64(report.foldedEventCount)
        updatedLeadCount = UInt64(report.updatedLeadCount)
        trimmedSegmentCount = UInt64(report.trimmedSegmentCount)
        commandCount = UInt64(report.commandCount)
        longestCommandMicroseconds = UInt64(report.longestCommandMicroseconds)
        elapsedMicroseconds = UInt64(report.elapsedMicroseconds)
        moreWorkRemains = report.moreWorkRemains
        erasure = report.erasure.map(WireErasureReport.init)
    }
}

extension WireLeadEngagement {
    init(_ engagement: LeadEngagement) {
        self.init(touches: engagement.touches, opens: engagement.opens, clicks: engagement.clicks, conversions: engagement.conversions,
                  lastContactMicroseconds: engagement.lastContactMicroseconds, lastChannel: engagement.lastChannel.rawValue, lastPosition: engagement.lastPosition)
    }
}
