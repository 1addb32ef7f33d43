import EngramStorage
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

let day: Int64 = 86_400_000_000
let statuses = ["new", "contacted", "qualified", "converted", "lost"]
let sources = ["web", "ads", "referral", "event", "partner"]

/// The lead of benchmark row `number`: about 150 bytes, like a row of the old `leads` table.
/// Created uniformly over the 30 days before `now`, scores uniform over 0...100.
func benchmarkLead(_ number: Int, now: Int64, random: inout SplitMix64, namespace: Namespace) -> LeadUpsert {
    var idBytes = [UInt8](repeating: 0, count: 16)
    for index in 0..<16 { idBytes[index] = UInt8(truncatingIfNeeded: random.next()) }
    idBytes[6] = idBytes[6] & 0x0F | 0x40
    idBytes[8] = idBytes[8] & 0x3F | 0x80
    let id = idBytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    return LeadUpsert(namespace: namespace, id: id, email: "lead\(number)@example.com", name: "Lead \(number)", company: "Company \(number % 1_000)",
                      source: sources[Int(random.next() % 5)], category: ["b2b", "b2c", "partner"][Int(random.next() % 3)],
                      score: Int(random.next() % 101), status: statuses[Int(random.next() % 5)],
                      metadata: Array("{\"utm_source\":\"google\",\"pages\":3}".utf8),
                      createdAtMicroseconds: now - Int64(random.next() % UInt64(30 * day)))
}

func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
}

/// A fresh store that durable lead inserts go into, one per benchmark process.
final class LeadWriteFixture: @unchecked Sendable {
    var directory = ""
    var store: EngramStore?
    let namespace = try! Namespace("bench")
    var next = 0
    let now = wallClockMicroseconds()

    func open() throws {
        directory = makeTemporaryDirectory("engram-leads-write")
        store = try EngramStore.open(StoreConfiguration(directory: directory))
    }

    func close() {
        if let statistics = store?.statistics {
            // On stderr, beside package-benchmark's table: how full the batches were.
            let line = "writer: \(statistics.writeCount) writes in \(statistics.batchCount) batches (\(statistics.writeCount / max(1, statistics.batchCount)) a batch), \(statistics.syncCount) syncs, \(statistics.checkpointCount) checkpoints\n"
            let bytes = Array(line.utf8)
            _ = write(2, bytes, bytes.count)
        }
        store?.close()
        store = nil
        removeDirectory(directory)
    }

    /// `count` durable inserts of new leads, spread over `writers` tasks that each wait for their
    /// write to be acknowledged before sending the next (as pgbench's clients do).
    func durableInserts(count: Int, writers: Int) async {
        guard let store else { fatalError("fixture not open") }
        let start = next
        next += count
        let now = now, namespace = namespace
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(start + writer))
                    for number in stride(from: start + writer, to: start + count, by: writers) {
                        do {
                            _ = try await store.write(benchmarkLead(number, now: now, random: &random, namespace: namespace))
                        } catch {
                            fatalError("durable upsert failed: \(error)")
                        }
                    }
                }
            }
        }
    }
}

/// A store of one million leads, built once and kept in a fixed folder under /tmp so that every
/// benchmark process (package-benchmark runs each benchmark in its own) opens it instead of
/// building it again. `Benchmarks/peers/run-records-benchmarks.sh` removes it at the end.
final class MillionLeadsFixture: @unchecked Sendable {
    static let leadCount = 1_000_000
    static let directory = "/tmp/engram-bench-1m-leads-v1"
    static let marker = directory + "/complete"
    let namespace = try! Namespace("bench")
    var store: EngramStore?
    /// The time the leads were created relative to: "the last 24 hours" ends here.
    var now: Int64 = 0

    func open() async throws {
        if store != nil { return }
        if let text = readSmallFile(Self.marker), let stored = Int64(text) {
            now = stored
            store = try EngramStore.open(StoreConfiguration(directory: Self.directory))
            return
        }
        removeDirectory(Self.directory)
        now = wallClockMicroseconds()
        let store = try EngramStore.open(StoreConfiguration(directory: Self.directory))
        self.store = store
        let now = now, namespace = namespace
        let writers = 64
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(writer) &* 7_919)
                    for number in stride(from: writer, to: Self.leadCount, by: writers) {
                        _ = try await store.write(benchmarkLead(number, now: now, random: &random, namespace: namespace), durability: .applied)
                    }
                }
            }
            try await group.waitForAll()
        }
        store.close()
        writeSmallFile(Self.marker, String(now))
        self.store = try EngramStore.open(StoreConfiguration(directory: Self.directory))
    }

    func close() {
        store?.close()
        store = nil
    }
}

/// A temporary directory under /tmp.
func makeTemporaryDirectory(_ label: String) -> String {
    var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(result != nil, "mkdtemp failed")
    return String(cString: result!)
}

func removeDirectory(_ path: String) {
    var pid: pid_t = 0
    let arguments: [String] = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

func readSmallFile(_ path: String) -> String? {
    let descriptor = Glibc.open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { Glibc.close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(descriptor, &buffer, buffer.count)
    guard count > 0 else { return nil }
    return String(decoding: buffer[..<count], as: UTF8.self)
}

/// Writes `text` and syncs it: the marker says the fixture is whole.
func writeSmallFile(_ path: String, _ text: String) {
    let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(descriptor >= 0, "cannot create \(path)")
    let bytes = Array(text.utf8)
    precondition(write(descriptor, bytes, bytes.count) == bytes.count, "cannot write \(path)")
    fsync(descriptor)
    Glibc.close(descriptor)
}
