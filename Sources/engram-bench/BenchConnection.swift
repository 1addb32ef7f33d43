import EngramProtocol
import NIOCore
import Synchronization

/// What one run asks of every connection.
struct Workload: Sendable {
    enum Operation: String, Sendable {
        case get
        case put
        case ping
    }

    let operation: Operation
    let namespace: String
    let keyspaceCount: Int
    let value: [UInt8]
    let pipelineDepth: Int
    let flags: FrameFlags
    let token: String
}

/// Shared by the connections of one run: how many requests are left to send and to answer.
final class RunState: Sendable {
    let remainingToSend: Atomic<Int>
    let remainingToAnswer: Atomic<Int>
    let failures = Atomic<Int>(0)
    let done: EventLoopPromise<Void>

    init(requestCount: Int, done: EventLoopPromise<Void>) {
        remainingToSend = Atomic(requestCount)
        remainingToAnswer = Atomic(requestCount)
        self.done = done
    }

    /// Takes one request to send; false when the run's budget is spent.
    func takeOne() -> Bool {
        remainingToSend.wrappingSubtract(1, ordering: .relaxed).oldValue > 0
    }
}

/// One benchmark connection: says hello, keeps `pipelineDepth` requests in flight, records each
/// request's latency (send to answer) in microseconds. Event loop only.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    let workload: Workload
    let run: RunState
    private var nextRequestID: UInt64 = 2
    private var sentNanoseconds: [UInt64: UInt64] = [:]
    private var generator = SystemRandomNumberGenerator()
    private(set) var latenciesMicroseconds: [UInt32] = []
    private var output: ByteBuffer?

    init(workload: Workload, run: RunState) {
        self.workload = workload
        self.run = run
        latenciesMicroseconds.reserveCapacity(1 << 16)
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        FrameEncoder.write(.hello(HelloRequest(token: Array(workload.token.utf8), clientName: "engram-bench")), requestID: 1, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.header.requestID
        if id == 1 {
            guard frame.header.status == .ok else {
                print("engram-bench: hello refused: \(frame.header.status) \((try? Response.decode(frame)).map { "\($0)" } ?? "")")
                run.failures.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            }
            for _ in 0..<workload.pipelineDepth { sendNext(context) }
            channelReadComplete(context: context)
            return
        }
        let now = NIODeadline.now().uptimeNanoseconds
        if let sent = sentNanoseconds.removeValue(forKey: id) {
            latenciesMicroseconds.append(UInt32(min((now - sent) / 1_000, UInt64(UInt32.max))))
        }
        if frame.header.status != .ok && frame.header.status != .notFound {
            if run.failures.wrappingAdd(1, ordering: .relaxed).oldValue == 0 {
                print("engram-bench: first failure: \((try? Response.decode(frame)).map { "\($0)" } ?? "\(frame.header.status)")")
            }
        }
        sendNext(context)
        if run.remainingToAnswer.wrappingSubtract(1, ordering: .relaxed).newValue == 0 {
            run.done.succeed()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let buffer = output {
            output = nil
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func sendNext(_ context: ChannelHandlerContext) {
        guard run.takeOne() else { return }
        let id = nextRequestID
        nextRequestID += 1
        if output == nil { output = context.channel.allocator.buffer(capacity: 4096) }
        let key = Array("key:\(paddedKey())".utf8)
        let request: Request
        switch workload.operation {
        case .get: request = .longTermGet(namespace: workload.namespace, key: key)
        case .put: request = .longTermPut(namespace: workload.namespace, key: key, value: workload.value)
        case .ping: request = .ping(payload: [])
        }
        FrameEncoder.write(request, requestID: id, flags: workload.operation == .put ? workload.flags : [], into: &output!)
        // Sent when the read burst ends (channelReadComplete): one write per burst, as a
        // pipelining client does.
        sentNanoseconds[id] = NIODeadline.now().uptimeNanoseconds
    }

    /// A 12-digit key number, as redis-benchmark's `key:__rand_int__` with `-r`.
    private func paddedKey() -> String {
        let number = String(Int.random(in: 0..<workload.keyspaceCount, using: &generator))
        return String(repeating: "0", count: max(0, 12 - number.count)) + number
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        print("engram-bench: connection error: \(error)")
        run.failures.add(1, ordering: .relaxed)
        context.close(promise: nil)
    }
}
