#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import FoundationEssentials
import Testing

/// A child process writes through the group-commit writer from many tasks and prints each
/// acknowledged write; the test kills it with SIGKILL at random moments, reopens the store, and
/// checks that every acknowledged write is there with its exact value and version, that nothing is
/// half-visible, and that the only other changes are each task's one write in flight.
@Suite struct CrashTests {
    static let rounds = Int(ProcessInfoEnvironment.value("ENGRAM_CRASH_ROUNDS") ?? "") ?? 20
    static let tasks = 8

    enum Item: Equatable {
        case absent
        case present(version: UInt64, origin: CrashValues.Origin)
    }

    struct Operation {
        enum Kind { case put(String), delete(String), fact(Int) }
        let task: Int
        let sequence: Int
        let kind: Kind
    }

    @Test func everyAcknowledgedWriteSurvivesSIGKILL() async throws {
        let directory = TemporaryDirectory("engram-crash")
        defer { directory.remove() }
        let executable = ChildProcess.productsDirectory + "/engram-crash-writer"
        var keys: [String: Item] = [:]
        var facts: [String: Item] = [:]
        for task in 0..<Self.tasks {
            for slot in 0..<16 { keys["t\(task)-k\(slot)"] = .absent }
            for slot in 0..<4 { facts["\(task)/\(slot)"] = .absent }
        }
        var generator = SplitMix64(seed: UInt64(UInt32(truncatingIfNeeded: time(nil))))
        var acknowledged = 0
        var recordEvents = 0
        for round in 1...Self.rounds {
            let child = try ChildProcess.launch(executable, [directory.path, "\(round)", "\(Self.tasks)"], outputPath: directory.path + ".out")
            try await waitUntil { (try? child.output().hasPrefix("ready")) == true }
            try await Task.sleep(for: .milliseconds(Int(20 + generator.next() % 400)))
            _ = child.kill(signal: SIGKILL)
            let lines = try child.output().split(separator: "\n").dropFirst()
            #expect(!lines.contains { $0.hasPrefix("error") }, "round \(round): \(lines.first { $0.hasPrefix("error") } ?? "")")

            var inFlight: [Int: Operation] = [:]
            for line in lines {
                let fields = line.split(separator: " ").map(String.init)
                if fields.count < 4 { continue } // the last line may be cut by the kill
                if fields[0] == "begin" {
                    let task = Int(fields[1])!, sequence = Int(fields[2])!
                    let kind: Operation.Kind = fields[3] == "put" ? .put(fields[4]) : fields[3] == "delete" ? .delete(fields[4]) : .fact(Int(fields[4])!)
                    inFlight[task] = Operation(task: task, sequence: sequence, kind: kind)
                } else if fields[0] == "ack" && fields.count >= 6 {
                    acknowledged += 1
                    switch fields[1] {
                    case "put" where fields.count == 7:
                        let origin = CrashValues.Origin(round: Int(fields[4])!, task: Int(fields[5])!, sequence: Int(fields[6])!)
                        keys[fields[2]] = .present(version: UInt64(fields[3])!, origin: origin)
                        inFlight[origin.task] = nil
                    case "delete":
                        keys[fields[2]] = .absent
                        inFlight[Int(fields[4])!] = nil
                    case "fact" where fields.count == 7:
                        let origin = CrashValues.Origin(round: Int(fields[5])!, task: Int(fields[2])!, sequence: Int(fields[6])!)
                        facts["\(fields[2])/\(fields[3])"] = .present(version: UInt64(fields[4])!, origin: origin)
                        inFlight[origin.task] = nil
                    default:
                        continue
                    }
                }
            }

            let store = try EngramStore.open(StoreConfiguration(directory: directory.path))
            let namespace = try Namespace("crash")
            for (key, expected) in keys {
                let stored = try store.longTermGet(namespace: namespace, key: Array(key.utf8))
                let observed = try Self.item(stored?.version, stored?.bytes, what: "key \(key) round \(round)")
                if observed != expected {
                    let owner = Int(key.dropFirst().prefix { $0 != "-" })!
                    let allowed: Bool
                    switch inFlight[owner]?.kind {
                    case .put(let target) where target == key:
                        if case .present(let version, let origin) = observed, origin == CrashValues.Origin(round: round, task: owner, sequence: inFlight[owner]!.sequence) {
                            if case .present(let old, _) = expected { allowed = version > old } else { allowed = true }
                        } else { allowed = false }
                    case .delete(let target) where target == key:
                        allowed = observed == .absent
                    default:
                        allowed = false
                    }
                    #expect(allowed, "round \(round) key \(key): acknowledged \(expected), found \(observed), in flight \(String(describing: inFlight[owner]))")
                }
                keys[key] = observed
            }
            for (slot, expected) in facts {
                let parts = slot.split(separator: "/").map { Int($0)! }
                let stored = try store.semanticGet(namespace: namespace, id: CrashValues.factID(task: parts[0], slot: parts[1]))
                let observed = try Self.item(stored?.version, stored?.fact.body, what: "fact \(slot) round \(round)")
                if observed != expected {
                    var allowed = false
                    if case .fact(let target) = inFlight[parts[0]]?.kind, target == parts[1],
                       case .present(_, let origin) = observed, origin == CrashValues.Origin(round: round, task: parts[0], sequence: inFlight[parts[0]]!.sequence) {
                        allowed = true
                    }
                    #expect(allowed, "round \(round) fact \(slot): acknowledged \(expected), found \(observed)")
                }
                if let stored, case .present(_, let origin) = observed {
                    // The rest of the fact was written by the same write as its body.
                    #expect(stored.fact.vector == [Float(origin.round), Float(origin.task), Float(origin.sequence)])
                    #expect(stored.fact.tags == ["r\(origin.round)", "t\(origin.task)"])
                }
                facts[slot] = observed
            }
            // The child's leads and metric events: indexes, summaries and hourly buckets agree
            // with their records and events after every kill.
            let records = try store.checkRecordsConsistency()
            #expect(records.problems == [], "round \(round): \(records.problems.prefix(3))")
            #expect(records.leadCount <= Self.tasks * 4)
            recordEvents = records.eventCount
            store.close()
        }
        #expect(acknowledged > Self.rounds * 10, "the child acknowledged only \(acknowledged) writes in \(Self.rounds) rounds")
        #expect(recordEvents > 0, "the child's metric events reached the store")
    }

    static func item(_ version: UInt64?, _ bytes: [UInt8]?, what: String) throws -> Item {
        guard let version, let bytes else { return .absent }
        let origin = try #require(CrashValues.origin(of: bytes), "\(what): the value is torn or mixed")
        return .present(version: version, origin: origin)
    }
}

/// Reads an environment variable without Foundation's ProcessInfo.
enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
