import EngramClient
import EngramProtocol

extension Verifier {
    /// Leads: the query returns every live lead exactly once, as acknowledged (or as the upsert in
    /// flight left it); each is found by id and by email as stored; erased leads and replaced
    /// emails are found by neither.
    mutating func verifyLeads() async throws(EngramClientError) {
        var present: [WireUUID: WireLead] = [:]
        var cursor: [UInt8]? = nil
        repeat {
            let page = try await client.leadQuery(namespace: LoadShape.namespace, WireLeadQuery(order: .newest, limit: 1_000, cursor: cursor))
            for lead in page.leads where present.updateValue(lead, forKey: lead.id) != nil {
                unexpected("the lead query returned lead \(lead.id) (\(lead.email)) twice")
            }
            cursor = page.cursor
        } while cursor != nil
        var settled = state.leads
        for id in Set(present.keys).union(state.leads.keys).sorted() {
            let found = present[id]
            let expected = state.leads[id]
            if let found, let expected, found == expected.lead { continue }
            if let found, let connection = inFlight(where: { inFlight in
                guard case .leadUpsert(let sent, _) = inFlight else { return false }
                return sent.id == id && LoadWriter.isStored(sent, as: found, after: expected?.lead)
            }) {
                settled[id] = LeadEntry(owner: connection, lead: found)
                if let expected, expected.lead.email != found.email { state.retiredEmails.append(expected.lead.email) }
                appliedInFlightCount += 1
                continue
            }
            if found == nil, let expected, inFlight(where: { $0 == .leadErase(id) }) != nil {
                settled[id] = nil
                state.erasedLeads[id] = expected.lead.email
                leadErasesToFinish.append(id)
                appliedInFlightCount += 1
                continue
            }
            if let expected {
                lost(found.map { "lead \(id) is \(Self.show($0)); acknowledged: \(Self.show(expected.lead))" } ?? "acknowledged lead \(id) (\(expected.lead.email), version \(expected.lead.version)) is missing from the query")
            } else {
                unexpected("the lead query returned lead \(id) (\(found!.email), version \(found!.version)), which no upsert acknowledged or in flight explains\(state.erasedLeads[id] == nil ? "" : "; it was erased")")
            }
        }
        state.leads = settled
        let gone = state.erasedLeads.filter { settled[$0.key] == nil }.sorted { $0.key < $1.key }.map { (id: $0.key, email: $0.value) }
        let live = settled.values.map(\.lead).sorted { $0.id < $1.id }
        for problem in try await Self.lookUp(client, live: live, gone: gone, retiredEmails: state.retiredEmails) {
            problems.append(problem)
        }
    }

    static func show(_ lead: WireLead) -> String {
        "version \(lead.version) \(lead.email) score \(lead.score) \(lead.status) \(show(lead.metadata))"
    }

    /// By id and by email, spread over a few concurrent tasks (thousands of lookups each round).
    static func lookUp(_ client: EngramClient, live: [WireLead], gone: [(id: WireUUID, email: String)], retiredEmails: [String]) async throws(EngramClientError) -> [Problem] {
        let taskCount = 8
        do {
            return try await withThrowingTaskGroup(of: [Problem].self) { group in
                for task in 0..<taskCount {
                    group.addTask {
                        var problems: [Problem] = []
                        for lead in stride(from: task, to: live.count, by: taskCount).map({ live[$0] }) {
                            let byID = try await client.leadGet(namespace: LoadShape.namespace, id: lead.id)
                            let byEmail = try await client.leadGet(namespace: LoadShape.namespace, email: lead.email)
                            if byID != lead || byEmail != lead {
                                problems.append(Problem(kind: .lost, message: "lead \(lead.id): by id \(byID.map(show) ?? "none"), by email \(byEmail.map(show) ?? "none"); in the query and the ledger \(show(lead))"))
                            }
                        }
                        for erased in stride(from: task, to: gone.count, by: taskCount).map({ gone[$0] }) {
                            let byID = try await client.leadGet(namespace: LoadShape.namespace, id: erased.id)
                            let byEmail = try await client.leadGet(namespace: LoadShape.namespace, email: erased.email)
                            if byID != nil || byEmail != nil {
                                problems.append(Problem(kind: .unexpected, message: "erased lead \(erased.id) (\(erased.email)) is still found: by id \(byID.map(show) ?? "none"), by email \(byEmail.map(show) ?? "none")"))
                            }
                        }
                        for email in stride(from: task, to: retiredEmails.count, by: taskCount).map({ retiredEmails[$0] }) {
                            if let found = try await client.leadGet(namespace: LoadShape.namespace, email: email) {
                                problems.append(Problem(kind: .unexpected, message: "the replaced email \(email) still finds lead \(found.id) (now \(found.email))"))
                            }
                        }
                        return problems
                    }
                }
                var all: [Problem] = []
                for try await problems in group { all += problems }
                return all
            }
        } catch let error as EngramClientError {
            throw error
        } catch {
            throw EngramClientError(.protocolViolation, "a lead lookup failed: \(error)")
        }
    }
}
