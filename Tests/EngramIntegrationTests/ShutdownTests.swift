#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Synchronization
import Testing

@Suite(.serialized) struct ShutdownTests {
    /// SIGTERM in the middle of a write load: every request gets an answer or a definite "not
    /// executed", the server exits 0, and every acknowledged write is there after a restart.
    @Test func sigtermDuringWritesAnswersEverythingAndLosesNothingAcknowledged() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let client = EngramClient(server.clientConfiguration(connections: 8))
        let writerCount = 64
        let started = SharedCounter()

        async let stopped: Int32 = {
            // Let the load run, then stop the server while writes are in flight.
            while started.value.load(ordering: .relaxed) < 2_000 { try? await Task.sleep(for: .milliseconds(5)) }
            return server.stop(signal: SIGTERM)
        }()

        let outcomes = await withTaskGroup(of: WriterOutcome.self) { tasks in
            for writer in 0..<writerCount {
                tasks.addTask {
                    var outcome = WriterOutcome(writer: writer)
                    for sequence in 0..<1_000_000 {
                        started.value.add(1, ordering: .relaxed)
                        let value = Array("writer \(writer) write \(sequence)".utf8)
                        do {
                            let version = try await client.put(namespace: "load", key: Array("writer:\(writer)".utf8), value: value)
                            outcome.acknowledged = (version, value)
                        } catch let error as EngramClientError {
                            outcome.ending = error
                            break
                        } catch {
                            outcome.ending = EngramClientError(.protocolViolation, "unexpected \(error)")
                            break
                        }
                    }
                    return outcome
                }
            }
            var all: [WriterOutcome] = []
            for await outcome in tasks { all.append(outcome) }
            return all
        }
        #expect(await stopped == 0)
        await client.close()

        let allowed: Set<EngramClientError.Code> = [.notExecuted, .connectFailed, .shutdownGoingAway]
        for outcome in outcomes {
            let ending = outcome.ending
            #expect(ending.map { allowed.contains($0.code) } == true, "writer \(outcome.writer) ended with \(ending.map { "\($0)" } ?? "nothing")")
        }
        let acknowledgedCount = outcomes.filter { $0.acknowledged != nil }.count
        #expect(acknowledgedCount == writerCount)

        let restarted = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let reader = EngramClient(restarted.clientConfiguration())
        for outcome in outcomes {
            guard let (version, value) = outcome.acknowledged else { continue }
            let stored = try await reader.get(namespace: "load", key: Array("writer:\(outcome.writer)".utf8))
            // The last acknowledged write is there; a later one that was executed but whose answer
            // did not arrive could only be newer, and the writers stop at their first failure.
            let writer = outcome.writer
            #expect(stored == VersionedValue(version: version, value: value), "writer \(writer)")
        }
        await reader.close()
        expectCleanExit(restarted.stop())
    }
}

struct WriterOutcome: Sendable {
    let writer: Int
    var acknowledged: (UInt64, [UInt8])?
    var ending: EngramClientError?
}

extension EngramClientError.Code {
    /// A request the server refused while shutting down, without executing it.
    static let shutdownGoingAway = EngramClientError.Code.shuttingDown
}

/// An atomic counter that tasks can share.
final class SharedCounter: Sendable {
    let value = Atomic<Int>(0)
}
