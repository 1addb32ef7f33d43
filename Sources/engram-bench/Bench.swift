import ArgumentParser
import EngramProtocol
import NIOCore
import NIOPosix

/// `engram-bench`: a load generator in redis-benchmark's shapes (connections x pipelined
/// requests, random keys in a keyspace, fixed-size values), printing throughput and latency
/// percentiles per test.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-bench",
        abstract: "Measure engramd: requests per second and latency, in redis-benchmark's shapes.")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 7379
    @Option(help: "Token (empty for open mode).") var token = ""
    @Option(help: "Namespace the keys live in.") var namespace = "bench"
    @Option(help: "Tests to run in order, comma-separated: put, get (long-term), hot-put, hot-get (short-term), ping.") var tests = "put,get"
    @Option(name: [.customShort("c"), .long], help: "Connections.") var connections = 50
    @Option(name: [.customShort("P"), .long], help: "Requests in flight per connection.") var pipeline = 1
    @Option(name: [.customShort("n"), .long], help: "Requests per test.") var requests = 1_000_000
    @Option(name: [.customShort("d"), .long], help: "Value bytes for put.") var valueBytes = 256
    @Option(name: [.customShort("r"), .long], help: "Keyspace: keys are key:000000000000 to key:(r-1).") var keyspace = 100_000
    @Option(help: "Client threads (event loops).") var threads = 1
    @Flag(help: "Puts ask for applied durability instead of durable.") var applied = false
    @Flag(help: "Print one CSV line per test: test, requests/s, p50 ms, p99 ms (as redis-benchmark --csv).") var csv = false

    func run() async throws {
        guard connections > 0, pipeline > 0, requests > 0, keyspace > 0, threads > 0 else {
            throw ValidationError("connections, pipeline, requests, keyspace and threads must be positive")
        }
        let operations = try tests.split(separator: ",").map { name in
            guard let operation = Workload.Operation(rawValue: String(name)) else { throw ValidationError("unknown test \(name)") }
            return operation
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        for operation in operations {
            let workload = Workload(operation: operation, namespace: namespace, keyspaceCount: keyspace, value: Array(repeating: UInt8(ascii: "x"), count: valueBytes), pipelineDepth: pipeline, flags: applied ? .applied : .durable, token: token)
            do {
                try await runTest(workload, group: group)
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
        }
        try await group.shutdownGracefully()
    }

    private func runTest(_ workload: Workload, group: MultiThreadedEventLoopGroup) async throws {
        let done = group.next().makePromise(of: Void.self)
        let state = RunState(requestCount: requests, done: done)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BenchConnection(workload: workload, run: state))
                }
            }
        let start = NIODeadline.now()
        var channels: [any Channel] = []
        for _ in 0..<connections {
            channels.append(try await bootstrap.connect(host: host, port: port).get())
        }
        try await done.futureResult.get()
        let elapsed = NIODeadline.now() - start
        var latencies: [UInt32] = []
        for channel in channels {
            let recorded = try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: BenchConnection.self).latenciesMicroseconds
            }.get()
            latencies += recorded
            try? await channel.close()
        }
        report(workload, elapsed: elapsed, latencies: latencies, failures: state.failures.load(ordering: .relaxed), misses: state.misses.load(ordering: .relaxed))
    }

    private func report(_ workload: Workload, elapsed: TimeAmount, latencies: [UInt32], failures: Int, misses: Int) {
        let seconds = Double(elapsed.nanoseconds) / 1e9
        let sorted = latencies.sorted()
        func percentile(_ fraction: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
            return milliseconds(sorted[max(0, index)])
        }
        if csv {
            print("\"\(workload.operation)\",\"\(Int(Double(requests) / seconds))\",\"\(percentile(0.5))\",\"\(percentile(0.99))\"")
            return
        }
        let mode = workload.operation == .put ? (applied ? ", applied" : ", durable") : workload.operation == .hotPut ? ", memory only" : ""
        print("\(workload.operation): \(requests) requests, \(connections) connections x \(pipeline) pipelined, \(valueBytes)-byte values, keyspace \(keyspace)\(mode)")
        print("  \(Int(Double(requests) / seconds)) requests/s in \(String(format3(seconds))) s, \(failures) failures\(workload.operation == .get || workload.operation == .hotGet ? ", \(misses) not found" : "")")
        print("  latency ms: p50 \(percentile(0.5))  p95 \(percentile(0.95))  p99 \(percentile(0.99))  p99.9 \(percentile(0.999))  max \(sorted.last.map(milliseconds) ?? "-")")
    }

    private func milliseconds(_ microseconds: UInt32) -> String {
        format3(Double(microseconds) / 1000)
    }

    private func format3(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
