import Benchmark
import CLMDB
import Dispatch
import EngramStorage
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory under /tmp, removed by `remove()`.
func makeTemporaryDirectory(_ label: String) -> String {
    var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(result != nil, "mkdtemp failed")
    return String(cString: result!)
}

func removeDirectory(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if (status.st_mode & S_IFMT) == S_IFDIR, let names = try? PosixFileSystem().contentsOfDirectory(path) {
        for name in names { removeDirectory(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// The 16-byte key for `index`: "key:" and twelve digits.
func benchmarkKey(_ index: Int) -> [UInt8] {
    let digits = String(index)
    return Array(("key:" + String(repeating: "0", count: 12 - digits.count) + digits).utf8)
}

/// A store filled with `keySpace` keys, shared by the benchmarks of one kind.
final class StoreFixture: @unchecked Sendable {
    var directory = ""
    var store: EngramStore?
    let namespace = try! Namespace("bench")
    let value = [UInt8](repeating: 0x5A, count: valueBytes)
    var generator = SplitMix64(seed: 1)

    func open() async throws {
        if store != nil { return }
        directory = makeTemporaryDirectory("engram-bench")
        let store = try EngramStore.open(StoreConfiguration(directory: directory))
        self.store = store
        // Fill with applied writes from many tasks: large batches, one sync each.
        let chunk = 1_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: keySpace, by: chunk) {
                group.addTask {
                    for index in start..<min(start + chunk, keySpace) {
                        _ = try await store.write(LongTermPut(namespace: self.namespace, key: benchmarkKey(index), value: self.value), durability: .applied)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func close() {
        store?.close()
        store = nil
        removeDirectory(directory)
    }

    /// `count` durable puts of random existing keys, spread over `writers` concurrent tasks.
    func durablePuts(count: Int, writers: Int) async {
        guard let store else { fatalError("fixture not open") }
        let seeds = (0..<writers).map { _ in generator.next() }
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let share = count / writers + (writer < count % writers ? 1 : 0)
                group.addTask {
                    var random = SplitMix64(seed: seeds[writer])
                    for _ in 0..<share {
                        let key = benchmarkKey(Int(random.next() % UInt64(keySpace)))
                        do {
                            _ = try await store.write(LongTermPut(namespace: self.namespace, key: key, value: self.value))
                        } catch {
                            fatalError("durable put failed: \(error)")
                        }
                    }
                }
            }
        }
    }

    /// `count` gets of random keys, split over `threads` OS threads.
    func gets(count: Int, threads: Int) {
        guard let store else { fatalError("fixture not open") }
        let seed = generator.next()
        let keys = (0..<4_096).map { benchmarkKey(Int(($0 &* 7_919 &+ Int(seed % 1_000)) % keySpace)) }
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var found = 0
            for index in 0..<(count / threads) {
                let key = keys[(index &+ thread &* 1_024) & 4_095]
                let length = try? store.withLongTermValue(namespace: namespace, key: key) { _, bytes in bytes.count }
                found &+= length ?? 0
            }
            blackHole(found)
        }
    }
}

/// LMDB used directly, with its own durability (a synced commit per transaction): the peer the
/// engine's group commit over its log is compared with.
final class RawLMDBFixture: @unchecked Sendable {
    var directory = ""
    var environment: OpaquePointer?
    var database: MDB_dbi = 0
    var generator = SplitMix64(seed: 2)
    let value = [UInt8](repeating: 0x5A, count: valueBytes)

    func open() {
        if environment != nil { return }
        directory = makeTemporaryDirectory("lmdb-bench")
        precondition(mdb_env_create(&environment) == 0)
        precondition(mdb_env_set_mapsize(environment, 4 << 30) == 0)
        precondition(mdb_env_open(environment, directory, 0, 0o644) == 0)
        var transaction: OpaquePointer?
        precondition(mdb_txn_begin(environment, nil, 0, &transaction) == 0)
        precondition(mdb_dbi_open(transaction, nil, 0, &database) == 0)
        for index in 0..<keySpace { put(transaction, benchmarkKey(index)) }
        precondition(mdb_txn_commit(transaction) == 0)
    }

    func close() {
        if let environment { mdb_env_close(environment) }
        environment = nil
        removeDirectory(directory)
    }

    private func put(_ transaction: OpaquePointer?, _ key: [UInt8]) {
        key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                precondition(mdb_put(transaction, database, &keyValue, &dataValue, 0) == 0)
            }
        }
    }

    /// `count` puts of random existing keys, `perTransaction` to a synced commit.
    func puts(count: Int, perTransaction: Int) {
        var done = 0
        while done < count {
            var transaction: OpaquePointer?
            precondition(mdb_txn_begin(environment, nil, 0, &transaction) == 0)
            for _ in 0..<min(perTransaction, count - done) {
                put(transaction, benchmarkKey(Int(generator.next() % UInt64(keySpace))))
                done += 1
            }
            precondition(mdb_txn_commit(transaction) == 0)
        }
    }
}
