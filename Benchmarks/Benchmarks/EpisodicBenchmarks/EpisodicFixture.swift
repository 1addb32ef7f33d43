import EngramStorage
#if canImport(Glibc)
import Glibc
#endif

/// A store in a temporary directory and pregenerated append commands, shared by one benchmark.
final class EpisodicFixture: @unchecked Sendable {
    enum Events {
        /// `MarketingEventGenerator` events: JSON bodies of about 400 bytes.
        case marketing
        /// The same headers with a 64-byte body.
        case small

        var label: String { self == .marketing ? "marketing events" : "64-byte bodies" }
    }

    let events: Events
    let namespace = try! Namespace("bench")
    var directory = ""
    var store: EngramStore?
    /// 64 commands of 1,000 episodes, appended round-robin.
    var commands: [EpisodeAppend] = []

    init(events: Events) { self.events = events }

    func open(fill: Int) async throws {
        if store != nil { return }
        var generator = MarketingEventGenerator(seed: 7)
        commands = (0..<64).map { _ in
            EpisodeAppend(namespace: namespace, episodes: (0..<1_000).map { _ in
                var episode = generator.next().episode
                if events == .small { episode.body = Array(episode.body.prefix(64)) }
                return episode
            })
        }
        let rawBytes = commands.reduce(0) { $0 + $1.payloadByteCount }
        print("fixture: \(events.label), \(rawBytes / 64_000) raw record bytes per episode")
        directory = makeTemporaryDirectory("engram-episodic-bench")
        let store = try EngramStore.open(StoreConfiguration(directory: directory))
        self.store = store
        if fill > 0 { await Self.append(store, commands, count: fill, writers: 8) }
    }

    func close() {
        store?.close()
        store = nil
        removeDirectory(directory)
    }

    func append(count: Int, writers: Int) async {
        guard let store else { fatalError("fixture not open") }
        await Self.append(store, commands, count: count, writers: writers)
    }

    /// `count` episodes (rounded up to whole commands) from `writers` concurrent tasks.
    static func append(_ store: EngramStore, _ commands: [EpisodeAppend], count: Int, writers: Int) async {
        let commandCount = (count + 999) / 1_000
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: commandCount, by: writers) {
                        do {
                            _ = try await store.write(commands[index % commands.count])
                        } catch {
                            fatalError("durable append failed: \(error)")
                        }
                    }
                }
            }
        }
    }

    /// Reads `count` episodes in position order, in pages of 10,000, from the start again as needed.
    func scan(count: Int) {
        guard let store else { fatalError("fixture not open") }
        var read = 0
        var position: UInt64 = 1
        while read < count {
            do {
                let page = try store.scanEpisodes(namespace: namespace, from: position, limit: 10_000)
                read += page.episodes.count
                position = page.isAtEnd ? 1 : page.nextPosition
            } catch {
                fatalError("scan failed: \(error)")
            }
        }
    }

    /// Reads `count` episodes of agent triage-0 in pages of 10,000, from the start again as needed.
    func agentRead(count: Int, order: EpisodeOrder) {
        guard let store else { fatalError("fixture not open") }
        var read = 0
        var range: EpisodeRange? = .all
        while read < count {
            do {
                let page = try store.episodes(namespace: namespace, agent: "triage-0", range: range ?? .all, order: order, limit: 10_000)
                read += page.episodes.count
                range = page.next
            } catch {
                fatalError("range read failed: \(error)")
            }
        }
    }
}

func makeTemporaryDirectory(_ label: String) -> String {
    var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(result != nil, "mkdtemp failed")
    return String(cString: result!)
}

func removeDirectory(_ path: String) {
    var pid: pid_t = 0
    let words: [String] = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
