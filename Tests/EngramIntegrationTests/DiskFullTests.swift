#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Testing

/// A full disk under the real server (issue 7, "Disk full"): writes get `noSpace`, reads keep
/// working, nothing acknowledged is damaged (read back exactly before and after a restart), and
/// writes succeed again once space returns.
///
/// The data directory is on a small ext4 filesystem, loop-mounted, when the machine allows it
/// (root, `/dev/loop-control`, `mkfs.ext4`); a ballast file takes all but a few MiB of it and is
/// deleted to give the space back. Otherwise (or with `ENGRAM_DISK_FULL_MODE=fsize`) `engramd`
/// runs under a soft file-size limit (`RLIMIT_FSIZE`, set by `prlimit`, with `SIGXFSZ` ignored so
/// a write past it falls short or fails with `EFBIG` instead of killing the process), raised
/// again with `prlimit --pid` for the space to return (a soft limit, so no privilege is needed to
/// raise it). The test prints which it used.
@Suite(.serialized) struct DiskFullTests {
    static let filesystemBytes = 384 << 20
    /// Left free beside the ballast: room for the server to start, too little for the writes.
    static let headroomBytes = 12 << 20
    /// Above the 64 MiB the commit log and episodic segments are preallocated to.
    static let fileSizeLimitBytes = 80 << 20
    static let valueBytes = 256 << 10
    static let fillConcurrency = 8

    enum Mode: CustomStringConvertible {
        case loopFilesystem(mountPoint: String)
        case fileSizeLimit

        var description: String {
            switch self {
            case .loopFilesystem: "a loop-mounted ext4 filesystem of \(DiskFullTests.filesystemBytes >> 20) MiB"
            case .fileSizeLimit: "RLIMIT_FSIZE of \(DiskFullTests.fileSizeLimitBytes >> 20) MiB on engramd"
            }
        }
    }

    /// Mounts a fresh ext4 image under `directory` if this machine allows it.
    static func mountLoopFilesystem(in directory: String) -> Mode? {
        guard environment("ENGRAM_DISK_FULL_MODE") != "fsize", getuid() == 0,
              access("/dev/loop-control", F_OK) == 0, access("/usr/sbin/mkfs.ext4", X_OK) == 0 else { return nil }
        let image = directory + "/disk.img"
        let mountPoint = directory + "/mnt"
        guard mkdir(mountPoint, 0o755) == 0,
              (try? runProgram("/usr/bin/truncate", ["-s", "\(filesystemBytes)", image])) != nil,
              (try? runProgram("/usr/sbin/mkfs.ext4", ["-q", "-F", "-m", "0", image])) != nil,
              (try? runProgram("/usr/bin/mount", ["-o", "loop", image, mountPoint])) != nil else { return nil }
        return .loopFilesystem(mountPoint: mountPoint)
    }

    @Test func writesGetNoSpaceReadsGoOnAndWritesResumeWhenSpaceReturns() async throws {
        let directory = TemporaryDirectory("engram-disk-full")
        let mode = Self.mountLoopFilesystem(in: directory.path) ?? .fileSizeLimit
        var dataDirectory = directory.dataDirectory
        var launcher: [String] = []
        switch mode {
        case .loopFilesystem(let mountPoint): dataDirectory = mountPoint + "/data"
        case .fileSizeLimit: launcher = ["/bin/sh", "-c", "trap '' XFSZ; exec /usr/bin/prlimit --fsize=\(Self.fileSizeLimitBytes):unlimited \"$0\" \"$@\""]
        }
        print("DiskFullTests: the disk fills up through \(mode)")
        var server: ServerProcess? = nil
        defer {
            server?.stop(signal: SIGKILL)
            if case .loopFilesystem(let mountPoint) = mode {
                if (try? runProgram("/usr/bin/umount", [mountPoint])) == nil { _ = try? runProgram("/usr/bin/umount", ["-l", mountPoint], allowFailure: true) }
            }
            directory.remove()
        }
        server = try ServerProcess.start(dataDirectory: dataDirectory, launcher: launcher)
        var client = EngramClient(server!.clientConfiguration(connections: 1))
        let namespace = "disk"

        // What is acknowledged before the disk fills.
        var acknowledged: [String: VersionedValue] = [:]
        for index in 0..<8 {
            let value = Self.value(seed: index, count: 4_096)
            acknowledged["before-\(index)"] = VersionedValue(version: try await client.put(namespace: namespace, key: Array("before-\(index)".utf8), value: value), value: value)
        }
        let episode = try await client.append(namespace: namespace, episode: WireNewEpisode(agent: "writer", kind: 1, body: Array("before the disk filled".utf8)))

        if case .loopFilesystem(let mountPoint) = mode {
            var status = statvfs()
            #expect(statvfs(mountPoint, &status) == 0)
            let freeBytes = Int(status.f_bavail) * Int(status.f_frsize)
            let descriptor = open(mountPoint + "/ballast", O_CREAT | O_WRONLY, 0o644)
            #expect(descriptor >= 0 && posix_fallocate(descriptor, 0, off_t(freeBytes - Self.headroomBytes)) == 0)
            close(descriptor)
        }

        // Fill: large values, eight at a time and acknowledged when applied (so the writer
        // batches them and the fill takes seconds), until the server answers noSpace; every
        // refusal is that error. A clean restart keeps applied writes, checked below.
        var refusals = 0
        var firstRefusal: EngramClientError? = nil
        var fill = 0
        while refusals < 5 && fill < 2_000 {
            let writer = client
            let results = await withTaskGroup(of: (String, [UInt8], Result<UInt64, EngramClientError>).self) { tasks in
                for index in fill..<(fill + Self.fillConcurrency) {
                    tasks.addTask {
                        let key = "fill-\(index)"
                        let value = Self.value(seed: 1_000 + index, count: Self.valueBytes)
                        do throws(EngramClientError) {
                            return (key, value, .success(try await writer.put(namespace: namespace, key: Array(key.utf8), value: value, durability: .applied)))
                        } catch {
                            return (key, value, .failure(error))
                        }
                    }
                }
                var results: [(String, [UInt8], Result<UInt64, EngramClientError>)] = []
                for await result in tasks { results.append(result) }
                return results
            }
            for (key, value, result) in results {
                switch result {
                case .success(let version):
                    acknowledged[key] = VersionedValue(version: version, value: value)
                case .failure(let error):
                    #expect(error.code == .noSpace, "\(key): \(error)")
                    refusals += 1
                    firstRefusal = firstRefusal ?? error
                }
            }
            if results.contains(where: { if case .failure(let error) = $0.2 { error.code != .noSpace } else { false } }) { break }
            fill += Self.fillConcurrency
        }
        let refusal = try #require(firstRefusal, "no write was refused after \(fill) writes of \(Self.valueBytes) bytes")
        print("DiskFullTests: \(acknowledged.count - 8) fill writes acknowledged, then \(refusals) refused: \(refusal.message)")
        let appendRefusal = await clientError { try await client.append(namespace: namespace, episode: WireNewEpisode(agent: "writer", kind: 1, body: Self.value(seed: 7, count: 30_000))) }
        #expect(appendRefusal == nil || appendRefusal?.code == .noSpace, "\(appendRefusal.map { "\($0)" } ?? "")")

        // Reads go on, exact.
        try await Self.expectExact(acknowledged, client, namespace)
        #expect(try await client.episodes(namespace: namespace, agent: "writer", limit: 1).episodes.first?.body == Array("before the disk filled".utf8))
        #expect(try await client.ping(Array("still here".utf8)) > 0)

        // Space returns: writes succeed again (the first may still meet the full disk).
        switch mode {
        case .loopFilesystem(let mountPoint): #expect(unlink(mountPoint + "/ballast") == 0)
        case .fileSizeLimit: try runProgram("/usr/bin/prlimit", ["--pid", "\(server!.pid)", "--fsize=unlimited:unlimited"])
        }
        var resumed = false
        let deadline = monotonicMilliseconds() + 10_000
        while !resumed && monotonicMilliseconds() < deadline {
            let value = Self.value(seed: 5_000, count: Self.valueBytes)
            do {
                acknowledged["after"] = VersionedValue(version: try await client.put(namespace: namespace, key: Array("after".utf8), value: value), value: value)
                resumed = true
            } catch {
                #expect(error.code == .noSpace, "\(error)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(resumed, "writes did not resume within 10 s of the space returning")
        for index in 0..<4 {
            let value = Self.value(seed: 6_000 + index, count: Self.valueBytes)
            acknowledged["after-\(index)"] = VersionedValue(version: try await client.put(namespace: namespace, key: Array("after-\(index)".utf8), value: value), value: value)
        }
        #expect(try await client.append(namespace: namespace, episode: WireNewEpisode(agent: "writer", kind: 1, body: Array("after".utf8))).sequence > episode.sequence)

        // Nothing acknowledged was damaged: the same after a clean restart (and its recovery).
        await client.close()
        expectCleanExit(server!.stop())
        server = try ServerProcess.start(dataDirectory: dataDirectory, launcher: launcher)
        client = EngramClient(server!.clientConfiguration(connections: 1))
        try await Self.expectExact(acknowledged, client, namespace)
        await client.close()
        expectCleanExit(server!.stop())
        server = nil
    }

    static func expectExact(_ acknowledged: [String: VersionedValue], _ client: EngramClient, _ namespace: String) async throws {
        for (key, expected) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let found = try await client.get(namespace: namespace, key: Array(key.utf8))
            #expect(found == expected, "\(key): \(found.map { "version \($0.version), \($0.value.count) bytes" } ?? "missing")")
        }
    }

    /// Bytes that do not compress (the commit log compresses large batches).
    static func value(seed: Int, count: Int) -> [UInt8] {
        var random = TestRandom(seed: UInt64(seed))
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
}
