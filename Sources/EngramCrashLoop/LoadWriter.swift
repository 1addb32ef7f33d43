import EngramClient
import EngramProtocol

/// One connection's writes in one round: one request at a time, each `durable`, each chosen at
/// random among the kinds of `LoadShape`, until the server dies under it.
///
/// Before a request leaves, it is the connection's write in flight in the ledger; an answer makes
/// it acknowledged, a refusal forgets it, and a broken connection leaves it uncertain and ends the
/// writer. Each connection writes its own keys, leads and campaign (counters and agents are
/// shared), so what it was told is in the order the server applied it.
struct LoadWriter {
    let connection: Int
    let round: Int
    let client: EngramClient
    let ledger: SharedLedger
    let campaign: WireUUID
    var random: CrashRandom
    /// The lead operation (counted from 0) at which this writer erases one of its leads.
    let leadEraseAt: Int?
    /// The scratch operation at which connection 0 erases the scratch namespace.
    let scratchEraseAt: Int?
    var operationCount = 0
    var leadOperationCount = 0
    var scratchOperationCount = 0

    enum Outcome {
        case acknowledged
        /// Answered with a refusal that leaves nothing applied (a version conflict, `busy`).
        case refused
        /// The server is gone (or something failed the round): the writer ends.
        case stopped
    }

    init(connection: Int, round: Int, client: EngramClient, ledger: SharedLedger, campaign: WireUUID, random: CrashRandom, leadEraseAt: Int?, scratchEraseAt: Int?) {
        self.connection = connection
        self.round = round
        self.client = client
        self.ledger = ledger
        self.campaign = campaign
        self.random = random
        self.leadEraseAt = leadEraseAt
        self.scratchEraseAt = scratchEraseAt
    }

    mutating func run() async {
        defer { ledger.writerStopped() }
        while true {
            let outcome = await nextOperation()
            operationCount += 1
            if case .stopped = outcome { return }
        }
    }

    private mutating func nextOperation() async -> Outcome {
        if connection == 0 && random.percent(LoadShape.scratchPercent) {
            defer { scratchOperationCount += 1 }
            return await scratchOperation()
        }
        let choice = random.below(100)
        switch choice {
        case ..<LoadShape.putPercent:
            return await put()
        case ..<(LoadShape.putPercent + LoadShape.incrementPercent):
            return await increment()
        case ..<(LoadShape.putPercent + LoadShape.incrementPercent + LoadShape.appendPercent):
            return await append()
        case ..<(LoadShape.putPercent + LoadShape.incrementPercent + LoadShape.appendPercent + LoadShape.leadPercent):
            defer { leadOperationCount += 1 }
            return await leadOperation()
        default:
            return await metricAppend()
        }
    }

    /// Sends one write: `inFlight` until answered, then `acknowledge` with the answer.
    func perform<Answer>(_ inFlight: InFlight, conflictIsRefusal: Bool = false, _ request: () async throws(EngramClientError) -> Answer, acknowledge: (Answer, inout CrashLedger) -> Void) async -> Outcome {
        ledger.withLock { $0.uncertain[connection] = inFlight }
        do throws(EngramClientError) {
            let answer = try await request()
            ledger.acknowledge(connection: connection) { acknowledge(answer, &$0) }
            return .acknowledged
        } catch {
            return settle(error, conflictIsRefusal: conflictIsRefusal)
        }
    }

    /// What a failed request means for the ledger.
    func settle(_ error: EngramClientError, conflictIsRefusal: Bool) -> Outcome {
        switch error.code {
        case .busy, .shuttingDown, .notExecuted:
            // Not executed: the writer queue was full, or the namespace is being erased.
            forgetInFlight()
            return .refused
        case .versionConflict where conflictIsRefusal:
            forgetInFlight()
            return .refused
        case .connectFailed:
            // The request never left: the server is gone.
            forgetInFlight()
            return .stopped
        case .connectionClosed, .timeout, .io, .protocolViolation:
            // It may or may not have been applied: it stays in flight until the checks decide.
            // (A connection reset by the killed server comes as `protocolViolation`.)
            return .stopped
        default:
            forgetInFlight()
            problem("a valid write was refused: \(error)")
            return .stopped
        }
    }

    func forgetInFlight() {
        ledger.withLock { $0.uncertain[connection] = nil }
    }

    func problem(_ message: String) {
        ledger.withLock { $0.problems.append("round \(round), connection \(connection): \(message)") }
    }

    /// A read before a write (the counter's current value): a failure ends the writer with
    /// nothing in flight.
    func read<Answer>(_ request: () async throws(EngramClientError) -> Answer) async -> Answer? {
        do throws(EngramClientError) {
            return try await request()
        } catch {
            // A reset connection comes as `protocolViolation` (the client's channel error).
            if ![.connectFailed, .connectionClosed, .timeout, .protocolViolation].contains(error.code) {
                problem("a read failed: \(error)")
            }
            return nil
        }
    }
}
